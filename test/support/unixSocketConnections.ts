// Connections made to a listening Unix socket, from /proc/net/unix: with the server stopped
// (SIGSTOP) they wait in its backlog, so the count says how many clients are in flight.
import { readFileSync } from 'node:fs';

const LISTENING = 0x10000; // __SO_ACCEPTCON

/** Sockets bound to or connected through `path`, the listening socket itself excluded. */
export function connectionsTo(path: string): number {
  let count = 0;
  for (const line of readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
    // Num RefCount Protocol Flags Type St Inode Path
    const fields = line.trim().split(/\s+/);
    if (fields.length < 8 || fields.slice(7).join(' ') !== path) continue;
    if ((Number.parseInt(fields[3] ?? '0', 16) & LISTENING) === 0) count++;
  }
  return count;
}
