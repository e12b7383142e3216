// The HTTP/2 exchange against peers that do what a real server may: a real grpc-js server (nghttp2
// underneath: SETTINGS, indexed and Huffman-coded headers, trailers, flow control) and scripted
// raw peers for what grpc-js seldom does on purpose (CONTINUATION, padding, PING, GOAWAY,
// RST_STREAM, broken frames, a connection cut mid-response).
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { frameMessage, parseFrames } from '../grpcFraming.ts';
import { CONNECTION_PREFACE, encodeFrame, Flag, FrameReader, FrameType, settingsPayload, windowUpdatePayload, type Frame } from './frames.ts';
import { encodeHeaderBlock } from './hpack.ts';
import { http2Request, type Http2Request, type Http2Result } from './unaryRequest.ts';

let dir: string;
let socketPath: string;
let grpcServer: grpc.Server | undefined;
let rawServer: NetServer | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-h2-'));
  socketPath = join(dir, 'peer.sock');
});
afterEach(async () => {
  grpcServer?.forceShutdown();
  grpcServer = undefined;
  await new Promise<void>((done) => (rawServer ? rawServer.close(() => done()) : done()));
  rawServer = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const request = (path: string, body: Uint8Array, timeoutMs = 5000): Http2Request => ({
  socketPath,
  headers: [[':method', 'POST'], [':scheme', 'http'], [':path', path], [':authority', 'localhost'], ['content-type', 'application/grpc'], ['te', 'trailers']],
  body: frameMessage(body),
  timeoutMs,
});

/** A grpc-js server with one raw-bytes unary method per handler, so no codec is involved. */
async function serveGrpc(handlers: Record<string, (request: Buffer, call: grpc.ServerUnaryCall<Buffer, Buffer>) => Promise<Buffer> | Buffer>): Promise<void> {
  const bytes = { serialize: (value: Buffer) => value, deserialize: (value: Buffer) => value };
  const definition: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(handlers)) {
    definition[name] = { path: `/test.Raw/${name}`, requestStream: false, responseStream: false, requestSerialize: bytes.serialize,
      requestDeserialize: bytes.deserialize, responseSerialize: bytes.serialize, responseDeserialize: bytes.deserialize, originalName: name };
    implementation[name] = (call: grpc.ServerUnaryCall<Buffer, Buffer>, reply: grpc.sendUnaryData<Buffer>) => {
      Promise.resolve().then(() => handler(call.request, call)).then((value) => reply(null, value), (error: grpc.ServiceError) => reply(error));
    };
  }
  grpcServer = new grpc.Server();
  grpcServer.addService(definition, implementation);
  await new Promise<void>((done, fail) => grpcServer?.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (error) => (error ? fail(error) : done())));
}

function grpcError(code: grpc.status, details: string, trailers: Record<string, string>): grpc.ServiceError {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(trailers)) metadata.set(key, value);
  return Object.assign(new Error(details), { code, details, metadata });
}

function expectResponse(result: Http2Result): Extract<Http2Result, { kind: 'response' }> {
  if (result.kind !== 'response') throw new Error(`expected a response, got ${result.kind}: ${result.detail}`);
  return result;
}

