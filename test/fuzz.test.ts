// Property-based fuzzing (fast-check) of every surface a caller reaches: the gRPC API through a
// client and as raw HTTP/2 bytes, the CNI plugin's code in-process, and the plugin binary exec'd.
// After every case: an answer came (a gRPC status with berth's reason, or CNI output per the
// spec), berthd answers its health RPC, and the lease set changed only through an accepted
// request and holds nothing malformed. `npm test` runs a bounded sample with a fixed seed;
// `npm run fuzz` (FUZZ_SCALE=full) runs 100,000+ with a fresh seed. Either prints its seed; rerun a
// failure with FUZZ_SEED=<seed> (and the same FUZZ_SCALE).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type DaemonHandle } from './support/daemonProcess.ts';
import { ipamClient, type IpamTestClient } from './support/ipamTestClient.ts';
import { CNI_MUTATING, cniCaseArbitrary, cniOutputProblem, execCniCase, inProcessCniCase, outcomeUnknown, type CniOutcome, type CniCase } from './fuzz/cniFuzz.ts';
import { FUZZ_CONFIG } from './fuzz/hostileValues.ts';
import { LeaseLedger } from './fuzz/leaseLedger.ts';
import { RawGrpcSession } from './fuzz/rawGrpc.ts';
import { checkAfterRpc, rawCaseArbitrary, rpcCaseArbitrary, runRawCase, runRpcCase } from './fuzz/rpcFuzz.ts';

const FULL = process.env.FUZZ_SCALE === 'full';
// An empty FUZZ_SEED counts as unset; anything else must be a whole number.
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : FULL ? Date.now() % 2 ** 31 : 14_014;
if (!Number.isSafeInteger(SEED)) throw new Error(`FUZZ_SEED must be a whole number, not "${process.env.FUZZ_SEED}"`);
// Sample (npm test): 5,040 cases, most on the cheap gRPC surfaces. Full (npm run fuzz): 100,000+.
const RUNS = FULL ? { rpc: 70_000, raw: 20_000, inProcess: 9_000, exec: 1_000 } : { rpc: 3_300, raw: 1_000, inProcess: 700, exec: 40 };
// FUZZ_ONLY=grpc,raw,inprocess,exec runs a subset (to replay one surface).
const ONLY = new Set((process.env.FUZZ_ONLY ?? 'grpc,raw,inprocess,exec').split(','));
const runs = (surface: string, n: number) => (ONLY.has(surface) ? n : 0);
const counts: Record<string, { cases: number; accepted: number; refused: number; skipped: number; reset: number; stalled: number }> = {};

/** `stalled` marks a case that answered only on a new connection; the case itself is counted by its outcome. */
function count(surface: string, key: 'accepted' | 'refused' | 'skipped' | 'reset' | 'stalled'): void {
  const entry = (counts[surface] ??= { cases: 0, accepted: 0, refused: 0, skipped: 0, reset: 0, stalled: 0 });
  if (key !== 'stalled') entry.cases += 1;
  entry[key] += 1;
}

/** fc.assert with the seed printed on failure (fast-check adds the path to replay the exact case). */
async function check<T>(name: string, arbitrary: fc.Arbitrary<T>, numRuns: number, body: (value: T) => Promise<string | undefined>): Promise<void> {
  if (numRuns === 0) return;
  const property = fc.asyncProperty(arbitrary, async (value) => {
    const violation = await body(value);
    if (violation !== undefined) throw new Error(violation);
  });
  try {
    await fc.assert(property, { numRuns, seed: SEED, endOnFailure: true, includeErrorInReport: true });
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    throw new Error(`fuzz ${name} failed; replay with FUZZ_SEED=${SEED}${FULL ? ' FUZZ_SCALE=full' : ''}\n${text.length > 6000 ? `${text.slice(0, 3000)}\n...\n${text.slice(-3000)}` : text}`);
  }
}

