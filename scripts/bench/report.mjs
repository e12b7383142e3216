// results.json -> results.md (the README quotes it; run.mjs also prints it).
import { renderCluster } from './clusterReport.mjs';
import { explainGaps } from './gapAnalysis.mjs';
import { fixed, ms, perSec, ratio, table } from './reportFormat.mjs';
import { evaluateTargets, formatCount } from './targets.mjs';

const mb = (s) => (s?.median == null ? '–' : `${fixed(s.median)} MB (${fixed(s.min)}–${fixed(s.max)})`);
const plainMs = (value) => (value == null ? '–' : `${fixed(value)} ms`);

export function renderMarkdown(results) {
  const m = results.machine;
  const out = [
    '# berth benchmark results',
    '',
    `Measured ${results.date.slice(0, 10)} on ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB RAM, Linux ${m.kernel}, Node ${m.node}` +
      `${m.hostLocal ? `, host-local from containernetworking-plugins ${m.hostLocal}` : ''}. Mode: ${results.mode}; took ${results.durationSeconds} s.` +
      (m.loadAverageAtStart == null ? '' : ` Load average (1 min) ${m.loadAverageAtStart} at the start and ${m.loadAverageAtEnd ?? '–'} at the end: on a busy shared machine read the same-round ratios, not the absolute times.`),
    '',
    `Reproduce: \`npm ci && ${results.command}\`. Every figure is a median with (min–max) over repeated runs; every ratio is the median (min–max) of per-round ratios, both sides measured interleaved in the same run.`,
    '',
  ];
  const targets = evaluateTargets(results);
  out.push('## Targets', '', renderTargets(targets), '');
  const gaps = explainGaps(results, targets);
  if (gaps.length > 0) out.push('**Where the time goes** (the plugin always; the daemon and scale for targets not met)', '', ...gaps, '');
  const { shim, throughput, scale } = results.sections;
  if (shim) out.push(...renderShim(shim));
  if (throughput) out.push(...renderThroughput(throughput));
  if (scale) out.push(...renderScale(scale));
  if (results.sections.backup) out.push(...renderBackup(results.sections.backup));
  if (results.sections.cluster) out.push(...renderCluster(results.sections.cluster));
  out.push(...renderMemory(results.sections));
  if (results.cpuProfiles && Object.keys(results.cpuProfiles).length > 0) out.push(...renderProfiles(results.cpuProfiles));
  out.push(...renderMethod());
  return `${out.join('\n')}\n`;
}

function renderTargets(targets) {
  const verdict = (met) => (met === null ? 'not measured' : met ? '**met**' : '**not met**');
  const value = (t) => (t.value === null ? '–' : t.unit === '×' ? `${t.value.toFixed(2)}×` : `${fixed(t.value)}${t.unit}`);
  return table(['Target', 'Measured', 'Limit', 'Figures', 'Verdict'], targets.map((t) => [t.target, value(t), t.limit, t.figure, verdict(t.met)]));
}