describe('http2Request against grpc-js', () => {
  it('sends the message and returns headers, body and trailers', async () => {
    await serveGrpc({ Echo: (body) => Buffer.concat([Buffer.from('echo:'), body]) });
    const result = expectResponse(await http2Request(request('/test.Raw/Echo', Buffer.from('ping'))));
    expect(result.headers[':status']).toBe('200');
    expect(result.headers['content-type']).toBe('application/grpc+proto');
    expect(result.trailers?.['grpc-status']).toBe('0');
    expect(parseFrames(result.body).map(String)).toEqual(['echo:ping']);
  });

  it('receives a response of several MiB, across many frames and beyond the default windows', async () => {
    const large = Buffer.alloc(3 * 1024 * 1024 + 17, 0x61);
    await serveGrpc({ Large: () => large });
    const result = expectResponse(await http2Request(request('/test.Raw/Large', Buffer.alloc(0))));
    expect(parseFrames(result.body)[0]?.equals(large)).toBe(true);
  });

  it('sends a request larger than the server\'s initial window, waiting for WINDOW_UPDATE', async () => {
    const large = Buffer.alloc(300 * 1024, 0x62);
    let received = 0;
    await serveGrpc({ Count: (body) => { received = body.length; return Buffer.from('ok'); } });
    const result = expectResponse(await http2Request(request('/test.Raw/Count', large)));
    expect(received).toBe(large.length);
    expect(result.trailers?.['grpc-status']).toBe('0');
  });

  it('decodes an error\'s trailers: status, percent-encoded message, custom metadata', async () => {
    const message = 'pool "v4" is exhausted: all 254 addresses are leased — ask for a bigger range ✓';
    await serveGrpc({ Fail: () => { throw grpcError(grpc.status.RESOURCE_EXHAUSTED, message, { 'berth-error-reason': 'POOL_EXHAUSTED', 'berth-cni-code': '100', 'berth-pool': 'v4' }); } });
    const result = expectResponse(await http2Request(request('/test.Raw/Fail', Buffer.alloc(0))));
    const metadata = { ...result.headers, ...result.trailers };
    expect(metadata['grpc-status']).toBe(String(grpc.status.RESOURCE_EXHAUSTED));
    expect(decodeURIComponent(metadata['grpc-message'] ?? '')).toBe(message);
    expect(metadata).toMatchObject({ 'berth-error-reason': 'POOL_EXHAUSTED', 'berth-cni-code': '100', 'berth-pool': 'v4' });
  });

  it('reports a method the server does not have as its status, not a transport failure', async () => {
    await serveGrpc({ Echo: (body) => body });
    const result = expectResponse(await http2Request(request('/test.Raw/Missing', Buffer.alloc(0))));
    expect({ ...result.headers, ...result.trailers }['grpc-status']).toBe(String(grpc.status.UNIMPLEMENTED));
  });

  it('reports the server going away mid-call as unavailable', async () => {
    await serveGrpc({ Hang: () => { setTimeout(() => grpcServer?.forceShutdown(), 50); return new Promise<Buffer>(() => undefined); } });
    const result = await http2Request(request('/test.Raw/Hang', Buffer.alloc(0)));
    expect(result.kind).toBe('unavailable');
  });

  it('reports a missing socket as unavailable, naming the error', async () => {
    const result = await http2Request(request('/test.Raw/Echo', Buffer.alloc(0)));
    expect(result).toMatchObject({ kind: 'unavailable', detail: expect.stringContaining('ENOENT') as unknown });
  });

  it('times out when the server never answers', async () => {
    await serveGrpc({ Hang: () => new Promise<Buffer>(() => undefined) });
    const started = Date.now();
    expect(await http2Request(request('/test.Raw/Hang', Buffer.alloc(0), 300))).toMatchObject({ kind: 'timeout' });
    // Ended by its 300 ms deadline, not hanging; a wide multiple, as the machine may be busy.
    expect(Date.now() - started).toBeLessThan(10 * 300);
  });
});

/** A raw peer: reads the client's preface and frames, and answers by `script`. */
async function serveRaw(script: (peer: RawPeer) => void | Promise<void>): Promise<void> {
  rawServer = createServer((socket) => {
    const peer = new RawPeer(socket);
    void Promise.resolve(script(peer)).catch(() => socket.destroy());
  });
  await new Promise<void>((done) => rawServer?.listen(socketPath, done));
}

class RawPeer {
  readonly frames: Frame[] = [];
  private readonly waiters: (() => void)[] = [];

  constructor(readonly socket: Socket) {
    let preface = Buffer.alloc(0);
    const reader = new FrameReader(1 << 24);
    socket.on('data', (chunk: Buffer) => {
      let rest = chunk;
      if (preface.length < CONNECTION_PREFACE.length) {
        const need = CONNECTION_PREFACE.length - preface.length;
        preface = Buffer.concat([preface, rest.subarray(0, need)]);
        rest = rest.subarray(need);
      }
      this.frames.push(...reader.push(rest));
      for (const wake of this.waiters.splice(0)) wake();
    });
    socket.on('error', () => undefined);
  }

  /** Resolves once the client has sent a frame matching `match`. */
  async frame(match: (frame: Frame) => boolean): Promise<Frame> {
    for (;;) {
      const found = this.frames.find(match);
      if (found !== undefined) return found;
      await new Promise<void>((wake) => this.waiters.push(wake));
    }
  }

  send(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }
}

