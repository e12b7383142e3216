// gRPC at the byte level over node:http2 on berthd's Unix socket: any body (well-framed or not,
// protobuf or not) to any path, and the status that comes back. One session for many calls.
import { connect, constants, type ClientHttp2Session } from 'node:http2';
import { connect as connectSocket } from 'node:net';

export interface RawAnswer {
  /** grpc-status, or undefined when the stream ended without one (a failure of the invariant). */
  readonly status: number | undefined;
  readonly message: string;
  readonly reason: string;
  readonly body: Buffer;
}

export class RawGrpcSession {
  private session: ClientHttp2Session | undefined;
  constructor(private readonly socketPath: string) {}

  private open(): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const session = connect('http://localhost', { createConnection: () => connectSocket(this.socketPath) });
    session.on('error', () => undefined);
    this.session = session;
    return session;
  }

  /** Sends `body` as the whole request body (framing is the caller's) and waits for the status. */
  call(path: string, body: Uint8Array, headers: Record<string, string> = {}, timeoutMs = 20_000): Promise<RawAnswer> {
    const session = this.open();
    return new Promise((resolve, reject) => {
      const stream = session.request({
        [constants.HTTP2_HEADER_METHOD]: 'POST', [constants.HTTP2_HEADER_PATH]: path,
        'content-type': 'application/grpc', te: 'trailers', ...headers,
      });
      const chunks: Buffer[] = [];
      let head: Record<string, unknown> = {};
      let tail: Record<string, unknown> = {};
      const timer = setTimeout(() => { stream.close(); reject(new Error(`no answer on ${path} within ${timeoutMs} ms`)); }, timeoutMs);
      stream.on('response', (h) => { head = h; });
      stream.on('trailers', (t) => { tail = t; });
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (error) => { clearTimeout(timer); reject(error); });
      stream.on('close', () => {
        clearTimeout(timer);
        const all = { ...head, ...tail };
        const status = all['grpc-status'] === undefined ? undefined : Number(all['grpc-status']);
        resolve({ status, message: String(all['grpc-message'] ?? ''), reason: String(all['berth-error-reason'] ?? ''), body: Buffer.concat(chunks) });
      });
      stream.end(Buffer.from(body));
    });
  }

  /** grpc.health.v1.Health/Check for the whole server: true when SERVING. */
  async healthy(): Promise<boolean> {
    const answer = await this.call('/grpc.health.v1.Health/Check', frame(new Uint8Array(0)));
    // HealthCheckResponse { status: SERVING (1) } is the two bytes 08 01 after the 5-byte frame header.
    return answer.status === 0 && answer.body.equals(Buffer.from([0, 0, 0, 0, 2, 0x08, 0x01]));
  }

  close(): void {
    this.session?.close();
  }
}

/** A gRPC length-prefixed message (uncompressed). */
export function frame(message: Uint8Array, compressed = false, declaredLength = message.length): Uint8Array {
  const out = Buffer.alloc(5 + message.length);
  out[0] = compressed ? 1 : 0;
  out.writeUInt32BE(declaredLength >>> 0, 1);
  out.set(message, 5);
  return out;
}
