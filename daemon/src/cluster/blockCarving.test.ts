import { describe, expect, it } from 'vitest';
import { formatCidr, parseCidr } from '../ip/address.ts';
import { BlockCandidates } from './blockCarving.ts';
import { carvePool } from './poolDefinition.ts';

const text = (c: { network: bigint; prefixLength: number; family: 4 | 6 }) => formatCidr(c.network, c.prefixLength, c.family);

describe('BlockCandidates', () => {
  it.each([
    { subnet: '10.0.0.0/24', blockSize: 26, exclude: [], total: 4n },
    { subnet: '10.0.0.0/24', blockSize: 26, exclude: ['10.0.0.0/26'], total: 3n },
    // Two exclusions that only together cover a block remove it; a partial exclusion does not.
    { subnet: '10.0.0.0/24', blockSize: 26, exclude: ['10.0.0.0/27', '10.0.0.32/27', '10.0.0.200'], total: 3n },
    { subnet: '10.0.0.0/16', blockSize: 26, exclude: ['10.0.128.0/17'], total: 512n },
    { subnet: '10.0.0.0/8', blockSize: 8, exclude: [], total: 1n },
    { subnet: 'fd00::/64', blockSize: 122, exclude: [], total: 1n << 58n },
    { subnet: 'fd00::/64', blockSize: 122, exclude: ['fd00::/65'], total: 1n << 57n },
  ])('$subnet in /$blockSize without $exclude: $total blocks', ({ subnet, blockSize, exclude, total }) => {
    const candidates = new BlockCandidates(carvePool({ name: 'p', subnet, blockSize, exclude }), []);
    expect(candidates.totalBlocks).toBe(total);
    expect(candidates.freeCount).toBe(total);
  });

  it('visits every free block exactly once, never an excluded or taken one', () => {
    const pool = carvePool({ name: 'p', subnet: '10.0.0.0/22', blockSize: 27, exclude: ['10.0.1.0/25', '10.0.3.224/27'] });
    const taken = ['10.0.0.0/27', '10.0.2.64/27'].map((c) => parseCidr(c).network);
    const candidates = new BlockCandidates(pool, taken);
    const seen = [...candidates.order('node-a')].map(text);
    expect(seen).toHaveLength(32 - 4 - 1 - 2);
    expect(new Set(seen).size).toBe(seen.length);
    for (const gone of ['10.0.1.0/27', '10.0.1.32/27', '10.0.1.64/27', '10.0.1.96/27', '10.0.3.224/27', '10.0.0.0/27', '10.0.2.64/27']) expect(seen).not.toContain(gone);
  });

  it('nodes start at different blocks; one node always walks the same order', () => {
    const pool = carvePool({ name: 'p', subnet: '10.0.0.0/16', blockSize: 26, exclude: [] });
    const candidates = new BlockCandidates(pool, []);
    const firsts = new Set(Array.from({ length: 100 }, (_, i) => text(candidates.order(`node-${i}`).next().value!)));
    expect(firsts.size).toBeGreaterThan(90);
    const again = new BlockCandidates(pool, []);
    expect(text(again.order('node-7').next().value!)).toBe(text(candidates.order('node-7').next().value!));
  });

  it('IPv6 /64 in /122 with a taken block: picks without iterating the 2^58 blocks', () => {
    const pool = carvePool({ name: 'p', subnet: 'fd00:1::/64', blockSize: 122, exclude: [] });
    const taken = [parseCidr('fd00:1::40/122').network];
    const candidates = new BlockCandidates(pool, taken);
    expect(candidates.freeCount).toBe((1n << 58n) - 1n);
    const order = candidates.order('node');
    const picks = [order.next().value!, order.next().value!, order.next().value!].map(text);
    expect(new Set(picks).size).toBe(3);
    for (const pick of picks) expect(pick).toMatch(/^fd00:1::[0-9a-f:]+\/122$|^fd00:1::\/122$/);
    expect(picks).not.toContain('fd00:1::40/122');
  });

  it('no free block: the order is empty', () => {
    const pool = carvePool({ name: 'p', subnet: '10.0.0.0/25', blockSize: 26, exclude: [] });
    const candidates = new BlockCandidates(pool, [parseCidr('10.0.0.0/26').network, parseCidr('10.0.0.64/26').network]);
    expect(candidates.freeCount).toBe(0n);
    expect([...candidates.order('n')]).toEqual([]);
  });
});

describe('carvePool', () => {
  it('canonicalises: equal definitions written differently have one hash', () => {
    const a = carvePool({ name: 'p', subnet: '10.0.0.0/16', blockSize: 26, exclude: ['10.0.1.0/24', '10.0.0.5'], settings: { b: 1, a: [{ y: 2, x: 1 }] } });
    const b = carvePool({ name: 'p', subnet: '10.0.0.0/16', blockSize: 26, exclude: ['10.0.0.5/32', '10.0.1.0/24'], settings: { a: [{ x: 1, y: 2 }], b: 1 } });
    expect(a.canonical).toBe(b.canonical);
    expect(a.hash).toBe(b.hash);
    expect(carvePool({ name: 'p', subnet: '10.0.0.0/16', blockSize: 27, exclude: [] }).hash).not.toBe(a.hash);
  });

  it.each([
    [{ name: 'Bad', subnet: '10.0.0.0/16', blockSize: 26, exclude: [] }, 'clusterPools[Bad].name'],
    [{ name: 'p', subnet: '10.0.0.1/16', blockSize: 26, exclude: [] }, 'clusterPools[p].subnet: 10.0.0.1/16 has host bits set'],
    [{ name: 'p', subnet: '10.0.0.0/16', blockSize: 12, exclude: [] }, 'clusterPools[p].blockSize: 12 must be a prefix length from 16 to 32'],
    [{ name: 'p', subnet: '10.0.0.0/16', blockSize: 26, exclude: ['fd00::1'] }, 'clusterPools[p].exclude[0]: fd00::1 is not of the subnet\'s IP family'],
    [{ name: 'p', subnet: '10.0.0.0/16', blockSize: 26, exclude: ['10.0.0.1', '10.9.0.0/24'] }, 'clusterPools[p].exclude[1]: 10.9.0.0/24 is outside subnet'],
  ])('refuses %j naming the field', (definition, message) => {
    expect(() => carvePool(definition)).toThrow(message);
  });
});
