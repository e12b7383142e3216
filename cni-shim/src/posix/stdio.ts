// The plugin's stdin and stdout, read and written synchronously: through libc in the shipped
// executable (posix/libc.ts), through node:fs under Node. Creating process.stdin or process.stdout
// (streams over pipe handles, served by the event loop) would cost more than the rest of a
// VERSION; Bun's node:fs alone cost ~6 ms of CPU at first use.
import { libc, LibcError, POLLIN, POLLOUT } from './libc.ts';

/** A network config is a few hundred bytes; a larger one takes more reads. */
const CHUNK_BYTES = 16 * 1024;

/**
 * All of `fd` to its end, each chunk handed to `take` (which may throw to stop). A terminal is
 * not waited on (''). A non-blocking fd that has nothing yet is waited for (libc) or read as a
 * stream (Node).
 */
export async function readAll(fd: number, take: (chunk: Buffer) => void): Promise<void> {
  const c = libc();
  if (c !== undefined) {
    if (c.isatty(fd)) return;
    for (;;) {
      const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
      let read: number;
      try {
        read = c.read(fd, buffer);
      } catch (error) {
        if (!(error instanceof LibcError) || error.code !== 'EAGAIN') throw error;
        c.poll(fd, POLLIN, -1);
        continue;
      }
      if (read === 0) return;
      take(buffer.subarray(0, read));
    }
  }
  // Looked up here, not imported: a static import would load node:fs in the executable too.
  const { fstatSync, readSync } = process.getBuiltinModule('node:fs');
  // A terminal (a character device) is not waited on. Not node:tty's isatty: it loads streams.
  if (fstatSync(fd).isCharacterDevice()) return;
  for (;;) {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    let read: number;
    try {
      read = readSync(fd, buffer, 0, buffer.length, null);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EINTR') continue;
      if (code !== 'EAGAIN' || fd !== 0) throw error;
      await readStdinStream(take);
      return;
    }
    if (read === 0) return;
    take(buffer.subarray(0, read));
  }
}

/** Writes `text` to `fd` synchronously until done or a write fails; returns what is left unwritten. */
export function writeAllSync(fd: number, text: string): Buffer {
  let rest = Buffer.from(text, 'utf8');
  const c = libc();
  try {
    if (c !== undefined) {
      while (rest.length > 0) {
        try {
          rest = rest.subarray(c.write(fd, rest));
        } catch (error) {
          if (!(error instanceof LibcError) || error.code !== 'EAGAIN') throw error;
          c.poll(fd, POLLOUT, -1);
        }
      }
      return rest;
    }
    const { writeSync } = process.getBuiltinModule('node:fs');
    while (rest.length > 0) rest = rest.subarray(writeSync(fd, rest));
  } catch {
    return rest;
  }
  return rest;
}

function readStdinStream(take: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdin.on('data', (chunk: Buffer) => {
      try {
        take(chunk);
      } catch (error) {
        process.stdin.destroy();
        reject(error);
      }
    });
    process.stdin.on('end', () => resolve());
    process.stdin.on('error', reject);
  });
}
