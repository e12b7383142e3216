// One HTTP/2 request over a Unix socket, driving the exchange in unaryExchange.ts. The shim makes
// one call per process, and loading and warming node:http2 cost it more than the call itself.
// In the shipped executable (Bun) the socket is libc's, in blocking calls (libcRequest.ts): no
// event loop, timer or stream module is needed for the one call. Under Node (unit tests, tools),
// or should libc not bind, it is node:net. Both run the same exchange;
// test/pluginTransport.test.ts drives the libc path through dist/berth.
import { libc } from '../posix/libc.ts';
import { libcRequest } from './libcRequest.ts';
import { UnaryExchange, type ExchangeIo, type ExchangeRequest, type Http2Result } from './unaryExchange.ts';

export type { HeaderRecord, Http2Result } from './unaryExchange.ts';

export interface Http2Request extends ExchangeRequest {
  readonly socketPath: string;
  readonly timeoutMs: number;
}

/** The connection an exchange runs on: bytes out, and an end that nothing waits for. */
interface Connection {
  write(bytes: Buffer): void;
  close(): void;
}

/** Always settles, within timeoutMs; the socket is closed right after. */
export function http2Request(request: Http2Request): Promise<Http2Result> {
  const c = libc();
  if (c !== undefined) return libcRequest(c, request.socketPath, request, request.timeoutMs);
  return new Promise((resolve) => {
    const budget = Math.max(1, Math.floor(request.timeoutMs));
    const timer = setTimeout(() => exchange.timedOut(`no answer within ${budget} ms`), budget);
    const io: ExchangeIo = {
      send: (bytes) => connection.write(bytes),
      done: (result) => {
        clearTimeout(timer);
        resolve(result);
        connection.close();
      },
    };
    const exchange = new UnaryExchange(request, io);
    const connection = dialNet(request.socketPath, () => exchange);
    connection.write(exchange.start());
  });
}

function dialNet(socketPath: string, exchange: () => UnaryExchange): Connection {
  // Looked up here, not imported: a static import loads node:net in the Bun executable too.
  const { connect } = process.getBuiltinModule('node:net');
  const socket = connect(socketPath);
  socket.on('data', (chunk: Buffer) => exchange().receive(chunk));
  socket.on('error', (error: Error) => exchange().closed(error));
  socket.on('close', () => exchange().closed());
  return {
    write: (bytes) => { socket.write(bytes); },
    // After the caller has the result: net's destroy() reads process.stderr, which creates that
    // stream (~0.4 ms), and a CNI invocation exits as soon as it has printed.
    close: () => setImmediate(() => socket.destroy()),
  };
}
