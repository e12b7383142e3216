// gRPC over HTTP/2 length-prefixed messages: 1 byte compressed flag, 4 bytes big-endian length, message.

export class GrpcFramingError extends Error {
  override readonly name = 'GrpcFramingError';
}

export function frameMessage(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

export function parseFrames(body: Buffer): Buffer[] {
  const messages: Buffer[] = [];
  let offset = 0;
  while (offset < body.length) {
    if (body.length - offset < 5) throw new GrpcFramingError(`truncated gRPC frame header at byte ${offset}`);
    const flag = body.readUInt8(offset);
    if (flag !== 0) throw new GrpcFramingError(`compressed gRPC message (flag ${flag}) but no compression was negotiated`);
    const length = body.readUInt32BE(offset + 1);
    const end = offset + 5 + length;
    if (end > body.length) throw new GrpcFramingError(`truncated gRPC message: ${length} bytes announced, ${body.length - offset - 5} received`);
    messages.push(body.subarray(offset + 5, end));
    offset = end;
  }
  return messages;
}