describe(`fuzz (seed ${SEED}, ${FULL ? 'full' : 'sample'})`, () => {
  let daemon: DaemonHandle;
  let client: IpamTestClient;
  let session: RawGrpcSession;
  let ledger: LeaseLedger;
  const timeout = FULL ? 3 * 60 * 60_000 : 240_000;

  beforeAll(async () => {
    // The netns cleaner off: only requests may change leases while the invariant is checked.
    daemon = await startDaemon(FUZZ_CONFIG, ['--netns-grace-seconds', '0']);
    client = ipamClient(daemon.socketPath);
    session = new RawGrpcSession(daemon.socketPath);
    ledger = new LeaseLedger(client, daemon.dbPath);
    await ledger.baseline();
    process.stdout.write(`fuzz: seed ${SEED} (${FULL ? 'full' : 'sample'}); replay with FUZZ_SEED=${SEED}\n`);
  });
  afterAll(async () => {
    const lines = Object.entries(counts).map(([surface, c]) => `  ${surface.padEnd(22)} ${String(c.cases).padStart(7)} cases  (${c.accepted} accepted, ${c.refused} refused${c.reset > 0 ? `, ${c.reset} reset by HTTP/2 flood protection` : ''}${c.skipped > 0 ? `, ${c.skipped} not encodable by the client` : ''}${c.stalled > 0 ? `, ${c.stalled} STALLED: no status within 20 s, answered on a new connection` : ''})`);
    const total = Object.values(counts).reduce((sum, c) => sum + c.cases, 0);
    process.stdout.write(`fuzz: ${total} cases, seed ${SEED}\n${lines.join('\n')}\n`);
    session?.close();
    client?.close();
    await daemon?.dispose();
  });

  it(`gRPC, every field of every RPC through a client (${RUNS.rpc} cases)`, async () => {
    await check('gRPC', rpcCaseArbitrary(), runs('grpc', RUNS.rpc), async (rpc) => {
      const outcome = await runRpcCase(client, rpc);
      if (outcome === undefined) { count('grpc fields', 'skipped'); return undefined; }
      count('grpc fields', outcome.accepted ? 'accepted' : 'refused');
      return checkAfterRpc(outcome, rpc.method, session, ledger);
    });
  }, timeout);

  it(`gRPC, malformed protobuf and framing over raw HTTP/2 (${RUNS.raw} cases)`, async () => {
    await check('raw', rawCaseArbitrary(), runs('raw', RUNS.raw), async (raw) => {
      return runRawCase(session, raw, ledger, (status) => count('grpc raw bytes', status === 0 ? 'accepted' : status === -1 ? 'reset' : status === -2 ? 'stalled' : 'refused'));
    });
  }, timeout);

  const cniProperty = (surface: string, run: (c: CniCase, socket: string) => Promise<CniOutcome>) => async (cniCase: CniCase) => {
    const outcome = await run(cniCase, daemon.socketPath);
    count(surface, outcome.exitCode === 0 ? 'accepted' : 'refused');
    const problem = cniOutputProblem(outcome);
    if (problem !== undefined) return `${problem}\nenv: ${JSON.stringify(cniCase.env).slice(0, 500)}`;
    if (!(await session.healthy())) return 'berthd not healthy after the case';
    return ledger.after((outcome.exitCode === 0 || outcomeUnknown(outcome)) && CNI_MUTATING.has(outcome.command));
  };

  it(`CNI plugin code in-process against berthd (${RUNS.inProcess} cases)`, async () => {
    await check('CNI in-process', cniCaseArbitrary(), runs('inprocess', RUNS.inProcess), cniProperty('cni in-process', inProcessCniCase));
  }, timeout);

  it(`CNI plugin binary dist/berth exec'd (${RUNS.exec} cases)`, async () => {
    await check('CNI exec', cniCaseArbitrary(), runs('exec', RUNS.exec), cniProperty('cni dist/berth exec', execCniCase));
  }, timeout);

  it('leaves berthd up', () => {
    expect(daemon.process.exitCode).toBeNull();
    expect(daemon.logs()).not.toMatch(/uncaught|unhandled/);
  });
});
