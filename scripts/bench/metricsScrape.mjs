// Reads berthd's Prometheus histograms (GET /metrics) so that latency can also be seen from
// inside the daemon: berth_rpc_duration_seconds and the group-commit batch figures.

export async function scrapeMetrics(url) {
  if (!url) return undefined;
  const response = await fetch(`${url.replace(/\/$/, '').replace(/\/metrics$/, '')}/metrics`);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return parsePrometheus(await response.text());
}

/** name -> array of { labels, value } for every sample line. */
export function parsePrometheus(text) {
  const metrics = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (!metrics.has(match[1])) metrics.set(match[1], []);
    metrics.get(match[1]).push({ labels, value: Number(match[3]) });
  }
  return metrics;
}

/**
 * One histogram between two scrapes, summed over the series whose labels include `match`:
 * count, mean and bucket-interpolated p50/p99, in the histogram's own unit.
 */
export function histogramDelta(before, after, name, match = {}) {
  const select = (metrics, suffix) => (metrics?.get(`${name}${suffix}`) ?? []).filter(({ labels }) =>
    Object.entries(match).every(([key, value]) => labels[key] === value));
  const total = (metrics, suffix) => select(metrics, suffix).reduce((sum, { value }) => sum + value, 0);
  const count = total(after, '_count') - total(before, '_count');
  const sum = total(after, '_sum') - total(before, '_sum');
  if (count <= 0) return { count: 0, mean: null, p50: null, p99: null };
  const buckets = new Map();
  for (const [metrics, sign] of [[after, 1], [before, -1]]) {
    for (const { labels, value } of select(metrics, '_bucket')) buckets.set(labels.le, (buckets.get(labels.le) ?? 0) + sign * value);
  }
  const cumulative = [...buckets].map(([le, n]) => ({ le: le === '+Inf' ? Infinity : Number(le), n })).sort((a, b) => a.le - b.le);
  const quantile = (q) => {
    const rank = q * count;
    let lower = 0;
    let below = 0;
    for (const { le, n } of cumulative) {
      if (n >= rank) return le === Infinity ? lower : lower + (le - lower) * ((rank - below) / Math.max(n - below, 1));
      lower = le;
      below = n;
    }
    return lower;
  };
  return { count, mean: sum / count, p50: quantile(0.5), p99: quantile(0.99) };
}

/** A seconds histogram's figures in milliseconds, rounded. */
export function secondsToMs({ count, mean, p50, p99 }) {
  const ms = (value) => (value === null ? null : Math.round(value * 1e6) / 1e3);
  return { count, meanMs: ms(mean), p50Ms: ms(p50), p99Ms: ms(p99) };
}
