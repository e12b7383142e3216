#!/usr/bin/env node
// `npm run bench`: measures berth against host-local, the Node floor and a plain grpc-js
// server, then writes <out>/results.json and <out>/results.md and prints the tables.
// Installs nothing; a missing host-local only drops its columns.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseBenchArgs, SECTIONS } from './benchProfile.mjs';
import { writeBenchConfig } from './berthdProcess.mjs';
import { profileDaemon } from './cpuProfilePass.mjs';
import { benchDaemonThroughput } from './daemonThroughput.mjs';
import { createTemplateDb } from './leaseDbFill.mjs';
import { describeMachine } from './machine.mjs';
import { DIST, REPO_ROOT, SHIM } from './paths.mjs';
import { renderMarkdown } from './report.mjs';
import { benchScale } from './scaleLatency.mjs';
import { benchShimRoundTrip } from './shimRoundTrip.mjs';
import { benchBackup } from './backupScale.mjs';
import { benchCluster } from './clusterBench.mjs';

async function main() {
  const options = parseBenchArgs(process.argv.slice(2));
  if (options.help) {
    process.stdout.write(`${options.help}\n`);
    return;
  }
  const outDir = resolve(options.out ?? join(REPO_ROOT, 'bench'));
  const log = (message) => process.stderr.write(`bench: ${message}\n`);
  const missing = [join(DIST, 'berthd.mjs'), ...(options.sections.includes('shim') ? [SHIM] : [])].filter((path) => !existsSync(path));
  if (missing.length > 0) throw new Error(`not built: ${missing.join(', ')}; run \`node scripts/build.mjs\` (or \`npm run bench\`, which builds first)`);

  const workDir = mkdtempSync(join(tmpdir(), 'berth-bench-'));
  const profileDir = join(outDir, 'profiles');
  const started = Date.now();
  try {
    const configPath = join(workDir, 'pools.yaml');
    writeBenchConfig(configPath);
    const templateDb = await createTemplateDb(workDir, configPath);
    const context = { workDir, templateDb, configPath, profile: options.profile, log };

    const results = { mode: options.mode, command: commandLine(options), date: new Date().toISOString(), machine: describeMachine(), sections: {} };
    if (options.sections.includes('shim')) results.sections.shim = await benchShimRoundTrip(context);
    if (options.sections.includes('throughput')) results.sections.throughput = await benchDaemonThroughput(context);
    if (options.sections.includes('scale')) results.sections.scale = await benchScale(context);
    if (options.sections.includes('backup')) results.sections.backup = await benchBackup(context);
    if (options.sections.includes('cluster')) results.sections.cluster = await benchCluster(context);
    if (options.cpuProf) {
      rmSync(profileDir, { recursive: true, force: true });
      results.cpuProfiles = await profileDaemon({ ...context, profileDir });
    }
    results.durationSeconds = Math.round((Date.now() - started) / 1000);
    results.machine.loadAverageAtEnd = Math.round(loadavg()[0] * 10) / 10;

    mkdirSync(outDir, { recursive: true });
    const markdown = renderMarkdown(results);
    writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(outDir, 'results.md'), markdown);
    process.stdout.write(`${markdown}\nbench: wrote ${join(outDir, 'results.json')} and ${join(outDir, 'results.md')} (${results.durationSeconds} s)\n`);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

function commandLine(options) {
  const args = [options.mode === 'default' ? '' : `--${options.mode}`, options.cpuProf ? '--cpu-prof' : '',
    options.sections.length === SECTIONS.length ? '' : `--sections ${options.sections.join(',')}`].filter(Boolean);
  return args.length === 0 ? 'npm run bench' : `npm run bench -- ${args.join(' ')}`;
}

main().catch((error) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
