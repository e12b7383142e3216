// Runs the plugin's ADD, DEL, failed ADD and VERSION paths in-process against a local Unix socket
// that answers with recorded berthd responses. The build runs this once before taking the
// executable's startup snapshot (snapshotMain.ts), so that the snapshot holds these paths, node's
// socket code included, compiled and ready.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IpamClient } from './client.ts';
import { handleInvocation, type ShimOutcome } from './shim.ts';
import { ALLOCATE_RESPONSE, RELEASE_RESPONSE, UNKNOWN_POOL_RESPONSE } from './warmUpRecordings.ts';

const ATTACHMENT = { CNI_CONTAINERID: 'warm-up', CNI_NETNS: '/var/run/netns/warm-up', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };
const configFor = (socket: string): string =>
  JSON.stringify({ cniVersion: '1.0.0', name: 'warm-up', type: 'bridge', ipam: { type: 'berth', socket, pools: ['shim-v4'] } });

/** Each invocation's outcome, in order: ADD, DEL, ADD of an unknown pool, VERSION. */
export async function warmUp(): Promise<ShimOutcome[]> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-warm-up-'));
  const outcomes: ShimOutcome[] = [];
  try {
    for (const [command, recording] of [['ADD', ALLOCATE_RESPONSE], ['DEL', RELEASE_RESPONSE], ['ADD', UNKNOWN_POOL_RESPONSE], ['VERSION', undefined]] as const) {
      const socketPath = join(dir, `${outcomes.length}.sock`);
      const server = recording === undefined ? undefined : await replayServer(socketPath, recording);
      try {
        outcomes.push(await handleInvocation({ ...ATTACHMENT, CNI_COMMAND: command }, () => Promise.resolve(configFor(socketPath)),
          (path, timeoutMs) => new IpamClient({ socketPath: path, timeoutMs })));
      } finally {
        await new Promise((done) => (server === undefined ? done(undefined) : server.close(done)));
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return outcomes;
}

/** Answers the first bytes of each connection with `recording`, as berthd did, then hangs up. */
function replayServer(socketPath: string, recording: Buffer): Promise<Server> {
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.once('data', () => socket.end(recording));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve(server));
  });
}
