// `npx vitest bench daemon/src/allocator`: the cost of one pick (plus the add and delete it
// causes) for each strategy, with no leases and with a million (one every other address, one
// held run per lease: the worst layout), in an IPv4 /8 and an IPv6 /64.
import { bench, describe } from 'vitest';
import type { AddressStrategy } from '../config/types.ts';
import { pickAddress, type RandomBelow } from './pickAddress.ts';
import { TakenAddressSet } from './takenAddressSet.ts';

let seed = 1;
const randomBelow: RandomBelow = (bound) => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return (BigInt(seed) * 0x9e3779b97f4a7c15n) % bound;
};

for (const { label, start, bits } of [{ label: 'IPv4 /8', start: 0x0a000000n, bits: 24n }, { label: 'IPv6 /64', start: 0xfd000000000000000000000000000000n, bits: 64n }]) {
  for (const leases of [0, 1_000_000]) {
    describe(`${label}, ${leases} leases`, () => {
      const span = { start, end: start + (1n << bits) - 1n };
      const allocatable = [{ start: start + 1n, end: span.end - 1n }];
      const size = span.end - start - 1n;
      const taken = TakenAddressSet.fromSorted((function* () { for (let i = 0; i < leases; i++) yield start + 1n + BigInt(i) * 2n; })(), span);
      for (const strategy of ['roundRobin', 'lowestFree', 'random'] as const satisfies readonly AddressStrategy[]) {
        let cursor: bigint | undefined = start + 1n;
        bench(strategy, () => {
          const address = pickAddress(strategy, { allocatable, taken, size, cursor, randomBelow });
          if (address === undefined) throw new Error('exhausted');
          taken.add(address);
          taken.delete(address);
          cursor = address;
        });
      }
    });
  }
}
