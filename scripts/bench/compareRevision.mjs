#!/usr/bin/env node
// `node scripts/bench/compareRevision.mjs --base <git revision> [--rounds N] [--round-ms MS]`:
// the plain Allocate+Release path of this checkout's berthd against the same path of berthd
// built from another revision, both measured by one load client in the same interleaved rounds
// (so machine noise hits both alike). Answers "did this change slow the plain ADD path?".
// Writes <out>/revision-compare.{json,md} (default out: bench/).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_POOLS, BERTHD, startBerthd, writeBenchConfig } from './berthdProcess.mjs';
import { runLoadClient } from './loadRun.mjs';
import { histogramDelta, scrapeMetrics, secondsToMs } from './metricsScrape.mjs';
import { describeMachine } from './machine.mjs';
import { REPO_ROOT } from './paths.mjs';
import { pairedRatio } from './stats.mjs';
import { summarizeRounds } from './daemonThroughput.mjs';

function parseArgs(argv) {
  const options = { base: undefined, rounds: 7, roundMs: 2000, concurrency: [1, 64], out: join(REPO_ROOT, 'bench') };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--base') options.base = argv[++i];
    else if (arg === '--rounds') options.rounds = Number(argv[++i]);
    else if (arg === '--round-ms') options.roundMs = Number(argv[++i]);
    else if (arg === '--out') options.out = argv[++i];
    else throw new Error(`unknown argument ${arg}; usage: compareRevision.mjs --base <revision> [--rounds N] [--round-ms MS] [--out DIR]`);
  }
  if (!options.base) throw new Error('--base <git revision> is required');
  return options;
}

/**
 * What must be undone if this script is interrupted (Ctrl-C, SIGTERM): the daemons it started and
 * the base worktree. `finally` blocks do not run when a signal ends the process; these do.
 */
const undoOnInterrupt = new Set();
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, async () => {
    process.stderr.write(`compare: ${signal}: stopping the daemons and removing the base worktree\n`);
    for (const undo of [...undoOnInterrupt].reverse()) await Promise.resolve().then(undo).catch(() => undefined);
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
  });
}
// A reader that went away (`| head`) must not end the script with its daemons still running.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const log = (message) => process.stderr.write(`compare: ${message}\n`);
  if (!existsSync(BERTHD)) throw new Error('not built: run `node scripts/build.mjs --js` first');
  const baseCommit = execFileSync('git', ['rev-parse', '--short', options.base], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  const headCommit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  const workDir = mkdtempSync(join(tmpdir(), 'berth-compare-'));
  const baseTree = join(workDir, 'base');
  const removeWorkDir = () => {
    try { execFileSync('git', ['worktree', 'remove', '--force', baseTree], { cwd: REPO_ROOT, stdio: 'ignore' }); } catch { /* already gone */ }
    rmSync(workDir, { recursive: true, force: true });
  };
  undoOnInterrupt.add(removeWorkDir);
  try {
    log(`building berthd at ${baseCommit} in ${baseTree}`);
    execFileSync('git', ['worktree', 'add', '--detach', baseTree, baseCommit], { cwd: REPO_ROOT, stdio: 'ignore' });
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(baseTree, 'node_modules'));
    execFileSync(process.execPath, ['scripts/build.mjs', '--js'], { cwd: baseTree, stdio: 'ignore' });

    const configPath = join(workDir, 'pools.yaml');
    writeBenchConfig(configPath);
    const start = (name, berthdPath) => {
      const dir = join(workDir, name);
      mkdirSync(dir, { recursive: true });
      return startBerthd({ dir, socketPath: join(dir, 'berthd.sock'), dbPath: join(dir, 'leases.db'), configPath, berthdPath }).then((daemon) => {
        undoOnInterrupt.add(daemon.stop);
        return daemon;
      });
    };
    const base = await start('base-run', join(baseTree, 'dist', 'berthd.mjs'));
    let head;
    const levels = [];
    try {
      head = await start('head-run', BERTHD);
      for (const concurrency of options.concurrency) {
        log(`concurrency ${concurrency}: ${options.rounds} rounds of ${options.roundMs} ms per daemon, interleaved`);
        const before = await Promise.all([scrapeMetrics(base.metricsUrl), scrapeMetrics(head.metricsUrl)]);
        const rounds = await runLoadClient({
          targets: [{ name: 'base', socket: base.socketPath }, { name: 'head', socket: head.socketPath }],
          concurrency, rounds: options.rounds, roundMs: options.roundMs, warmupMs: 1000, pool: BENCH_POOLS.v4.name,
        });
        const after = await Promise.all([scrapeMetrics(base.metricsUrl), scrapeMetrics(head.metricsUrl)]);
        const inside = (i) => secondsToMs(histogramDelta(before[i], after[i], 'berth_rpc_duration_seconds', { method: 'Allocate' }));
        levels.push({
          concurrency,
          base: summarizeRounds(rounds.base),
          head: summarizeRounds(rounds.head),
          headVsBase: {
            callsPerSec: pairedRatio(rounds.head.map((r) => r.callsPerSec), rounds.base.map((r) => r.callsPerSec)),
            allocateP50: pairedRatio(rounds.head.map((r) => r.allocateMs.p50), rounds.base.map((r) => r.allocateMs.p50)),
            allocateP99: pairedRatio(rounds.head.map((r) => r.allocateMs.p99), rounds.base.map((r) => r.allocateMs.p99)),
          },
          allocateInsideMs: { base: inside(0), head: inside(1) },
        });
      }
    } finally {
      // Also when the head daemon failed to start: the base one must not outlive this script.
      await Promise.all([base.stop(), head?.stop()]);
    }
    const results = { date: new Date().toISOString(), machine: describeMachine(), base: baseCommit, head: headCommit, rounds: options.rounds, roundMs: options.roundMs, levels };
    const outDir = options.out;
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'revision-compare.json'), `${JSON.stringify(results, null, 2)}\n`);
    const markdown = render(results);
    writeFileSync(join(outDir, 'revision-compare.md'), markdown);
    process.stdout.write(markdown);
  } finally {
    removeWorkDir();
    undoOnInterrupt.delete(removeWorkDir);
  }
}

