// A storm of concurrent shim ADD/DEL processes while the daemon is SIGKILLed at random moments
// and restarted. After each cycle: every ADD that printed success holds its lease (unless a DEL
// for it succeeded later), no address is held twice, and no lease remains for a successful DEL.
// Bounded by BERTH_STORM_SECONDS (default 20) in `npm test`; scripts/crash-storm.sh runs it longer.
// A serial test (*.serial.test.ts): it runs alone, after the parallel files (vitest.config.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseStore } from '../daemon/src/store/leaseStore.ts';
import { startDaemon, type DaemonHandle } from './support/daemonProcess.ts';
import { ipamClient } from './support/ipamTestClient.ts';
import { networkConfig, runShim } from './support/shimExec.ts';

const STORM_SECONDS = Number(process.env.BERTH_STORM_SECONDS ?? 20);
const PROCESSES_PER_CYCLE = Number(process.env.BERTH_STORM_PROCESSES ?? 200);
/**
 * The longest one cycle may take: every shim process costs up to ~0.5 s of CPU to start on a busy
 * 2-core machine, plus the shims' own 8 s timeout and a daemon restart. The loop runs past its
 * budget by at most one cycle, and always runs two: its timeout follows from both.
 */
const CYCLE_ALLOWANCE_SECONDS = 30 + PROCESSES_PER_CYCLE * 0.5;
const STORM_TIMEOUT_MS = (Math.max(STORM_SECONDS + CYCLE_ALLOWANCE_SECONDS, 2 * CYCLE_ALLOWANCE_SECONDS) + 30) * 1000;

const CONFIG = `
pools:
  - name: v4
    subnet: 10.120.0.0/16
  - name: v6
    subnet: fd00:120::/64
`;

interface Ledger {
  /** container id -> addresses printed by its successful ADD */
  added: Map<string, string[]>;
  /** container ids whose DEL printed success after their ADD */
  deleted: Set<string>;
  /** ADD or DEL that failed (e.g. the daemon never came back within its timeout): outcome unknown */
  unknown: Set<string>;
}

describe('crash storm', () => {
  let daemon: DaemonHandle;
  beforeAll(async () => { daemon = await startDaemon(CONFIG); });
  afterAll(async () => { await daemon.dispose(); });

  it(`keeps every acknowledged lease and never doubles an address (≥ ${STORM_SECONDS}s of SIGKILLs)`, async () => {
    const ledger: Ledger = { added: new Map(), deleted: new Set(), unknown: new Set() };
    const config = networkConfig(daemon.socketPath, { name: 'stormnet' }, { timeoutSeconds: 8 });
    const started = Date.now();
    let cycles = 0;
    let operations = 0;
    let next = 0;
    while (cycles < 2 || Date.now() - started < STORM_SECONDS * 1000) {
      // Half new ADDs, half DELs of containers added earlier (or fresh ADDs at first).
      const live = [...ledger.added.keys()].filter((id) => !ledger.deleted.has(id) && !ledger.unknown.has(id));
      const ops = Array.from({ length: PROCESSES_PER_CYCLE }, (_, i) => {
        const victim = i % 2 === 1 ? live.pop() : undefined;
        return victim ? { command: 'DEL', id: victim } : { command: 'ADD', id: `storm-${next++}` };
      });
      const running = ops.map(async (op) => {
        const result = await runShim({ command: op.command, containerId: op.id }, config);
        return { op, result };
      });
      // Kill the daemon at a random moment while the storm is in flight, then bring it back.
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 900));
      await daemon.stop('SIGKILL');
      await new Promise((r) => setTimeout(r, Math.random() * 300));
      await daemon.start();
      for (const { op, result } of await Promise.all(running)) {
        operations++;
        if (result.code !== 0) {
          ledger.unknown.add(op.id);
          continue;
        }
        if (op.command === 'ADD') {
          const ips = ((result.json?.ips ?? []) as { address: string }[]).map((entry) => entry.address.split('/')[0]!);
          expect(ips, result.stdout).toHaveLength(2);
          ledger.added.set(op.id, ips);
        } else {
          ledger.deleted.add(op.id);
        }
      }
      cycles++;
      await verify(daemon, ledger);
    }
    const failed = ledger.unknown.size;
    console.log(`crash storm: ${cycles} cycles, ${operations} shim processes, ${failed} ended in an error (retried past the timeout), 0 violations`);
    expect(cycles).toBeGreaterThanOrEqual(2);
  }, STORM_TIMEOUT_MS);
});

async function verify(daemon: DaemonHandle, ledger: Ledger): Promise<void> {
  // Read the database itself while no daemon holds it (one more crash), then ask the restarted daemon.
  await daemon.stop('SIGKILL');
  const store = LeaseStore.open(daemon.dbPath);
  const onDisk = store.listLeases({ network: 'stormnet' }).map((lease) => `${lease.containerId} ${lease.address}`).sort();
  store.close();
  await daemon.start();
  const client = ipamClient(daemon.socketPath);
  const leases = (await client.call<{ leases: { containerId: string; address: string }[] }>('ListLeases', { network: 'stormnet' })).leases;
  client.close();
  const held = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const lease of leases) {
    expect(seen.has(lease.address), `address ${lease.address} held twice`).toBe(false);
    seen.add(lease.address);
    held.set(lease.containerId, [...(held.get(lease.containerId) ?? []), lease.address]);
  }
  for (const [id, addresses] of ledger.added) {
    if (ledger.deleted.has(id) || ledger.unknown.has(id)) continue;
    expect(held.get(id)?.sort(), `acknowledged ADD of ${id} lost its lease`).toEqual([...addresses].sort());
  }
  for (const id of ledger.deleted) {
    if (ledger.unknown.has(id)) continue;
    expect(held.has(id), `lease of ${id} survived a successful DEL`).toBe(false);
  }
  expect(leases.length).toBe(onDisk.length);
}
