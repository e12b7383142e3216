import { describe, expect, it } from 'vitest';
import { nextBatchLimit } from './batchLimit.ts';

const bounds = { min: 16, max: 512 };
const ms = (value: number) => value / 1000;

describe('nextBatchLimit', () => {
  it.each([
    ['a fast commit keeps the smallest batches', 16, 16, ms(0.4), 16],
    ['a fast big commit shrinks the limit', 512, 64, ms(1.05), 256],
    ['never below the minimum', 16, 3, ms(0.1), 16],
    ['a slow disk (5 ms fsync) doubles it', 16, 16, ms(5.3), 32],
    ['up to the maximum', 512, 512, ms(40), 512],
    ['within its budget, it stays', 64, 64, ms(3), 64],
  ] as const)('%s', (_name, limit, committed, seconds, want) => {
    expect(nextBatchLimit(limit, committed, seconds, bounds)).toBe(want);
  });

  it('settles where a slow disk\'s fixed cost is shared, and back at the minimum on a fast one', () => {
    const settle = (fixedMs: number, perRequestMs: number) => {
      let limit = 16;
      // Always more waiting than the limit: each commit takes a full batch.
      for (let i = 0; i < 20; i++) limit = nextBatchLimit(limit, limit, ms(fixedMs + perRequestMs * limit), bounds);
      return limit;
    };
    expect(settle(5, 0.015)).toBe(256);
    expect(settle(0.15, 0.016)).toBe(16);
  });
});
