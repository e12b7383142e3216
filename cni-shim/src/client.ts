// A lean gRPC unary client for berthd on a Unix socket. The shim is exec'd for every attachment,
// so it avoids @grpc/grpc-js and node:http2 (under Bun, node:http2 cost an ADD+DEL pair ~10% more
// CPU than this client; bench/results.md) and speaks the one HTTP/2 exchange it needs itself
// (http2/unaryRequest.ts). Its fences: one peer (the socket path), one stream per connection,
// push disabled, unary calls only. It retries UNAVAILABLE and OVERLOADED alone, which the retry
// contract in proto/berth/ipam/v1/ipam.proto allows: every method it calls is idempotent per
// attachment.
import { GrpcStatus, REASON_TRAILER } from '../../daemon/src/errors.ts';
import { GrpcCallError } from './grpcCallError.ts';
import { frameMessage, parseFrames } from './grpcFraming.ts';
import { http2Request, type HeaderRecord } from './http2/unaryRequest.ts';
import { methodCodec } from './ipamCodec.ts';
import type { IpamCaller, IpamMethod, IpamMethods } from './ipamMessages.ts';

export interface IpamClientOptions {
  readonly socketPath: string;
  /** Overall budget for the call including retries. */
  readonly timeoutMs: number;
  readonly firstBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

/** Below this much time left, another attempt could not even connect. */
const FINAL_ATTEMPT_MS = 20;

export type UnaryOutcome =
  | { readonly ok: true; readonly message: Buffer }
  | { readonly ok: false; readonly code: number; readonly detail: string; readonly trailers: Record<string, string>; readonly transport: boolean };

export class IpamClient implements IpamCaller {
  constructor(private readonly options: IpamClientOptions) {}

  async call<M extends IpamMethod>(method: M, request: IpamMethods[M]['request']): Promise<IpamMethods[M]['response']> {
    const codec = methodCodec(method);
    const body = codec.encode(request);
    const deadline = Date.now() + this.options.timeoutMs;
    let backoff = this.options.firstBackoffMs ?? 50;
    const maxBackoff = this.options.maxBackoffMs ?? 1000;
    for (let attempt = 1; ; attempt++) {
      const outcome = await unaryCall(this.options.socketPath, codec.path, body, deadline - Date.now());
      if (outcome.ok) return codec.decode(outcome.message);
      // Full jitter in [backoff/2, backoff): many shims retrying a restarting daemon spread out.
      // The last wait is cut short so that one more attempt lands just before the deadline.
      const wait = Math.min(backoff / 2 + Math.random() * (backoff / 2), deadline - Date.now() - FINAL_ATTEMPT_MS);
      if (!isRetryable(outcome) || wait < 0) {
        throw new GrpcCallError(method, outcome.code, outcome.detail, outcome.trailers, this.options.socketPath, attempt, outcome.transport);
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
      backoff = Math.min(backoff * 2, maxBackoff);
    }
  }
}

function isRetryable(outcome: Extract<UnaryOutcome, { ok: false }>): boolean {
  if (outcome.code === GrpcStatus.UNAVAILABLE) return true;
  return outcome.code === GrpcStatus.RESOURCE_EXHAUSTED && outcome.trailers[REASON_TRAILER] === 'OVERLOADED';
}

/** One request on a fresh HTTP/2 connection; always settles within timeoutMs and closes it. */
export async function unaryCall(socketPath: string, path: string, message: Uint8Array, timeoutMs: number): Promise<UnaryOutcome> {
  const budget = Math.max(1, Math.floor(timeoutMs));
  const result = await http2Request({
    socketPath,
    headers: [[':method', 'POST'], [':scheme', 'http'], [':path', path], [':authority', 'localhost'],
      ['content-type', 'application/grpc'], ['te', 'trailers'], ['grpc-timeout', `${budget}m`]],
    body: frameMessage(message),
    timeoutMs: budget,
  });
  switch (result.kind) {
    case 'response': return responseOutcome(result.headers, result.trailers, result.body);
    case 'unavailable': return { ok: false, code: GrpcStatus.UNAVAILABLE, detail: result.detail, trailers: {}, transport: true };
    case 'timeout': return { ok: false, code: GrpcStatus.DEADLINE_EXCEEDED, detail: result.detail, trailers: {}, transport: true };
    case 'protocol': return { ok: false, code: GrpcStatus.INTERNAL, detail: result.detail, trailers: {}, transport: false };
  }
}

/**
 * A response as gRPC over HTTP/2 defines it. A grpc-status, when present, decides (a value outside
 * 0-16 or not a decimal number is UNKNOWN); without one, the HTTP status is mapped as the gRPC
 * spec's "HTTP to gRPC Status Code Mapping" says, and a 200 without grpc-status is UNKNOWN.
 */
export function responseOutcome(headers: HeaderRecord, trailers: HeaderRecord | undefined, body: Buffer): UnaryOutcome {
  const metadata = { ...stringValues(headers), ...stringValues(trailers ?? {}) };
  const status = metadata['grpc-status'];
  if (status === undefined) {
    const http = headers[':status'] ?? '(none)';
    const code = HTTP_TO_GRPC[http] ?? GrpcStatus.UNKNOWN;
    return { ok: false, code, detail: `response without grpc-status (HTTP ${http})`, trailers: metadata, transport: code === GrpcStatus.UNAVAILABLE };
  }
  if (!isStatusNumber(status) || Number(status) > MAX_GRPC_STATUS) {
    return { ok: false, code: GrpcStatus.UNKNOWN, detail: `berthd sent an invalid grpc-status ${JSON.stringify(status)}`, trailers: metadata, transport: false };
  }
  const code = Number(status);
  if (code !== GrpcStatus.OK) return { ok: false, code, detail: percentDecode(metadata['grpc-message'] ?? ''), trailers: metadata, transport: false };
  let messages: Buffer[];
  try {
    messages = parseFrames(body);
  } catch (error) {
    return { ok: false, code: GrpcStatus.INTERNAL, detail: (error as Error).message, trailers: metadata, transport: false };
  }
  const [only] = messages;
  if (only === undefined || messages.length !== 1) {
    return { ok: false, code: GrpcStatus.INTERNAL, detail: `expected one response message, got ${messages.length}`, trailers: metadata, transport: false };
  }
  return { ok: true, message: only };
}

const MAX_GRPC_STATUS = GrpcStatus.UNAUTHENTICATED;

/** One or two decimal digits. A loop, not a RegExp: each RegExp compiled costs the plugin memory (daemon/src/fieldRules.ts). */
function isStatusNumber(text: string): boolean {
  if (text.length < 1 || text.length > 2) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** The gRPC spec's mapping for responses without grpc-status (doc/http-grpc-status-mapping.md). */
const HTTP_TO_GRPC: Readonly<Record<string, number>> = {
  400: GrpcStatus.INTERNAL,
  401: GrpcStatus.UNAUTHENTICATED,
  403: GrpcStatus.PERMISSION_DENIED,
  404: GrpcStatus.UNIMPLEMENTED,
  429: GrpcStatus.UNAVAILABLE,
  502: GrpcStatus.UNAVAILABLE,
  503: GrpcStatus.UNAVAILABLE,
  504: GrpcStatus.UNAVAILABLE,
};

function stringValues(headers: HeaderRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (!key.startsWith(':')) out[key] = value;
  }
  return out;
}

// grpc-message is percent-encoded (gRPC over HTTP/2 spec); undecodable text is shown as sent.
function percentDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
