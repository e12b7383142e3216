// The exchange in unaryExchange.ts over a socket driven by blocking libc calls (posix/libc.ts), as
// the shipped executable runs it: connect, write, then poll and read until the result. The wait is
// cut into slices; between slices the event loop gets a turn, so that a timer or a rejection
// somewhere else in the process still ends in the plugin's last-resort CNI error while it waits.
import { LibcError, POLLIN, POLLOUT, type Libc } from '../posix/libc.ts';
import { UnaryExchange, type ExchangeRequest, type Http2Result } from './unaryExchange.ts';

/** Longest a single blocking poll lasts; berthd answers an idle call in a few ms. */
const WAIT_SLICE_MS = 50;
/** berthd's answers are a few hundred bytes; a larger one takes more reads. */
const READ_BUFFER_BYTES = 16 * 1024;

export async function libcRequest(c: Libc, socketPath: string, request: ExchangeRequest, timeoutMs: number): Promise<Http2Result> {
  const budget = Math.max(1, Math.floor(timeoutMs));
  const deadline = Date.now() + budget;
  let fd: number;
  try {
    fd = c.connectUnix(socketPath);
  } catch (error) {
    if (error instanceof LibcError) return { kind: 'unavailable', detail: error.message };
    throw error;
  }
  let result: Http2Result | undefined;
  let writeFailure: LibcError | undefined;
  const send = (bytes: Uint8Array): void => {
    try {
      writeAll(c, fd, bytes, deadline);
    } catch (error) {
      if (!(error instanceof LibcError)) throw error;
      writeFailure ??= error;
    }
  };
  const exchange = new UnaryExchange(request, { send, done: (settled) => { result = settled; } });
  try {
    send(exchange.start());
    while (result === undefined) {
      // A failed write (EPIPE: berthd closed) is reported once whatever berthd sent before it is read.
      const left = deadline - Date.now();
      if (left <= 0) {
        exchange.timedOut(`no answer within ${budget} ms`);
        break;
      }
      if (!c.poll(fd, POLLIN, Math.min(left, WAIT_SLICE_MS))) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        continue;
      }
      // A buffer of its own for each read: the exchange may keep a partial frame across reads.
      const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
      let read: number;
      try {
        read = c.read(fd, buffer);
      } catch (error) {
        if (!(error instanceof LibcError)) throw error;
        if (error.code === 'EAGAIN') continue;
        exchange.closed(error);
        break;
      }
      if (read === 0) {
        exchange.closed(writeFailure);
        break;
      }
      exchange.receive(buffer.subarray(0, read));
    }
  } finally {
    c.close(fd);
  }
  return result ?? { kind: 'unavailable', detail: 'connection closed before berthd answered' };
}

/** Writes all of `bytes`, waiting for room until the deadline. Throws LibcError. */
function writeAll(c: Libc, fd: number, bytes: Uint8Array, deadline: number): void {
  let rest = bytes;
  while (rest.length > 0) {
    try {
      rest = rest.subarray(c.write(fd, rest));
    } catch (error) {
      if (!(error instanceof LibcError) || error.code !== 'EAGAIN') throw error;
      const left = deadline - Date.now();
      if (left <= 0 || !c.poll(fd, POLLOUT, left)) throw new LibcError('write', 11, 'no room in the socket before the deadline');
    }
  }
}
