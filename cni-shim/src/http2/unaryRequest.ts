// One HTTP/2 request over a Unix socket, driving the exchange in unaryExchange.ts. The shim makes
// one call per process, and loading and warming node:http2 cost it more than the call itself.
// Under Bun (the shipped executable) the socket is Bun.connect's: Bun's node:net loads its
// JavaScript stream modules first, which cost an ADD ~15% more CPU (perf stat task-clock, 95 vs
// 81 ms on the loaded 2-core machine). Under Node (unit tests, tools) it is node:net. Both run
// the same exchange; test/pluginTransport.test.ts drives the Bun path through dist/berth.
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

type Dial = (socketPath: string, exchange: () => UnaryExchange) => Connection;

/** Always settles, within timeoutMs; the socket is closed right after. */
export function http2Request(request: Http2Request): Promise<Http2Result> {
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
    const connection = dial(request.socketPath, () => exchange);
    connection.write(exchange.start());
  });
}

interface BunSocket { write(data: Uint8Array): number; end(): void; flush(): void }
interface BunRuntime {
  connect(options: {
    unix: string;
    socket: {
      data(socket: BunSocket, chunk: Uint8Array): void;
      drain(socket: BunSocket): void;
      close(socket: BunSocket, error?: Error): void;
      error(socket: BunSocket, error: Error): void;
      connectError(socket: BunSocket, error: Error): void;
    };
  }): Promise<BunSocket>;
}

const bun = (globalThis as { Bun?: BunRuntime }).Bun;
const dial: Dial = bun === undefined ? dialNet : (socketPath, exchange) => dialBun(bun, socketPath, exchange);

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

/** Bun.connect: bytes written before the connection opens, or beyond what the kernel took, wait in `pending`. */
function dialBun(runtime: BunRuntime, socketPath: string, exchange: () => UnaryExchange): Connection {
  let socket: BunSocket | undefined;
  let pending: Uint8Array[] = [];
  let closed = false;
  const flush = (open: BunSocket): void => {
    while (pending.length > 0) {
      const [first] = pending;
      if (first === undefined) break;
      const written = open.write(first);
      if (written < first.length) {
        pending[0] = first.subarray(Math.max(0, written));
        return;
      }
      pending.shift();
    }
  };
  runtime.connect({
    unix: socketPath,
    socket: {
      data: (_socket, chunk) => exchange().receive(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)),
      drain: (open) => flush(open),
      close: (_socket, error) => exchange().closed(error),
      error: (_socket, error) => exchange().closed(error),
      connectError: (_socket, error) => exchange().closed(error),
    },
  }).then((open) => {
    if (closed) {
      open.end();
      return;
    }
    socket = open;
    flush(open);
  }, (error: Error) => exchange().closed(error));
  return {
    write: (bytes) => {
      pending.push(bytes);
      if (socket !== undefined) flush(socket);
    },
    close: () => {
      closed = true;
      pending = [];
      socket?.end();
    },
  };
}
