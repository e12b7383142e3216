// Runs the plugin's ADD, DEL, failed ADD and VERSION paths in-process, against recorded berthd
// responses instead of a socket. The build runs this once before taking the executable's startup
// snapshot (snapshotMain.ts), so that the snapshot holds these paths compiled and ready.
import { IpamClient, type Http2Transport } from './client.ts';
import { UnaryExchange } from './http2/unaryExchange.ts';
import { handleInvocation, type ShimOutcome } from './shim.ts';
import { ALLOCATE_RESPONSE, RELEASE_RESPONSE, UNKNOWN_POOL_RESPONSE } from './warmUpRecordings.ts';

const ATTACHMENT = { CNI_CONTAINERID: 'warm-up', CNI_NETNS: '/var/run/netns/warm-up', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };
const CONFIG = JSON.stringify({ cniVersion: '1.0.0', name: 'warm-up', type: 'bridge', ipam: { type: 'berth', socket: '/run/berth/berthd.sock', pools: ['shim-v4'] } });

/** Each invocation's outcome, in order: ADD, DEL, ADD of an unknown pool, VERSION. */
export async function warmUp(): Promise<ShimOutcome[]> {
  const runs: [command: string, recording: Buffer | undefined][] = [
    ['ADD', ALLOCATE_RESPONSE], ['DEL', RELEASE_RESPONSE], ['ADD', UNKNOWN_POOL_RESPONSE], ['VERSION', undefined],
  ];
  const outcomes: ShimOutcome[] = [];
  for (const [command, recording] of runs) {
    outcomes.push(await handleInvocation({ ...ATTACHMENT, CNI_COMMAND: command }, () => Promise.resolve(CONFIG), (socketPath, timeoutMs) =>
      new IpamClient({ socketPath, timeoutMs, transport: replay(recording ?? Buffer.alloc(0)) })));
  }
  return outcomes;
}

/** A transport that answers every request with `recording`, as if berthd had sent it. */
function replay(recording: Buffer): Http2Transport {
  return (request) => new Promise((resolve) => {
    const exchange = new UnaryExchange(request, { send: () => undefined, done: resolve });
    exchange.start();
    exchange.receive(recording);
    exchange.closed();
  });
}
