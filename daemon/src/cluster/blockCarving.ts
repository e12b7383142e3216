// Which blocks of a pool a node may claim, and in which order. Pure bigint arithmetic on block
// indexes (never on addresses): a /64 carved into /122 blocks has 2^58 of them, so free space is
// kept as intervals and the per-node order is an affine permutation computed on demand.
import { createHash } from 'node:crypto';
import { familyBits, type Cidr } from '../ip/address.ts';
import { mergeIntervals, type CarvedPool } from './poolDefinition.ts';

interface IndexInterval { start: bigint; end: bigint }

export class BlockCandidates {
  /** Blocks in the subnet that are not wholly excluded. */
  readonly totalBlocks: bigint;
  /** Of those, the ones not in `taken`. */
  readonly freeCount: bigint;
  private readonly free: IndexInterval[];
  /** Free blocks before free[i] (for the k-th free block lookup). */
  private readonly before: bigint[];
  private readonly blockBits: bigint;

  /** `taken`: network addresses of blocks some node owns (other sizes and foreign values are ignored by the caller). */
  constructor(readonly pool: CarvedPool, taken: Iterable<bigint>) {
    const { subnet, blockSize } = pool;
    this.blockBits = BigInt(familyBits(subnet.family) - blockSize);
    const blockCount = 1n << BigInt(blockSize - subnet.prefixLength);
    const removed: IndexInterval[] = [];
    for (const { start, end } of pool.excluded) {
      const first = ceilDiv(start - subnet.network, 1n << this.blockBits);
      const last = ((end - subnet.network + 1n) >> this.blockBits) - 1n;
      if (first <= last) removed.push({ start: first, end: last });
    }
    const excludedBlocks = mergeIntervals(removed).reduce((sum, r) => sum + r.end - r.start + 1n, 0n);
    for (const network of taken) {
      const offset = network - subnet.network;
      if (offset < 0n || offset >> this.blockBits >= blockCount) continue;
      removed.push({ start: offset >> this.blockBits, end: offset >> this.blockBits });
    }
    this.free = complement(mergeIntervals(removed), blockCount);
    this.before = [];
    let count = 0n;
    for (const interval of this.free) {
      this.before.push(count);
      count += interval.end - interval.start + 1n;
    }
    this.totalBlocks = blockCount - excludedBlocks;
    this.freeCount = count;
  }

  /** The k-th free block (0-based, in address order). */
  freeBlock(k: bigint): Cidr {
    let lo = 0;
    let hi = this.free.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.before[mid]! <= k) lo = mid; else hi = mid - 1;
    }
    const index = this.free[lo]!.start + (k - this.before[lo]!);
    const network = this.pool.subnet.network + (index << this.blockBits);
    return { family: this.pool.subnet.family, network, prefixLength: this.pool.blockSize, address: network };
  }

  /**
   * Every free block once, in an order seeded by the node name: nodes starting together try
   * different blocks first, and a retry on the same node walks the same sequence.
   */
  *order(node: string): Generator<Cidr> {
    const n = this.freeCount;
    if (n === 0n) return;
    const digest = createHash('sha256').update(`${node}\0${this.pool.name}`).digest();
    const start = digest.readBigUInt64BE(0) % n;
    let step = (digest.readBigUInt64BE(8) % n) | 1n;
    while (gcd(step, n) !== 1n) step += 1n;
    for (let i = 0n; i < n; i++) yield this.freeBlock((start + i * step) % n);
  }
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return a <= 0n ? 0n : (a + b - 1n) / b;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

function complement(removed: readonly IndexInterval[], count: bigint): IndexInterval[] {
  const free: IndexInterval[] = [];
  let next = 0n;
  for (const r of removed) {
    if (r.start > next) free.push({ start: next, end: r.start - 1n });
    if (r.end + 1n > next) next = r.end + 1n;
  }
  if (next < count) free.push({ start: next, end: count - 1n });
  return free;
}