function render(results) {
  const fmt = (s) => `${s.median.toFixed(s.median < 10 ? 2 : 0)} (${s.min.toFixed(s.min < 10 ? 2 : 0)}–${s.max.toFixed(s.max < 10 ? 2 : 0)})`;
  const ratio = (r) => `${r.median.toFixed(2)}× (${r.min.toFixed(2)}–${r.max.toFixed(2)})`;
  const lines = [
    `# berthd ${results.head} against ${results.base}: the plain Allocate+Release path`,
    '',
    `Measured ${results.date.slice(0, 10)} on ${results.machine.cpu ?? 'this machine'}; ${results.rounds} interleaved rounds of ${results.roundMs} ms per daemon, one load client, fresh databases, pool bench-v4 (10.0.0.0/8, round-robin, no new features configured).`,
    `Reproduce: \`node scripts/build.mjs --js && node scripts/bench/compareRevision.mjs --base ${results.base}\`.`,
    '',
    '| In flight | calls/s base | calls/s head | head / base | Allocate p50 base → head (ms) | head / base | Allocate p99 base → head (ms) | head / base | inside berthd: Allocate mean base → head |',
    '|---|---|---|---|---|---|---|---|---|',
    ...results.levels.map((level) => `| ${level.concurrency} | ${fmt(level.base.callsPerSec)} | ${fmt(level.head.callsPerSec)} | ${ratio(level.headVsBase.callsPerSec)} | ${fmt(level.base.allocateP50Ms)} → ${fmt(level.head.allocateP50Ms)} | ${ratio(level.headVsBase.allocateP50)} | ${fmt(level.base.allocateP99Ms)} → ${fmt(level.head.allocateP99Ms)} | ${ratio(level.headVsBase.allocateP99)} | ${level.allocateInsideMs.base.meanMs ?? "–"} → ${level.allocateInsideMs.head.meanMs ?? "–"} ms |`),
    '',
  ];
  return `${lines.join('\n')}\n`;
}

main().catch((error) => {
  process.stderr.write(`compare: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