function renderShim(shim) {
  const out = ['## 1. CNI plugin round trip (whole processes)', ''];
  if (!shim.hostLocal.available) out.push(`> ${shim.hostLocal.install}`, '');
  const p = shim.peers;
  out.push(`ADD then DEL of one container, spawn to exit, ${shim.rounds} interleaved rounds; environment: ${shim.environment}. berth = \`dist/berth\` (${fixed(shim.executableBytes / 1e6)} MB, compiled by Bun) against a running berthd; host-local = \`${shim.hostLocal.path}\` with its own dataDir on the same /16; runtime floor = an empty script compiled as dist/berth is (${fixed(shim.runtimeFloorBytes / 1e6)} MB).`, '');
  out.push(table(['Call', 'berth', 'host-local', 'berth / host-local'], [
    ['ADD', ms(p.berthAddMs), ms(p.hostLocalAddMs), ratio(p.ratios.berthAddVsHostLocal)],
    ['DEL', ms(p.berthDelMs), ms(p.hostLocalDelMs), ratio(p.ratios.berthDelVsHostLocal)],
    ['ADD+DEL', ms(p.berthPairMs), ms(p.hostLocalPairMs), ratio(p.ratios.berthPairVsHostLocal)],
    ['VERSION (start-up only: no call)', ms(p.berthVersionMs), ms(p.hostLocalVersionMs), ratio(p.ratios.berthVersionVsHostLocal)],
    ['runtime floor (empty script)', ms(p.runtimeFloorMs), '–', '–'],
  ]), '');
  const scale = shim.leaseScale;
  out.push(`**ADD+DEL as leases grow** (same environment; every size of both plugins in the same rounds; "vs empty" is each plugin's ADD against its own ADD with no leases)`, '');
  const counts = [...new Set([...scale.berth, ...(scale.hostLocal ?? [])].map((s) => s.leases))].sort((a, b) => a - b);
  const cell = (series, n, pick) => { const s = series?.find((x) => x.leases === n); return s ? pick(s) : '–'; };
  out.push(table(['Live leases', 'berth ADD+DEL', 'host-local ADD+DEL', 'berth / host-local', 'berth ADD vs empty', 'host-local ADD vs empty'], counts.map((n) => [
    formatCount(n), cell(scale.berth, n, (s) => ms(s.pairMs)), cell(scale.hostLocal, n, (s) => ms(s.pairMs)), cell(scale.berth, n, (s) => ratio(s.pairVsHostLocal)),
    cell(scale.berth, n, (s) => ratio(s.addVsEmpty)), cell(scale.hostLocal, n, (s) => ratio(s.addVsEmpty)),
  ])), '');
  const rss = shim.peakRss;
  out.push(`**Peak RSS per invocation** (${rss.method})`, '');
  out.push(table(['Process', 'peak RSS'], [
    ['berth ADD', mb(rss.berthAddMb)], ['berth DEL', mb(rss.berthDelMb)], ['berth VERSION', mb(rss.berthVersionMb)],
    ['runtime floor (empty script)', mb(rss.runtimeFloorMb)], ['host-local ADD', mb(rss.hostLocalAddMb)],
  ]), '');
  return out;
}

