// The benchmark's code paths at tiny sizes, so `npm run bench` never rots. No timing is asserted
// here (timing belongs in the benchmark): only that every section ran and produced numbers.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, shimBuilt } from './support/daemonProcess.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const HOST_LOCAL = '/usr/lib/cni/host-local';

function runBench(args: readonly string[], script = 'scripts/bench/run.mjs'): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

function object(value: Json | undefined, path: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${path}: expected an object, got ${JSON.stringify(value)}`);
  return value;
}

function list(value: Json | undefined, path: string): Json[] {
  if (!Array.isArray(value)) throw new Error(`${path}: expected an array, got ${JSON.stringify(value)}`);
  return value;
}

/** A summary the bench writes for every figure: median, min and max, all numbers. */
function expectSummary(value: Json | undefined, path: string): void {
  const summary = object(value, path);
  for (const key of ['median', 'min', 'max']) {
    expect(typeof summary[key], `${path}.${key}`).toBe('number');
  }
}

describe('npm run bench (smoke, --quick)', () => {
  let outDir: string;
  let run: { code: number | null; output: string };
  let results: JsonObject;
  const withShim = shimBuilt();

  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'berth-bench-smoke-'));
    // Without the single executable (a --js build), everything but the plugin section still runs.
    run = await runBench(['--quick', '--cpu-prof', '--out', outDir, ...(withShim ? [] : ['--sections', 'throughput,scale,cluster'])]);
    if (run.code === 0) results = object(JSON.parse(readFileSync(join(outDir, 'results.json'), 'utf8')) as Json, 'results');
    // ~60 s alone, ~150 s at load average 20 (the cluster section starts a 3-member etcd and six
    // berthds); a serial test, so no process storm runs beside it.
  }, 360_000);

  afterAll(() => {
    rmSync(outDir, { recursive: true, force: true });
  });

  const cluster = () => object(object(results.sections, 'sections').cluster, 'cluster');

  it('exits 0 and writes results.json and results.md into --out', () => {
    expect(run.code, run.output).toBe(0);
    expect(existsSync(join(outDir, 'results.md'))).toBe(true);
    expect(readFileSync(join(outDir, 'results.md'), 'utf8')).toContain('## Targets');
  });

  it.skipIf(!withShim)('measures the plugin round trip and VERSION against host-local and the runtime floor, as leases grow, and its memory and size', () => {
    const shim = object(object(results.sections, 'sections').shim, 'shim');
    const hostLocal = existsSync(HOST_LOCAL);
    const peers = object(shim.peers, 'peers');
    for (const key of ['berthAddMs', 'berthDelMs', 'berthPairMs', 'berthVersionMs', 'runtimeFloorMs']) expectSummary(peers[key], `peers.${key}`);
    const ratios = object(peers.ratios, 'peers.ratios');
    expectSummary(ratios.berthVersionVsFloor, 'ratios.berthVersionVsFloor');
    if (hostLocal) {
      for (const key of ['hostLocalPairMs', 'hostLocalVersionMs']) expectSummary(peers[key], `peers.${key}`);
      for (const key of ['berthPairVsHostLocal', 'berthVersionVsHostLocal']) expectSummary(ratios[key], `ratios.${key}`);
    }
    const scale = object(shim.leaseScale, 'leaseScale');
    for (const [i, entry] of list(scale.berth, 'leaseScale.berth').entries()) expectSummary(object(entry, 'berth').pairMs, `leaseScale.berth[${i}].pairMs`);
    if (hostLocal) expect(list(scale.hostLocal, 'leaseScale.hostLocal').length).toBe(list(scale.berth, 'leaseScale.berth').length);
    expect(typeof object(shim.peakRss, 'peakRss').method).toBe('string');
    expect(shim.executableBytes).toBeGreaterThan(0);
  });

  it('measures daemon throughput beside the echo server at every concurrency', () => {
    const throughput = object(object(results.sections, 'sections').throughput, 'throughput');
    const levels = list(throughput.levels, 'levels');
    expect(levels.map((level) => object(level, 'level').concurrency)).toEqual([1, 16, 64]);
    for (const level of levels.map((l) => object(l, 'level'))) {
      for (const server of ['echo', 'berth']) {
        const figures = object(level[server], server);
        for (const key of ['callsPerSec', 'pairsPerSec', 'callP50Ms', 'callP99Ms']) expectSummary(figures[key], `${server}.${key}`);
      }
      expectSummary(object(level.ratios, 'ratios').callsPerSecVsEcho, 'callsPerSecVsEcho');
      expect(typeof object(object(level.insideDaemon, 'insideDaemon').allocate, 'allocate').meanMs).toBe('number');
      for (const server of ['echo', 'berth']) {
        const cpu = object(object(level.cpu, 'cpu')[server], `cpu.${server}`);
        for (const key of ['serverCpuUsPerCall', 'clientCpuUsPerCall', 'serverBusy', 'clientBusy']) expect(cpu[key], `cpu.${server}.${key}`).toBeGreaterThan(0);
      }
    }
  });

  it('measures what per-call CPU work costs: echo servers made to work, beside bare echo and berthd', () => {
    const budget = object(object(object(results.sections, 'sections').throughput, 'throughput').budget, 'budget');
    expect(budget.concurrency).toBe(64);
    const rows = list(budget.rows, 'rows').map((row) => object(row, 'row'));
    expect(rows[0]?.name).toBe('echo');
    expect(rows.at(-1)?.name).toBe('berth');
    const busy = rows.filter((row) => typeof row.busyUs === 'number' && row.busyUs > 0);
    expect(busy.map((row) => row.busyUs)).toEqual(expect.arrayContaining([25, 50, 100, budget.berthExcessUs]));
    for (const row of rows) {
      expectSummary(row.callsPerSecVsEcho, `${String(row.name)}.callsPerSecVsEcho`);
      expectSummary(row.p99VsEcho, `${String(row.name)}.p99VsEcho`);
    }
    // The yardstick really works: a server told to add N µs of CPU per call uses at least that much.
    for (const row of busy) expect(object(row.cpu, 'cpu').serverCpuUsPerCall, String(row.name)).toBeGreaterThanOrEqual(row.busyUs as number);
    expect(readFileSync(join(outDir, 'results.md'), 'utf8')).toContain('**What per-call work costs**');
  });

  it('profiles berthd under load, at start and serving the largest database', () => {
    const profiles = object(results.cpuProfiles, 'cpuProfiles');
    expect(Object.keys(profiles).sort()).toEqual(['allocate-5k-c1', 'load-64', 'start-5k']);
    for (const [name, profile] of Object.entries(profiles)) {
      expect(list(object(profile, name).byPackage, `${name}.byPackage`).length, name).toBeGreaterThan(0);
    }
  });

  it('compares cluster-mode ADD with file-mode ADD with no claim during the rounds, and reports the target', () => {
    const add = object(cluster().addVsFile, 'addVsFile');
    expect(add.claimsDuringRounds).toBe(0);
    expect(add.ownedBlocksBefore).toBe(1);
    expect(add.ownedBlocksAfter).toBe(1);
    expectSummary(object(object(add.byCall, 'byCall').ratios, 'byCall.ratios').allocateP50, 'byCall.ratios.allocateP50');
    const cpu = object(object(add.byCall, 'byCall').cpuPerPairUs, 'byCall.cpuPerPairUs');
    expect(typeof cpu.file).toBe('number');
    expect(typeof cpu.cluster).toBe('number');
    for (const level of list(add.levels, 'levels').map((l) => object(l, 'level'))) {
      expectSummary(object(level.ratios, 'ratios').allocateP50, 'ratios.allocateP50');
      expectSummary(object(level.cluster, 'cluster').allocateP50Ms, 'cluster.allocateP50Ms');
    }
    expect(readFileSync(join(outDir, 'results.md'), 'utf8')).toMatch(/\| cluster-mode ADD ≤ 1\.05× file-mode ADD .*\| \*\*(met|not met)\*\* \|/);
  });

  it('every simulated node converged to a block of its own, none orphaned or owned twice', () => {
    const simulation = object(cluster().simulation, 'simulation');
    const storm = object(simulation.storm, 'storm');
    expect(storm.claimed).toBe(storm.nodes);
    expect(storm.blocksInEtcd).toBe(storm.nodes);
    expect(storm.duplicateBlocks).toBe(0);
    expect(storm.orphanBlocks).toBe(0);
    // One block and one usage key per node, and the pool definition.
    expect(storm.keys).toBe(2 * (storm.nodes as number) + 1);
    expect(storm.dbBytes).toBeGreaterThan(0);
    const latency = object(simulation.claimLatency, 'claimLatency');
    expect(typeof latency.p50Ms).toBe('number');
    expect(typeof latency.p99Ms).toBe('number');
  });

  it('counts etcd writes of a real berthd per ADD/DEL cycles: the burst claims and gives back its blocks', () => {
    const [burst, steady] = list(object(cluster().churn, 'churn').patterns, 'patterns').map((p) => object(p, 'pattern'));
    // 100 ADDs at /26 need a second block, which goes back once empty; 30 steady pods need none.
    expect(burst!.claims).toBeGreaterThanOrEqual(1);
    expect(burst!.releases).toBe(burst!.claims);
    expect(burst!.etcdWrites).toBeGreaterThanOrEqual((burst!.claims as number) + (burst!.releases as number));
    expect(steady!.claims).toBe(0);
  });

  it('loads every node of the cluster at once with no error and no block served twice', () => {
    const wide = object(cluster().clusterWide, 'clusterWide');
    expect(wide.errors, String(wide.firstError)).toBe(0);
    expect(wide.nodesServing).toBe(wide.nodes);
    expect(wide.duplicateBlocks).toBe(0);
    expectSummary(wide.callsPerSec, 'clusterWide.callsPerSec');
    expectSummary(wide.callP99Ms, 'clusterWide.callP99Ms');
  });

  it('measures start time, memory and Allocate latency at several lease counts, IPv4 and IPv6', () => {
    const scale = object(object(results.sections, 'sections').scale, 'scale');
    const families = list(scale.families, 'families').map((f) => object(f, 'family'));
    expect(families.map((f) => f.family)).toEqual(['ipv4', 'ipv6']);
    for (const family of families) {
      const sizes = list(family.sizes, 'sizes').map((s) => object(s, 'size'));
      expect(sizes.length).toBe(3);
      for (const size of sizes) {
        for (const key of ['startMs', 'daemonReportedStartMs', 'rssAtStartMb']) expectSummary(size[key], key);
        expectSummary(object(size.client, 'client').allocateP50Ms, 'client.allocateP50Ms');
        expect(typeof size.rssAfterLoadMb).toBe('number');
      }
    }
  });
});

describe('revision comparison (scripts/bench/compareRevision.mjs)', () => {
  it('builds another revision and measures both daemons in the same rounds', async () => {
    const out = mkdtempSync(join(tmpdir(), 'berth-compare-smoke-'));
    try {
      const run = await runBench(['--base', 'HEAD', '--rounds', '1', '--round-ms', '150', '--out', out], 'scripts/bench/compareRevision.mjs');
      expect(run.code, run.output).toBe(0);
      const results = JSON.parse(readFileSync(join(out, 'revision-compare.json'), 'utf8')) as JsonObject;
      const levels = list(results.levels, 'levels').map((level) => object(level, 'level'));
      expect(levels.map((level) => level.concurrency)).toEqual([1, 64]);
      for (const level of levels) {
        expectSummary(object(level.headVsBase, 'headVsBase').callsPerSec, 'headVsBase.callsPerSec');
        expectSummary(object(level.base, 'base').allocateP50Ms, 'base.allocateP50Ms');
      }
      expect(readFileSync(join(out, 'revision-compare.md'), 'utf8')).toMatch(/\| 64 \| \d+/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
