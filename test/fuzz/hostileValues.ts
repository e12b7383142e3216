// Values a hostile or careless caller might send: the names the fuzz daemon serves (so that some
// requests succeed and change leases), and arbitrary Unicode, control characters, lone
// surrogates, percent signs, empty and huge strings, duplicates in lists.
import fc from 'fast-check';

/** Pools of the fuzz daemon's config (fuzzConfig below). */
export const FUZZ_POOLS = ['v4', 'v6', 'red', 'blocks'] as const;

export const FUZZ_CONFIG = `
pools:
  - { name: v4, subnet: 10.170.0.0/26, labels: { net: blue } }
  - { name: v6, subnet: "fd00:170::/122", labels: { net: blue } }
  - { name: red, subnet: 10.171.0.0/28, labels: { net: red } }
  - { name: blocks, kind: prefix, subnet: 10.172.0.0/20, prefixLength: 26 }
`;

const PLAUSIBLE = [
  'v4', 'v6', 'red', 'blocks', 'nope', 'c1', 'c2', 'fuzz-1', 'eth0', 'net1', 'fuzznet', 'default', 'ns', 'web-0',
  '/var/run/netns/fuzz', '10.170.0.5', '10.170.0.5/26', 'fd00:170::5', '10.171.0.3', '10.172.1.0/26', 'net', 'blue', 'node/worker-1',
  '0', '-1', '.', '..', '*', 'ACTIVE',
];

const NASTY_UNITS = ['\u0000', '\u0001', '\u001b', '\n', '\r', '\t', ' ', '\u007f', '\u0085', '\u00a0', '%', '%2', '/', ':', ';', '=', ',', '"', '\\',
  'é', 'ß', 'İ', '\u0301', '\u200b', '\u202e', '\ufeff', '\uffff', '\uD800', '\uDFFF', '🚢', '𝟘', 'A', 'a', '0', '-', '.', '_'];

/** Any string a field might hold, weighted towards the interesting. */
export function hostileString(maxHuge = 200_000): fc.Arbitrary<string> {
  // Huge values are rare (about 1 in 100 strings): each costs a megabyte on the wire, and a request
  // has a dozen fields, so more would make most requests merely "too large".
  return fc.oneof(
    { weight: 30, arbitrary: fc.constantFrom(...PLAUSIBLE) },
    { weight: 8, arbitrary: fc.constant('') },
    { weight: 15, arbitrary: fc.string({ unit: fc.constantFrom(...NASTY_UNITS), maxLength: 12 }) },
    { weight: 10, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
    { weight: 8, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
    { weight: 12, arbitrary: fc.tuple(fc.constantFrom(...PLAUSIBLE), fc.constantFrom(...NASTY_UNITS)).map(([a, b]) => `${a}${b}`) },
    { weight: 4, arbitrary: fc.integer({ min: 60, max: 2000 }).map((n) => 'x'.repeat(n)) },
    { weight: 1, arbitrary: fc.integer({ min: 2000, max: maxHuge }).map((n) => 'é'.repeat(n)) },
  );
}

/** A list with duplicates, empties and (rarely) too many entries. */
export function hostileList(item: fc.Arbitrary<string>): fc.Arbitrary<string[]> {
  return fc.oneof(
    { weight: 12, arbitrary: fc.array(item, { maxLength: 4 }) },
    { weight: 4, arbitrary: item.map((value) => [value, value]) },
    { weight: 1, arbitrary: fc.array(fc.constantFrom('v4', 'a', '', 'é'), { minLength: 60, maxLength: 70 }) },
  );
}

export function hostileLabels(item: fc.Arbitrary<string>): fc.Arbitrary<Record<string, string>> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.dictionary(item, item, { maxKeys: 3 }) },
    { weight: 4, arbitrary: fc.constant({ net: 'blue' }) },
    { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 6 }), fc.constant('v'), { minKeys: 60, maxKeys: 70 }) },
  );
}

/** A field that is present with a hostile value, present with a plausible one, or absent. */
export function maybe<T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.option(arbitrary, { nil: undefined, freq: 5 });
}