function renderThroughput(throughput) {
  const out = ['## 2. Daemon throughput and latency (real socket, separate client process)', ''];
  out.push(`Allocate+Release pairs on pool ${throughput.pool.name} (${throughput.pool.subnet}), N calls in flight from one grpc-js client process; ${throughput.rounds} rounds of ${throughput.roundMs} ms per server, echo and berthd alternating. berthd: ${throughput.durability}. The echo server is grpc-js serving the same service with canned replies of the same shape (no IPAM, no disk). Latency is per call (Allocate and Release together).`, '');
  out.push(table(['In flight', 'echo calls/s', 'berthd calls/s', 'berthd / echo', 'echo p50 / p99', 'berthd p50 / p99', 'p99 berthd / echo', 'inside berthd: Allocate mean, commit mean, requests per commit', 'berthd major GC pauses: count, mean'],
    throughput.levels.map((l) => [
      String(l.concurrency), perSec(l.echo.callsPerSec), perSec(l.berth.callsPerSec), ratio(l.ratios.callsPerSecVsEcho),
      `${fixed(l.echo.callP50Ms.median)} / ${fixed(l.echo.callP99Ms.median)} ms`, `${fixed(l.berth.callP50Ms.median)} / ${fixed(l.berth.callP99Ms.median)} ms`,
      ratio(l.ratios.p99VsEcho),
      `${plainMs(l.insideDaemon.allocate.meanMs)}, ${plainMs(l.insideDaemon.commit.meanMs)}, ${l.insideDaemon.meanCommitBatch ?? '–'}`,
      l.insideDaemon.gcMajor ? `${l.insideDaemon.gcMajor.count}, ${l.insideDaemon.gcMajor.meanMs === null ? '–' : plainMs(l.insideDaemon.gcMajor.meanMs)}` : '–',
    ])), '');
  const withCpu = throughput.levels.filter((l) => l.cpu);
  if (withCpu.length > 0) {
    out.push('**Who was busy** (CPU per call, user + system: the server\'s from /proc over its rounds and warm-up, the client\'s from its own process.cpuUsage per round; "busy" is that CPU at the measured rate, 1.00 = one whole core)', '');
    const cell = (perCallUs, busy) => `${perCallUs == null ? '–' : `${Math.round(perCallUs)} µs`}, ${busy == null ? '–' : busy.toFixed(2)}`;
    const server = (side) => cell(side.serverCpuUsPerCall, side.serverBusy);
    const client = (side) => cell(side.clientCpuUsPerCall, side.clientBusy);
    out.push(table(['In flight', 'echo server CPU/call, busy', 'berthd CPU/call, busy', 'client CPU/call with echo, busy', 'client CPU/call with berthd, busy'],
      withCpu.map((l) => [String(l.concurrency), server(l.cpu.echo), server(l.cpu.berth), client(l.cpu.echo), client(l.cpu.berth)])), '');
  }
  const budget = throughput.budget;
  if (budget) {
    out.push(`**What per-call work costs** (${budget.concurrency} in flight, the same client, all rows in the same interleaved rounds; "echo + N µs" is the echo server doing N µs of CPU work per call on its event loop, the calls of one turn in one batch as berthd's group commit runs them, with no I/O and no waiting; ${budget.berthExcessUs} µs is berthd's CPU per call above echo's in the table above)`, '');
    const label = (row) => (row.busyUs === null ? 'berthd' : row.busyUs === 0 ? 'echo' : `echo + ${row.busyUs} µs${row.busyUs === budget.berthExcessUs ? " (berthd's excess)" : ''}`);
    out.push(table(['Server', 'server CPU/call', 'calls/s', 'calls/s vs echo', 'p99', 'p99 vs echo'], budget.rows.map((row) => [
      label(row), `${Math.round(row.cpu.serverCpuUsPerCall)} µs`, perSec(row.callsPerSec), ratio(row.callsPerSecVsEcho), `${fixed(row.callP99Ms.median)} ms`, ratio(row.p99VsEcho),
    ])), '');
  }
  return out;
}

function renderScale(scale) {
  const out = ['## 3. Scale: live leases in an IPv4 /8 and an IPv6 /64', ''];
  out.push(`Each size has its own database, pre-filled directly (${scale.layout}). Start = spawn of \`node dist/berthd.mjs\` to its "daemon.started" log line (the daemon's own startMs in brackets), database in the page cache. Allocate latency from one client at concurrency 1, the sizes alternating round by round; "inside" is the mean of berthd's berth_rpc_duration_seconds for Allocate over the same calls.`, '');
  for (const family of scale.families) {
    out.push(`**${family.family}: pool ${family.pool.name} ${family.pool.subnet}** (${family.rounds} rounds of ${family.pairsPerRound} Allocate+Release)`, '');
    out.push(table(['Live leases', 'start', 'RSS at start', 'Allocate p50', 'Allocate p99', 'p50 vs empty', 'inside berthd (mean)', 'commit (mean)'],
      family.sizes.map((s) => [
        formatCount(s.leases), `${ms(s.startMs)} [${fixed(s.daemonReportedStartMs.median)} ms]`, mb(s.rssAtStartMb),
        ms(s.client.allocateP50Ms), ms(s.client.allocateP99Ms), ratio(s.allocateP50VsEmpty), plainMs(s.insideDaemon.allocate.meanMs), plainMs(s.insideDaemon.commit.meanMs),
      ])), '');
  }
  return out;
}

