// One HTTP/2 request over a Unix socket (node:net), driving the exchange in unaryExchange.ts. The
// shim makes one call per process, and loading and warming node:http2 cost it more than the call
// itself. Under Bun, Bun.connect measured no cheaper than node:net for this one exchange (CPU and
// peak memory of ADD+DEL; bench/results.md), so there is one socket path, the one the unit tests
// run under Node.
import { UnaryExchange, type ExchangeRequest, type Http2Result } from './unaryExchange.ts';

export type { HeaderRecord, Http2Result } from './unaryExchange.ts';

export interface Http2Request extends ExchangeRequest {
  readonly socketPath: string;
  readonly timeoutMs: number;
}

/** Always settles, within timeoutMs; the socket is closed right after. */
export function http2Request(request: Http2Request): Promise<Http2Result> {
  // Looked up when a call is made, not imported: an import would load node:net at start-up, and
  // VERSION (and every error before a call) has no use for it.
  const { connect } = process.getBuiltinModule('node:net');
  return new Promise((resolve) => {
    const socket = connect(request.socketPath);
    const budget = Math.max(1, Math.floor(request.timeoutMs));
    const timer = setTimeout(() => exchange.timedOut(`no answer within ${budget} ms`), budget);
    const exchange = new UnaryExchange(request, {
      send: (bytes) => socket.write(bytes),
      done: (result) => {
        clearTimeout(timer);
        resolve(result);
        // Closed once the caller has the result: net's destroy() reads process.stderr, which
        // creates that stream (~0.4 ms), and a CNI invocation exits as soon as it has printed.
        setImmediate(() => socket.destroy());
      },
    });
    socket.on('data', (chunk: Buffer) => exchange.receive(chunk));
    socket.on('error', (error: Error) => exchange.closed(error));
    socket.on('close', () => exchange.closed());
    socket.write(exchange.start());
  });
}