const ok = (): Buffer => encodeHeaderBlock([[':status', '200'], ['content-type', 'application/grpc']]);
const okTrailers = (): Buffer => encodeHeaderBlock([['grpc-status', '0']]);
const settings = (): Buffer => encodeFrame(FrameType.SETTINGS, 0, 0, settingsPayload([]));
const endOfRequest = (frame: Frame): boolean => frame.type === FrameType.DATA && (frame.flags & Flag.END_STREAM) !== 0;

describe('http2Request against scripted peers', () => {
  it('acknowledges SETTINGS and answers PING before the response arrives', async () => {
    await serveRaw(async (peer) => {
      peer.send(settings(), encodeFrame(FrameType.PING, 0, 0, Buffer.from('12345678')));
      await peer.frame((frame) => frame.type === FrameType.SETTINGS && (frame.flags & Flag.ACK) !== 0);
      const pong = await peer.frame((frame) => frame.type === FrameType.PING && (frame.flags & Flag.ACK) !== 0);
      expect(pong.payload.toString()).toBe('12345678');
      peer.send(encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, ok()), encodeFrame(FrameType.DATA, 0, 1, frameMessage(Buffer.from('x'))),
        encodeFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, okTrailers()));
    });
    const result = expectResponse(await http2Request(request('/p', Buffer.from('a'))));
    expect(parseFrames(result.body).map(String)).toEqual(['x']);
  });

  it('joins HEADERS and CONTINUATION, and strips padding and priority fields', async () => {
    const block = encodeHeaderBlock([[':status', '200'], ['x-big', 'y'.repeat(5000)]]);
    const padded = (content: Buffer, padding: number): Buffer => Buffer.concat([Buffer.from([padding]), content, Buffer.alloc(padding)]);
    await serveRaw(async (peer) => {
      await peer.frame(endOfRequest);
      const priority = Buffer.from('0000000010', 'hex');
      peer.send(
        encodeFrame(FrameType.HEADERS, Flag.PADDED | Flag.PRIORITY, 1, padded(Buffer.concat([priority, block.subarray(0, 100)]), 3)),
        encodeFrame(FrameType.CONTINUATION, 0, 1, block.subarray(100, 2000)),
        encodeFrame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, block.subarray(2000)),
        encodeFrame(FrameType.PRIORITY, 0, 1, priority),
        encodeFrame(FrameType.DATA, Flag.PADDED, 1, padded(frameMessage(Buffer.from('body')), 7)),
        encodeFrame(0xfa, 0, 0, Buffer.from('unknown frame types are ignored')),
        encodeFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, okTrailers()));
    });
    const result = expectResponse(await http2Request(request('/p', Buffer.alloc(0))));
    expect(result.headers['x-big']).toHaveLength(5000);
    expect(parseFrames(result.body).map(String)).toEqual(['body']);
  });

  it('takes a trailers-only response (HEADERS with END_STREAM)', async () => {
    await serveRaw(async (peer) => {
      await peer.frame(endOfRequest);
      peer.send(encodeFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1,
        encodeHeaderBlock([[':status', '200'], ['grpc-status', '14'], ['grpc-message', 'shutting%20down']])));
    });
    expect(expectResponse(await http2Request(request('/p', Buffer.alloc(0)))).headers).toMatchObject({ 'grpc-status': '14', 'grpc-message': 'shutting%20down' });
  });

  it('holds DATA back until the peer opens its window, then sends the rest', async () => {
    const body = Buffer.alloc(70_000, 0x63);
    await serveRaw(async (peer) => {
      // A zero stream window: nothing of the body may come until WINDOW_UPDATE.
      peer.send(encodeFrame(FrameType.SETTINGS, 0, 0, settingsPayload([[0x4, 0]])));
      await peer.frame((frame) => frame.type === FrameType.SETTINGS && (frame.flags & Flag.ACK) !== 0);
      await new Promise((done) => setTimeout(done, 50));
      const before = peer.frames.filter((frame) => frame.type === FrameType.DATA).reduce((sum, frame) => sum + frame.payload.length, 0);
      peer.send(encodeFrame(FrameType.WINDOW_UPDATE, 0, 1, windowUpdatePayload(100_000)), encodeFrame(FrameType.WINDOW_UPDATE, 0, 0, windowUpdatePayload(100_000)));
      await peer.frame(endOfRequest);
      const sent = peer.frames.filter((frame) => frame.type === FrameType.DATA);
      const total = sent.reduce((sum, frame) => sum + frame.payload.length, 0);
      peer.send(encodeFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1,
        encodeHeaderBlock([[':status', '200'], ['grpc-status', '0'], ['x-before', String(before)], ['x-total', String(total)],
          ['x-largest-frame', String(Math.max(...sent.map((frame) => frame.payload.length)))]])));
    });
    const result = expectResponse(await http2Request(request('/p', body)));
    // The body went out in one write before the server's SETTINGS arrived, up to the default
    // window; the rest waited for WINDOW_UPDATE.
    expect(Number(result.headers['x-before'])).toBeLessThanOrEqual(65_535);
    expect(Number(result.headers['x-total'])).toBe(body.length + 5);
    expect(Number(result.headers['x-largest-frame'])).toBeLessThanOrEqual(16_384);
  });

  it.each([
    ['RST_STREAM', (peer: RawPeer) => peer.send(encodeFrame(FrameType.RST_STREAM, 0, 1, Buffer.from('00000007', 'hex'))), 'berthd reset the stream (REFUSED_STREAM)'],
    ['GOAWAY before our stream', (peer: RawPeer) => peer.send(encodeFrame(FrameType.GOAWAY, 0, 0, Buffer.from('0000000000000000', 'hex'))), 'did not take the request'],
    ['a connection cut before the response', (peer: RawPeer) => peer.socket.end(), 'connection closed before berthd answered'],
    ['a connection cut mid-response', (peer: RawPeer) => { peer.send(encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, ok()), encodeFrame(FrameType.DATA, 0, 1, Buffer.from('0000', 'hex'))); peer.socket.end(); },
      'connection closed in the middle of the response'],
  ])('reports %s as unavailable', async (_name, act, detail) => {
    await serveRaw(async (peer) => { await peer.frame(endOfRequest); act(peer); });
    expect(await http2Request(request('/p', Buffer.alloc(0)))).toMatchObject({ kind: 'unavailable', detail: expect.stringContaining(detail) as unknown });
  });

  it('finishes a stream the server took before it sent GOAWAY', async () => {
    await serveRaw(async (peer) => {
      await peer.frame(endOfRequest);
      peer.send(encodeFrame(FrameType.GOAWAY, 0, 0, Buffer.from('0000000100000000', 'hex')),
        encodeFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, encodeHeaderBlock([[':status', '200'], ['grpc-status', '0']])));
    });
    expect((await http2Request(request('/p', Buffer.alloc(0)))).kind).toBe('response');
  });

  it.each([
    ['DATA before HEADERS', () => encodeFrame(FrameType.DATA, 0, 1, Buffer.alloc(5))],
    ['a frame on a stream the client never opened', () => encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 3, ok())],
    ['a frame larger than 16 KiB', () => encodeFrame(FrameType.DATA, 0, 1, Buffer.alloc(20_000))],
    ['PUSH_PROMISE', () => encodeFrame(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, Buffer.alloc(4))],
    ['another frame inside a header block', () => Buffer.concat([encodeFrame(FrameType.HEADERS, 0, 1, ok()), encodeFrame(FrameType.DATA, 0, 1, Buffer.alloc(1))])],
    ['a broken HPACK block', () => encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, Buffer.from('80', 'hex'))],
    ['bad Huffman padding', () => encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, Buffer.from('0882f1fe', 'hex'))],
    ['trailers that do not end the stream', () => Buffer.concat([encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, ok()), encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, okTrailers())])],
    ['a WINDOW_UPDATE of 0', () => encodeFrame(FrameType.WINDOW_UPDATE, 0, 0, windowUpdatePayload(0))],
    ['a SETTINGS frame of odd length', () => encodeFrame(FrameType.SETTINGS, 0, 0, Buffer.alloc(5))],
  ])('refuses %s as a protocol error', async (_name, frames) => {
    await serveRaw(async (peer) => { await peer.frame(endOfRequest); peer.send(frames()); });
    expect(await http2Request(request('/p', Buffer.alloc(0)))).toMatchObject({ kind: 'protocol' });
  });

  it('refuses a response body above the limit', async () => {
    await serveRaw(async (peer) => {
      await peer.frame(endOfRequest);
      peer.send(encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, ok()), ...Array.from({ length: 5 }, () => encodeFrame(FrameType.DATA, 0, 1, Buffer.alloc(10_000))));
    });
    expect(await http2Request({ ...request('/p', Buffer.alloc(0)), maxResponseBytes: 32_000 })).toMatchObject({ kind: 'protocol', detail: expect.stringContaining('larger than 32000') as unknown });
  });
});