function renderBackup(backup) {
  return ['## Backup and restore at scale', '',
    `\`berthctl export --output\` of a berthd holding ${formatCount(backup.leases)} leases (ListLeases pages to a ${backup.fileMb} MB file), then \`berthctl import\` of that file into a berthd holding none (ImportLeasesStream, restored in one transaction). Times are whole berthctl processes; RSS is the serving berthd's peak (VmHWM, start-up included). One run each.`, '',
    table(['Step', 'Time', 'berthd peak RSS'], [
      ['export', `${fixed(backup.export.ms / 1000)} s`, `${fixed(backup.export.berthdPeakRssMb)} MB`],
      ['import', `${fixed(backup.import.ms / 1000)} s`, `${fixed(backup.import.berthdPeakRssMb)} MB`],
    ]), '',
    ...(backup.addsDuringImport ? [
      `While the import ran, one ADD every 100 ms in another pool (${backup.addsDuringImport.count} ADDs, ${backup.addsDuringImport.failed} failed): median ${fixed(backup.addsDuringImport.medianMs)} ms, p99 ${fixed(backup.addsDuringImport.p99Ms)} ms, max ${fixed(backup.addsDuringImport.maxMs)} ms. The leases arrive and are staged without holding up writes; the restore itself is one transaction, and writes wait for it (the max).`, '',
    ] : [])];
}

function renderMemory({ shim, scale }) {
  const rows = [];
  for (const family of scale?.families ?? []) {
    for (const s of [family.sizes[0], family.sizes.at(-1)]) {
      rows.push([`berthd, ${formatCount(s.leases)} leases in the ${family.family} pool`, mb(s.rssAtStartMb), `${fixed(s.rssAfterLoadMb)} MB`, `${fixed(s.peakRssMb)} MB`]);
    }
  }
  if (shim?.peakRss?.berthAddMb) rows.push(['berth (CNI plugin) ADD', '–', '–', mb(shim.peakRss.berthAddMb)]);
  if (rows.length === 0) return [];
  return ['## 4. Memory', '', 'berthd: VmRSS from /proc/<pid>/status right after start and after the latency rounds, VmHWM as peak. Plugin: peak RSS of the whole process.', '',
    table(['Process', 'RSS at start', 'RSS after load', 'peak'], rows), ''];
}

function renderProfiles(profiles) {
  const out = ['## Where the time goes (V8 CPU profiles of berthd)', '',
    'From `--cpu-prof`, in a separate pass after the measured sections (no figure above comes from a profiled process). Self time, idle excluded: percentages are shares of busy time.', ''];
  for (const [name, profile] of Object.entries(profiles)) {
    out.push(`**${name}**: ${profile.busyMs} ms busy in ${profile.window} (${profile.files.join(', ')})`, '');
    out.push(table(['Package', 'self ms', '%'], profile.byPackage.map((t) => [t.name, String(t.selfMs), String(t.percent)])), '');
    out.push(table(['Function', 'self ms', '%'], profile.topFunctions.map((t) => [`\`${t.name}\``, String(t.selfMs), String(t.percent)])), '');
  }
  return out;
}

function renderMethod() {
  return ['## How it is measured', '',
    '- Plugins run as a runtime runs them: a fresh process per call, CNI_* in the environment, the config on stdin, timed from spawn to exit by the bench process (its own spawn overhead is in every column alike).',
    '- Plugins get only PATH and CNI_* in their environment, as a CNI runtime passes them (not this shell\'s NODE_EXTRA_CA_CERTS and the like).',
    '- host-local\'s store is pre-filled as host-local writes it (one file per lease plus last_reserved_ip), so a new ADD finds a free address at once and pays only for reading the leases; berth\'s database is pre-filled with SQLite directly, before its daemon starts.',
    '- The load client and the echo server are separate Node processes using @grpc/grpc-js; berthd is durable as shipped (WAL, synchronous=FULL, group commit). Client, server and daemon share the same 2 cores.',
    '- Pre-filled berth leases record no netns path, so the stale-lease cleaner has nothing to probe during the run.',
    ''];
}
