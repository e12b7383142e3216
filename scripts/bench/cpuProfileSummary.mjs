// Where berthd's time goes: self time per function and per package from V8 .cpuprofile files
// (node --cpu-prof). Idle time is left out, so percentages are shares of busy time. A window
// (monotonic-clock µs, as process.hrtime.bigint() / 1000n reads it in any process on the host)
// keeps only the samples taken while the load ran, leaving out start-up and shutdown.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { REPO_ROOT } from './paths.mjs';

/** For each sub-directory of `dir` (one per profiled run): top functions and packages by self time. */
export function summarizeCpuProfiles(dir, windows = {}, top = 12) {
  if (!existsSync(dir)) return {};
  const result = {};
  for (const name of readdirSync(dir)) {
    const files = readdirSync(join(dir, name)).filter((file) => file.endsWith('.cpuprofile'));
    if (files.length === 0) continue;
    const samples = files.flatMap((file) => selfTimes(join(dir, name, file), windows[name]));
    result[name] = {
      files: files.map((file) => `${basename(dir)}/${name}/${file}`),
      window: windows[name] ? `${Math.round((windows[name].toUs - windows[name].fromUs) / 1000)} ms of load` : 'whole process',
      busyMs: Math.round(samples.reduce((sum, s) => sum + s.us, 0) / 1000),
      topFunctions: rank(samples, (s) => s.fn, top),
      byPackage: rank(samples, (s) => s.pkg, top),
    };
  }
  return result;
}

/** One entry per sample: who was on the CPU and for how long (µs). */
function selfTimes(path, window) {
  const profile = JSON.parse(readFileSync(path, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const out = [];
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    const frame = byId.get(id);
    if (frame.functionName === '(idle)' || (window && (at < window.fromUs || at > window.toUs))) return;
    const url = frame.url.replace(/^file:\/\//, '').replace(`${REPO_ROOT}/`, '');
    out.push({ us: profile.timeDeltas[i] ?? 0, fn: `${frame.functionName || '(anonymous)'}${url ? ` ${url}:${frame.lineNumber + 1}` : ''}`, pkg: packageOf(url, frame.functionName) });
  });
  return out;
}

function packageOf(url, functionName) {
  const module = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (module) return module[1];
  if (url.startsWith('dist/')) return `berth (${url})`;
  if (url.startsWith('node:')) return 'node core (JS)';
  if (functionName.startsWith('(')) return functionName;
  return 'native (V8 builtins, bindings, syscalls)';
}

function rank(samples, keyOf, top) {
  const totals = new Map();
  let all = 0;
  for (const sample of samples) {
    const key = keyOf(sample);
    totals.set(key, (totals.get(key) ?? 0) + sample.us);
    all += sample.us;
  }
  return [...totals].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([name, us]) => ({ name, selfMs: Math.round(us / 1000), percent: Math.round((1000 * us) / all) / 10 }));
}
