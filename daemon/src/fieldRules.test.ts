// The field rules are character loops (fieldRules.ts says why); each must accept exactly what the
// regular expression it replaced accepts. Those expressions are kept here as the reference and
// compared on a table of edge cases and on random text (fast-check, fixed seed) drawn mostly from
// the characters that matter.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  hasControl, isContainerId, isDnsLabel, isDnsSubdomain, isLabelName, isLabelValue, isNetworkName, isPodUid, isPoolName, isVisibleAscii, wellFormed,
} from './fieldRules.ts';

const REFERENCE: readonly [string, (text: string) => boolean, RegExp][] = [
  ['container id', isContainerId, /^[A-Za-z0-9][A-Za-z0-9_.-]*$/],
  ['network name', isNetworkName, /^[A-Za-z0-9][A-Za-z0-9_.-]*$/],
  ['pool name', isPoolName, /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/],
  ['DNS label', isDnsLabel, /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/],
  ['DNS subdomain', isDnsSubdomain, /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/],
  ['label name', isLabelName, /^(?=.{1,63}$)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/],
  ['label value', isLabelValue, /^(?=.{0,63}$)([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/],
  ['pod UID', isPodUid, /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/],
  ['visible ASCII', isVisibleAscii, /^[\x21-\x7e]*$/],
  // eslint-disable-next-line no-control-regex
  ['control characters', hasControl, /[\u0000-\u001f\u007f-\u009f]/],
];

const EDGES = [
  '', 'a', 'A', '0', '-', '.', '_', 'a-', '-a', 'a.', '.a', 'a_b', 'a-b', 'A-b', 'ab', 'a..b', 'a.b', 'a.-b', 'a-.b', 'x'.repeat(62), 'x'.repeat(63),
  'x'.repeat(64), 'x'.repeat(127), 'x'.repeat(128), 'x'.repeat(129), `${'a.'.repeat(126)}a`, `${'a.'.repeat(126)}ab`, `${'a.'.repeat(127)}a`,
  'kube-system', 'pod-1.example', 'Upper', 'with space', 'tab\t', 'new\nline', 'a\n', '\u007f', '\u0085', '\u009f', '\u00a0', 'é', '~', '!',
  '/var/run/netns/x', 'eth0', 'a/b', 'a:b', '\ud800', '\udc00', '\ud83d\ude00',
];

/** Text mostly from the characters the rules care about, now and then anything. */
const ruleText = fc.oneof(
  fc.stringMatching(/^[a-zA-Z0-9._\-/: ]{0,140}$/),
  fc.array(fc.constantFrom('a', 'z', 'A', 'Z', '0', '9', '-', '.', '_', '\n', '\u007f', '\u0090', '\u00a0', '\ud800', '\udc00'), { maxLength: 70 }).map((chars) => chars.join('')),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

describe('field rules as character loops', () => {
  it.each(REFERENCE)('%s accepts exactly what its regular expression accepts (edge cases)', (_name, rule, expression) => {
    for (const text of EDGES) expect(rule(text), JSON.stringify(text)).toBe(expression.test(text));
  });

  it.each(REFERENCE)('%s accepts exactly what its regular expression accepts (random text)', (_name, rule, expression) => {
    fc.assert(fc.property(ruleText, (text) => rule(text) === expression.test(text)), { seed: 1201, numRuns: 3000 });
  });

  it('wellFormed replaces lone surrogates as the regular expression did', () => {
    const reference = (text: string): string => text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
    for (const text of EDGES) expect(wellFormed(text)).toBe(reference(text));
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => wellFormed(text) === reference(text)), { seed: 1201, numRuns: 3000 });
    fc.assert(fc.property(fc.array(fc.constantFrom('a', '\ud800', '\udbff', '\udc00', '\udfff'), { maxLength: 12 }), (chars) =>
      wellFormed(chars.join('')) === reference(chars.join(''))), { seed: 1201, numRuns: 3000 });
  });
});
