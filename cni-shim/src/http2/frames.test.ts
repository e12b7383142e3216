// Frame cutting and payload unwrapping.
import { describe, expect, it } from 'vitest';
import { encodeFrame, Flag, framePayloadContent, FrameReader, FrameType, Http2ProtocolError } from './frames.ts';

describe('FrameReader', () => {
  it('cuts frames that arrive in pieces and several to a chunk', () => {
    const wire = Buffer.concat([encodeFrame(FrameType.SETTINGS, 0, 0, Buffer.alloc(6)), encodeFrame(FrameType.DATA, Flag.END_STREAM, 1, Buffer.from('hello')),
      encodeFrame(FrameType.PING, 0, 0, Buffer.alloc(8))]);
    const reader = new FrameReader();
    const frames = [];
    for (let offset = 0; offset < wire.length; offset += 4) frames.push(...reader.push(wire.subarray(offset, offset + 4)));
    expect(frames.map((frame) => [frame.type, frame.flags, frame.streamId, frame.payload.toString('hex')])).toEqual([
      [FrameType.SETTINGS, 0, 0, '000000000000'], [FrameType.DATA, Flag.END_STREAM, 1, Buffer.from('hello').toString('hex')], [FrameType.PING, 0, 0, '0000000000000000']]);
    expect(new FrameReader().push(wire)).toHaveLength(3);
  });

  it('ignores the reserved bit of the stream id', () => {
    const frame = encodeFrame(FrameType.DATA, 0, 3);
    frame[5] = (frame[5] ?? 0) | 0x80;
    expect(new FrameReader().push(frame)[0]?.streamId).toBe(3);
  });

  it('refuses a frame above the maximum frame size', () => {
    const header = Buffer.from('004001000000000001', 'hex');
    expect(() => new FrameReader().push(header)).toThrow(Http2ProtocolError);
  });
});

describe('framePayloadContent', () => {
  it.each([
    ['plain DATA', FrameType.DATA, 0, 'aabb', 'aabb'],
    ['padded DATA', FrameType.DATA, Flag.PADDED, '02aabb0000', 'aabb'],
    ['HEADERS with priority', FrameType.HEADERS, Flag.PRIORITY, '0000000310aabb', 'aabb'],
    ['padded HEADERS with priority', FrameType.HEADERS, Flag.PADDED | Flag.PRIORITY, '01000000031faabb00', 'aabb'],
  ])('unwraps %s', (_name, type, flags, payload, content) => {
    expect(framePayloadContent({ type, flags, streamId: 1, payload: Buffer.from(payload, 'hex') }).toString('hex')).toBe(content);
  });

  it.each([
    ['padding as long as the frame', FrameType.DATA, Flag.PADDED, '03aabb'],
    ['priority fields cut short', FrameType.HEADERS, Flag.PRIORITY, '0000'],
  ])('refuses %s', (_name, type, flags, payload) => {
    expect(() => framePayloadContent({ type, flags, streamId: 1, payload: Buffer.from(payload, 'hex') })).toThrow(Http2ProtocolError);
  });
});
