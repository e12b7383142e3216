// Binding the gRPC server to a Unix socket safely: never remove anything but a dead socket,
// never serve beside a live daemon, and never leave the socket readable by others.
import { chmodSync, chownSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, resolve } from 'node:path';

export class SocketInUseError extends Error {
  constructor(path: string, reason: string) {
    super(`socket ${path}: ${reason}`);
    this.name = 'SocketInUseError';
  }
}

/** Removes a stale socket at `path`; throws if something else is there or a daemon answers on it. */
export async function clearStaleSocket(path: string): Promise<void> {
  let stats;
  try {
    stats = lstatSync(path);
  } catch {
    return;
  }
  if (!stats.isSocket()) throw new SocketInUseError(path, 'exists and is not a socket; refusing to remove it');
  if (await answers(path)) throw new SocketInUseError(path, 'another berthd is serving on it');
  unlinkSync(path);
}

function answers(path: string): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(path);
    socket.once('connect', () => { socket.destroy(); done(true); });
    socket.once('error', () => done(false));
  });
}

/** Runs bind with a umask that makes the socket 0600 from its first moment, then applies mode and group. */
export async function bindPrivately<T>(path: string, bind: (address: string) => Promise<T>, groupId?: number): Promise<T> {
  const absolute = resolve(path);
  mkdirSync(dirname(absolute), { recursive: true, mode: 0o755 });
  await clearStaleSocket(absolute);
  const previous = process.umask(0o177);
  let result: T;
  try {
    result = await bind(`unix://${absolute}`);
  } finally {
    process.umask(previous);
  }
  if (groupId !== undefined) {
    chownSync(absolute, process.getuid?.() ?? 0, groupId);
    chmodSync(absolute, 0o660);
  } else {
    chmodSync(absolute, 0o600);
  }
  return result;
}
