// Where the time goes, in figures from the same run: the plugin always (a decomposition of its
// time), the daemon and scale for targets not met (its own histograms, and the CPU profiles when
// --cpu-prof was given).
import { formatCount } from './targets.mjs';

export function explainGaps(results, targets) {
  const unmet = (prefix) => targets.some((t) => t.met === false && t.target.startsWith(prefix));
  const { shim, throughput, scale } = results.sections;
  const profiles = results.cpuProfiles ?? {};
  const notes = [];
  const f = (value) => (value == null ? '–' : value.toFixed(value < 10 ? 2 : 1));

  if (shim) notes.push(...pluginMilliseconds(shim, throughput));
  if (throughput && (unmet('berthd calls/s') || unmet('berthd p99'))) {
    const level = throughput.levels.at(-1);
    const profile = profiles[`load-${level.concurrency}`];
    const share = (name) => profile?.byPackage.find((p) => p.name.startsWith(name))?.percent ?? 0;
    // better-sqlite3's native work is counted under the berth functions that call it (LeaseStore).
    const storeFunctions = ['transaction ', 'savepoint ', 'insertLease ', 'deleteLease ', 'leasesOfAttachment ', 'setCursor ', 'leaseAt '];
    const storeShare = Math.round((profile?.topFunctions ?? []).filter((t) => storeFunctions.some((fn) => t.name.startsWith(fn)))
      .reduce((sum, t) => sum + t.percent, share('better-sqlite3')) * 10) / 10;
    notes.push(`- **Throughput at ${level.concurrency} in flight**: berthd commits ${level.insideDaemon.meanCommitBatch} requests per transaction in ${f(level.insideDaemon.commit.meanMs)} ms on average; Allocate takes ${f(level.insideDaemon.allocate.meanMs)} ms inside berthd.` +
      (profile ? ` Its CPU profile under this load is busy ${profile.busyMs} ms of ${profile.window}: SQLite ${storeShare}% (LeaseStore's statements and commits, fsync included, synchronously on the event loop: no request is read or answered meanwhile), node core + grpc-js ${Math.round(share('node core') + share('@grpc/grpc-js'))}% (HTTP/2 framing), berth's own code ${Math.round((share('berth') - storeShare + share('better-sqlite3')) * 10) / 10}% besides its SQLite calls. Client, echo server and daemon share 2 cores, so run-to-run spread is wide (see min–max).` : ' Run with --cpu-prof for the profile.')
      + (level.cpu ? ` Who was busy: the client used ${level.cpu.echo.clientBusy} of a core against echo (${Math.round(level.cpu.echo.clientCpuUsPerCall)} µs a call${level.cpu.echo.clientBusy >= 0.8 ? '; it is what limits echo' : ''}) but ${level.cpu.berth.clientBusy} against berthd, while berthd used ${level.cpu.berth.serverBusy} (${Math.round(level.cpu.berth.serverCpuUsPerCall)} µs a call, echo ${Math.round(level.cpu.echo.serverCpuUsPerCall)} µs).` +
        (level.cpu.berth.clientBusy < 0.9 * level.cpu.echo.clientBusy && level.cpu.berth.serverBusy < 0.9
          ? ' Neither side is saturated against berthd: they take turns. berthd answers a batch only once its transaction has committed, so the client gets the answers in bursts and waits between them, while berthd waits for the next burst of requests.'
          : '') : '')
      + workBudgetNote(throughput.budget)
      + (level.insideDaemon.gcMajor ? ` During these rounds berthd paused ${level.insideDaemon.gcMajor.count} times for major garbage collection (mean ${f(level.insideDaemon.gcMajor.meanMs)} ms, ${f(level.insideDaemon.gcMajor.totalMs)} ms in all) and ${level.insideDaemon.gcMinor.count} times for minor (mean ${f(level.insideDaemon.gcMinor.meanMs)} ms): a call in flight during a major pause waits it out, which is what the p99 measures.` : ''));
  }
  for (const family of scale?.families ?? []) {
    if (!unmet('Allocate latency') || !targets.some((t) => t.met === false && t.target.endsWith(family.family) && t.target.startsWith('Allocate'))) continue;
    const empty = family.sizes[0];
    const largest = family.sizes.at(-1);
    notes.push(`- **Allocate at ${formatCount(largest.leases)} leases (${family.family})**: inside berthd ${f(empty.insideDaemon.allocate.meanMs)} → ${f(largest.insideDaemon.allocate.meanMs)} ms, of which the commit (the transaction including the allocation work) ${f(empty.insideDaemon.commit.meanMs)} → ${f(largest.insideDaemon.commit.meanMs)} ms.`);
  }
  const scaleProfile = Object.entries(profiles).find(([name]) => name.startsWith('allocate-'));
  if (scaleProfile && unmet('Allocate latency')) {
    const [name, profile] = scaleProfile;
    const own = profile.topFunctions.filter((t) => t.name.includes('dist/berthd.mjs')).slice(0, 3);
    const sqlite = profile.byPackage.find((p) => p.name === 'better-sqlite3')?.percent ?? 0;
    const indexBound = ['add', 'delete'].every((fn) => own.some((t) => t.name.startsWith(`${fn} `)));
    notes.push(`- Profile \`${name}\` (IPv4, ${profile.window}, ${profile.busyMs} ms busy): berth's own ${own.map((t) => `\`${t.name.split(' ')[0]}\` ${t.percent}%`).join(', ')}; better-sqlite3 ${sqlite}%.` +
      (indexBound ? ' `add` and `delete` are the held-address index (daemon/src/allocator/takenAddressSet.ts): it keeps held runs in two sorted arrays and inserts/removes with Array.splice, O(runs) per change, and this layout has one run per lease. A structure with O(log n) changes (a balanced tree, or chunked sorted arrays) would remove the growth.' : ''));
  }
  return notes;
}

/**
 * What the echo servers doing extra CPU work per call say about berthd's gap: the calls/s ratio
 * pure CPU work reaches at berthd's CPU per call, and the CPU per call at which 0.9x is crossed.
 */
function workBudgetNote(budget) {
  if (!budget) return '';
  const berth = budget.rows.find((row) => row.busyUs === null);
  const echo = budget.rows.find((row) => row.busyUs === 0);
  const curve = budget.rows.filter((row) => row.busyUs !== null)
    .map((row) => [row.cpu.serverCpuUsPerCall, row.callsPerSecVsEcho.median]).sort((x, y) => x[0] - y[0]);
  const pure = valueAt(curve, berth.cpu.serverCpuUsPerCall);
  const crossing = crossingAt(curve, 0.9);
  const us = (value) => `${Math.round(value)} µs`;
  return ` Against echo servers made to use more CPU per call (table "What per-call work costs", same rounds): ` +
    (pure === undefined ? `berthd's ${us(berth.cpu.serverCpuUsPerCall)} a call lies outside their range` :
      `pure CPU work at berthd's ${us(berth.cpu.serverCpuUsPerCall)} a call reaches ${pure.toFixed(2)}× echo, berthd ${berth.callsPerSecVsEcho.median.toFixed(2)}×` +
      (Math.abs(pure - berth.callsPerSecVsEcho.median) <= 0.1 ? ', so berthd\'s gap is the CPU it uses per call, not waiting for the disk' : '')) +
    (crossing === undefined ? '.' : `. 0.9× echo is crossed at about ${us(crossing)} of server CPU per call, ${us(crossing - echo.cpu.serverCpuUsPerCall)} more than the bare echo's: that is all the work per call the target leaves on this machine, where the client needs most of one of the two cores.`);
}

