// gRPC at the byte level over node:http2 on berthd's Unix socket: any body (well-framed or not,
// protobuf or not) to any path, and the status that comes back. One session for many calls.
import { connect, constants, type ClientHttp2Session } from 'node:http2';
import { connect as connectSocket } from 'node:net';

export interface RawAnswer {
  /** grpc-status, or undefined when the stream ended without one (a failure of the invariant). */
  readonly status: number | undefined;
  /** The server reset the stream or session at the HTTP/2 level (e.g. ENHANCE_YOUR_CALM, its flood protection). */
  readonly reset: string | undefined;
  readonly message: string;
  readonly reason: string;
  readonly body: Buffer;
}

/** More than this in one body may be left unsent when the server answers early (one stream's initial window). */
const STREAM_WINDOW = 65_535;

/**
 * Why a session is dropped after a large body the server answered early (the fuzz test's
 * "STALLED" case): grpc-js answers a call to an unknown path at once, without reading its body,
 * so most of a 1 MiB body is still queued in node's HTTP/2 client when the stream is cancelled,
 * and node's client goes on counting those bytes against its session's maxSessionMemory (10 MB
 * by default) after the stream is gone. After about ten such calls the client refuses the
 * server's next response and the call never ends: the stall was in this client, not in berthd
 * (test/hostileInput.test.ts sends 40 such bodies down one connection of a client whose limit is
 * high enough, and berthd answers each).
 */
export interface RawSessionOptions {
  /** Keep one connection across large bodies; needs `maxSessionMemoryMb` above ~1 per such body. */
  readonly keepAfterLargeBodies?: boolean;
  readonly maxSessionMemoryMb?: number;
}

export class RawGrpcSession {
  private session: ClientHttp2Session | undefined;
  constructor(private readonly socketPath: string, private readonly options: RawSessionOptions = {}) {}

  private open(): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const session = connect('http://localhost', {
      createConnection: () => connectSocket(this.socketPath),
      ...(this.options.maxSessionMemoryMb === undefined ? {} : { maxSessionMemory: this.options.maxSessionMemoryMb }),
    });
    session.on('error', () => undefined);
    this.session = session;
    return session;
  }

  /** Sends `body` as the whole request body (framing is the caller's) and waits for the status. */
  call(path: string, body: Uint8Array, headers: Record<string, string> = {}, timeoutMs = 20_000): Promise<RawAnswer> {
    const session = this.open();
    return new Promise((resolve, reject) => {
      if (session.closed || session.destroyed) { this.session = undefined; reject(new Error('session closed')); return; }
      const stream = session.request({
        [constants.HTTP2_HEADER_METHOD]: 'POST', [constants.HTTP2_HEADER_PATH]: path,
        'content-type': 'application/grpc', te: 'trailers', ...headers,
      });
      const chunks: Buffer[] = [];
      let head: Record<string, unknown> = {};
      let tail: Record<string, unknown> = {};
      let reset: string | undefined;
      const timer = setTimeout(() => { stream.close(); reject(new Error(`no answer on ${path} within ${timeoutMs} ms`)); }, timeoutMs);
      // The status is the answer: once it is in (trailers, or headers of a trailers-only
      // response), stop sending. A server that refuses a call does not read the rest of a large
      // body, so waiting for our own side to finish would wait forever (found by the fuzz test).
      const statusIn = () => { if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL); };
      stream.on('response', (h) => { head = h; if (h['grpc-status'] !== undefined) statusIn(); });
      stream.on('trailers', (t) => { tail = t; statusIn(); });
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      // A reset sent by the server is an answer (its HTTP/2 layer refusing), not silence; the
      // session may be gone with it, so the next call opens a new one.
      stream.on('error', (error: NodeJS.ErrnoException) => {
        reset = error.code === 'ERR_HTTP2_STREAM_ERROR' || error.code === 'ERR_HTTP2_SESSION_ERROR' ? error.message : undefined;
        if (reset === undefined) { clearTimeout(timer); reject(error); return; }
        this.session?.destroy();
        this.session = undefined;
      });
      stream.on('close', () => {
        clearTimeout(timer);
        if (body.length > STREAM_WINDOW && !this.options.keepAfterLargeBodies) this.reopen();
        const all = { ...head, ...tail };
        const status = all['grpc-status'] === undefined ? undefined : Number(all['grpc-status']);
        resolve({ status, reset, message: String(all['grpc-message'] ?? ''), reason: String(all['berth-error-reason'] ?? ''), body: Buffer.concat(chunks) });
      });
      stream.end(Buffer.from(body));
    });
  }

  /** grpc.health.v1.Health/Check for the whole server: true when SERVING. */
  async healthy(): Promise<boolean> {
    let answer = await this.call('/grpc.health.v1.Health/Check', frame(new Uint8Array(0)));
    // A session the server just reset: ask again on a new connection.
    if (answer.reset !== undefined) answer = await this.call('/grpc.health.v1.Health/Check', frame(new Uint8Array(0)));
    // HealthCheckResponse { status: SERVING (1) } is the two bytes 08 01 after the 5-byte frame header.
    return answer.status === 0 && answer.body.equals(Buffer.from([0, 0, 0, 0, 2, 0x08, 0x01]));
  }

  /** Drops the current connection: the next call opens a new one. */
  reopen(): void {
    this.session?.destroy();
    this.session = undefined;
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
