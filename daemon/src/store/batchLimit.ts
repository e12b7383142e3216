// How many requests the next group commit may take. Pure: from the last commit's size and time.
//
// Small batches keep answers flowing: while one batch commits, the client is already working on
// the answers of the one before, instead of both sides taking turns (with 64 requests in flight,
// batches of 16 gave 15% more calls/s than one batch of 64 on this project's 2-core machine).
// But every commit pays a fixed cost, the fsync above all, and on a slow disk that cost has to
// be shared by more requests. So: a commit that took longer than its budget (a fixed part plus a
// part per request) doubles the limit; one well under half its budget halves it.

/** Fixed part of a commit's budget: what a commit of nothing may take before the disk counts as slow. */
export const COMMIT_FIXED_BUDGET_SECONDS = 0.0005;
/** Per-request part of the budget (a request's statements take ~15-30 µs here). */
export const COMMIT_PER_REQUEST_BUDGET_SECONDS = 0.00005;

export function nextBatchLimit(limit: number, committed: number, seconds: number, bounds: { readonly min: number; readonly max: number }): number {
  const budget = COMMIT_FIXED_BUDGET_SECONDS + COMMIT_PER_REQUEST_BUDGET_SECONDS * committed;
  if (seconds > budget) return Math.min(bounds.max, limit * 2);
  if (seconds < budget / 2) return Math.max(bounds.min, Math.floor(limit / 2));
  return limit;
}