/** y at x by linear interpolation between the points (sorted by x) around it; undefined outside them. */
function valueAt(points, x) {
  for (let i = 1; i < points.length; i++) {
    const [[x0, y0], [x1, y1]] = [points[i - 1], points[i]];
    if (x >= x0 && x <= x1) return x1 === x0 ? y0 : y0 + ((y1 - y0) * (x - x0)) / (x1 - x0);
  }
  return undefined;
}

/** The first x (interpolated) where y falls below `level`; undefined if it never does. */
function crossingAt(points, level) {
  for (let i = 1; i < points.length; i++) {
    const [[x0, y0], [x1, y1]] = [points[i - 1], points[i]];
    if (y0 >= level && y1 < level) return x0 + ((x1 - x0) * (y0 - level)) / (y0 - y1);
  }
  return undefined;
}

/** Where the plugin's time goes, by difference between processes measured in the same rounds. */
function pluginMilliseconds(shim, throughput) {
  const f = (value) => (value == null ? '–' : value.toFixed(value < 10 ? 2 : 1));
  const p = shim.peers;
  const inside = throughput?.levels[0]?.insideDaemon?.allocate?.meanMs;
  const floor = p.runtimeFloorMs.median;
  const version = p.berthVersionMs.median;
  const add = p.berthAddMs.median;
  const notes = [`- **Plugin, where each millisecond of an ADD goes** (medians of the same rounds): the runtime itself starts and exits in ${f(floor)} ms (an empty script compiled as dist/berth is: process creation, mapping the ${f(shim.runtimeFloorBytes / 1e6)} MB executable, JavaScriptCore and Bun start-up); berth's own start-up (its ~50 KB bundle's precompiled bytecode and module set-up, binding libc through bun:ffi for stdin, stdout and the socket, reading stdin, printing) adds ${f(version - floor)} ms (VERSION: ${f(version)} ms); the call adds ${f(add - version)} ms (ADD: ${f(add)} ms): checking the CNI environment and config, connecting to the socket and one HTTP/2 exchange in blocking libc calls, encoding and decoding in JavaScriptCore's interpreter (the JIT is held off: a plugin process runs each function a few times), and berthd's answer${inside == null ? '' : `, of which berthd's own Allocate is ${f(inside)} ms (its histogram at concurrency 1 in section 2)`}. On this machine a good part of every column is the kernel mapping pages (each page a process touches for the first time costs a fault), so the memory below and these times move together.`];
  if (p.hostLocalVersionMs) notes.push(`- host-local for comparison: VERSION ${f(p.hostLocalVersionMs.median)} ms, ADD ${f(p.hostLocalAddMs.median)} ms: a Go binary of a few MB starts in a fraction of the JavaScript runtime's floor, which is the largest single part of the gap at an empty store. berth's call also waits for berthd's fsync (a lease is on disk before ADD answers); host-local does not sync its lease file.`);
  const rss = shim.peakRss;
  if (rss.runtimeFloorMb && rss.berthVersionMb && rss.berthAddMb) {
    notes.push(`- **Plugin memory**: the runtime alone peaks at ${f(rss.runtimeFloorMb.median)} MB (JavaScriptCore's heap and JIT reservations, Bun's own start-up, the mapped executable's touched pages); berth's start-up brings VERSION to ${f(rss.berthVersionMb.median)} MB, and the call brings ADD to ${f(rss.berthAddMb.median)} MB (the field checks, the HTTP/2, HPACK and protobuf code's first run, the request's and response's buffers). Of berth's start-up, loading bun:ffi is ~3 MB; node:fs and Bun.connect, which it replaces, cost more; each regular expression JavaScriptCore compiles costs ~0.3 MB, so the plugin's path has none.`);
  }
  return notes;
}
