// The few libc calls the plugin makes, bound through Bun's FFI in the shipped executable. One
// invocation reads stdin, makes one call on a Unix socket and writes stdout; done with blocking
// system calls, it needs none of what Bun loads for node:fs (~6 ms of CPU and 2 MB at first use),
// Bun.connect and its event loop turns (~3 ms), or a timer. Loading bun:ffi and binding these
// costs ~4 ms. Under Node (the unit tests) there is no libc here and the callers use node:fs and
// node:net instead.

/** A failed call: `code` is errno's name where the plugin cares about it (ENOENT, EAGAIN, ...). */
export class LibcError extends Error {
  override readonly name = 'LibcError';
  constructor(readonly syscall: string, readonly errno: number, detail?: string) {
    super(`${syscall} ${errnoName(errno)}${detail === undefined ? '' : ` ${detail}`}`);
  }

  get code(): string {
    return errnoName(this.errno);
  }
}

export const POLLIN = 0x1;
export const POLLOUT = 0x4;

export interface Libc {
  /** Bytes read; 0 at the end. Throws LibcError (EAGAIN on a non-blocking fd with nothing to read, EINTR retried). */
  read(fd: number, into: Uint8Array): number;
  /** Bytes written (may be fewer than asked). Throws LibcError. */
  write(fd: number, bytes: Uint8Array): number;
  /** Waits until `fd` is ready for `events` or `timeoutMs` passes (-1: no limit); false on timeout. */
  poll(fd: number, events: number, timeoutMs: number): boolean;
  isatty(fd: number): boolean;
  /** A non-blocking, close-on-exec Unix stream socket connected to `path`. Throws LibcError (ENOENT, ECONNREFUSED, EAGAIN, ...). */
  connectUnix(path: string): number;
  close(fd: number): void;
}

interface BunFfi {
  dlopen(path: string, symbols: Record<string, { args: readonly number[]; returns: number }>): { symbols: Record<string, (...args: unknown[]) => number> };
  read: { i32(pointer: number, offset?: number): number };
  FFIType: Record<'i32' | 'i64' | 'u64' | 'u32' | 'ptr', number>;
}

const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: 'EPERM', 2: 'ENOENT', 4: 'EINTR', 5: 'EIO', 9: 'EBADF', 11: 'EAGAIN', 13: 'EACCES', 20: 'ENOTDIR', 22: 'EINVAL', 24: 'EMFILE',
  32: 'EPIPE', 36: 'ENAMETOOLONG', 88: 'ENOTSOCK', 91: 'EPROTOTYPE', 104: 'ECONNRESET', 107: 'ENOTCONN', 111: 'ECONNREFUSED',
};
const EINTR = 4;
const EINVAL = 22;
const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
/** sizeof(struct sockaddr_un): a 2-byte family and 108 bytes of path, NUL included. */
const SOCKADDR_UN_SIZE = 110;

export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

let loaded: Libc | null | undefined;

/** libc through Bun's FFI, or undefined outside Bun (or where it cannot be bound). Bound once. */
export function libc(): Libc | undefined {
  if (loaded === undefined) loaded = bind();
  return loaded ?? undefined;
}

function bind(): Libc | null {
  if ((globalThis as { Bun?: unknown }).Bun === undefined) return null;
  let ffi: BunFfi;
  let c: Record<string, (...args: unknown[]) => number>;
  try {
    // require, not import: a static import would be resolved under Node too, and import() costs a turn.
    ffi = require('bun:ffi') as BunFfi;
    const { i32, i64, u64, u32, ptr } = ffi.FFIType;
    // The executable is Bun's glibc build for Linux (scripts/build.mjs), so glibc's soname.
    c = ffi.dlopen('libc.so.6', {
      read: { args: [i32, ptr, u64], returns: i64 },
      write: { args: [i32, ptr, u64], returns: i64 },
      poll: { args: [ptr, u64, i32], returns: i32 },
      isatty: { args: [i32], returns: i32 },
      socket: { args: [i32, i32, i32], returns: i32 },
      connect: { args: [i32, ptr, u32], returns: i32 },
      close: { args: [i32], returns: i32 },
      __errno_location: { args: [], returns: ptr },
    }).symbols;
  } catch {
    return null;
  }
  const errno = (): number => ffi.read.i32(c.__errno_location?.() ?? 0, 0);
  const call = (name: string, ...args: unknown[]): number => {
    const fn = c[name];
    if (fn === undefined) throw new LibcError(name, 38);
    for (;;) {
      const result = Number(fn(...args));
      if (result >= 0) return result;
      const code = errno();
      if (code !== EINTR) throw new LibcError(name, code);
    }
  };
  const pollfd = new Int32Array(2);
  return {
    read: (fd, into) => into.length === 0 ? 0 : call('read', fd, into, into.length),
    write: (fd, bytes) => bytes.length === 0 ? 0 : call('write', fd, bytes, bytes.length),
    poll: (fd, events, timeoutMs) => {
      pollfd[0] = fd;
      pollfd[1] = events;
      return call('poll', pollfd, 1, timeoutMs) > 0;
    },
    isatty: (fd) => Number(c.isatty?.(fd)) === 1,
    connectUnix: (path) => {
      // A NUL would cut the path short (or, first, name an abstract socket): node:net refuses it too.
      if (path.includes('\0')) throw new LibcError('connect', EINVAL, 'a socket path holding a NUL byte');
      const address = new Uint8Array(SOCKADDR_UN_SIZE);
      address[0] = AF_UNIX;
      const written = Buffer.from(address.buffer).write(path, 2, 'utf8');
      if (written >= SOCKADDR_UN_SIZE - 2 || Buffer.byteLength(path) !== written) throw new LibcError('connect', 36, path);
      const fd = call('socket', AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      try {
        call('connect', fd, address, 2 + written + 1);
      } catch (error) {
        c.close?.(fd);
        throw error instanceof LibcError ? new LibcError('connect', error.errno, path) : error;
      }
      return fd;
    },
    close: (fd) => { c.close?.(fd); },
  };
}
