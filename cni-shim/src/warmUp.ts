// Runs the plugin's ADD, DEL, failed ADD and VERSION paths in-process against a local Unix socket
// that answers with recorded berthd responses. The build runs this once before taking the
// executable's startup snapshot (snapshotMain.ts), so that the snapshot holds these paths, node's
// socket code included, compiled and ready. The config is read from a file and the output written
// to one through the functions runShim uses on stdin and stdout: a function the warm-up never
// called is parsed and compiled in every invocation (~0.3 ms for that path).
import { closeSync, mkdtempSync, openSync, readdirSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { connectBerthd, handleInvocation, outputText, readInput, writeAllSync, type ShimOutcome } from './shim.ts';
import { ALLOCATE_RESPONSE, RELEASE_RESPONSE, UNKNOWN_POOL_RESPONSE } from './warmUpRecordings.ts';

const ATTACHMENT = { CNI_CONTAINERID: 'warm-up', CNI_NETNS: '/var/run/netns/warm-up', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };
const configFor = (socket: string): string =>
  JSON.stringify({ cniVersion: '1.0.0', name: 'warm-up', type: 'bridge', ipam: { type: 'berth', socket, pools: ['shim-v4'] } });

/** Each invocation's outcome, in order: ADD, DEL, ADD of an unknown pool, VERSION. */
export async function warmUp(): Promise<ShimOutcome[]> {
  // Neither os.tmpdir() nor a recursive rmSync: every module the warm-up loads stays in the
  // snapshot, and node:os with the recursive remover cost each invocation ~0.5 ms (measured).
  const dir = mkdtempSync(join(process.env.TMPDIR || '/tmp', 'berth-warm-up-'));
  const outcomes: ShimOutcome[] = [];
  try {
    for (const [command, recording] of [['ADD', ALLOCATE_RESPONSE], ['DEL', RELEASE_RESPONSE], ['ADD', UNKNOWN_POOL_RESPONSE], ['VERSION', undefined]] as const) {
      const socketPath = join(dir, `${outcomes.length}.sock`);
      const server = recording === undefined ? undefined : await replayServer(socketPath, recording);
      const configPath = join(dir, `${outcomes.length}.json`);
      writeFileSync(configPath, configFor(socketPath));
      const input = openSync(configPath, 'r');
      const output = openSync(join(dir, `${outcomes.length}.out`), 'w');
      try {
        const outcome = await handleInvocation({ ...ATTACHMENT, CNI_COMMAND: command }, () => readInput(input), connectBerthd);
        writeAllSync(output, outputText(outcome));
        outcomes.push(outcome);
      } finally {
        closeSync(input);
        closeSync(output);
        await new Promise((done) => (server === undefined ? done(undefined) : server.close(done)));
      }
    }
  } finally {
    for (const name of readdirSync(dir)) unlinkSync(join(dir, name));
    rmdirSync(dir);
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
    server.once('listening', () => resolve(server));
    // listen() first loads node:cluster (and with it child_process, dgram, ...): ~140 KB more
    // snapshot that every invocation deserializes (~0.3 ms). _listen2 is what listen() then calls
    // in a primary process; a node without it gets listen().
    const internal = server as unknown as { _listen2?: (path: string, port: number, addressType: number, backlog: number) => void };
    if (typeof internal._listen2 === 'function') internal._listen2(socketPath, -1, -1, 511);
    else server.listen(socketPath);
  });
}
