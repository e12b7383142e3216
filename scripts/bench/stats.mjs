// Summaries used by every section: medians with min/max over repeated runs, percentiles, ratios.

/** Median, min and max of a list of numbers (n = how many runs they summarise). */
export function summarize(values) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return { median: null, min: null, max: null, n: 0 };
  return { median: round(percentileOfSorted(sorted, 50)), min: round(sorted[0]), max: round(sorted[sorted.length - 1]), n: sorted.length };
}

/** p-th percentile (nearest rank, interpolated) of unsorted values. */
export function percentile(values, p) {
  return percentileOfSorted([...values].sort((a, b) => a - b), p);
}

function percentileOfSorted(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
}

/**
 * Ratio of two summaries: the median of per-round ratios when both were measured in the same
 * rounds (paired), which cancels drift in machine load; min/max are over those rounds.
 */
export function pairedRatio(numerators, denominators) {
  const n = Math.min(numerators.length, denominators.length);
  const ratios = [];
  for (let i = 0; i < n; i++) if (denominators[i] > 0) ratios.push(numerators[i] / denominators[i]);
  return summarize(ratios);
}

/** Ratio of two medians, for figures that were not measured in matching rounds. */
export function ratioOfMedians(numerator, denominator) {
  if (numerator?.median == null || !denominator?.median) return null;
  return round(numerator.median / denominator.median);
}

export function round(value, digits = 3) {
  if (!Number.isFinite(value)) return null;
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Milliseconds since an hrtime.bigint() reading. */
export function msSince(startNs) {
  return Number(process.hrtime.bigint() - startNs) / 1e6;
}
