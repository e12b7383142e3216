// The CNI surface: every CNI_* variable and every stdin field, hostile, through the real plugin
// binary (exec'd as a runtime would) and through the same code in-process (handleInvocation,
// with the real client against the real daemon), which runs many more cases per second.
import fc from 'fast-check';
import { connectBerthd, handleInvocation } from '../../cni-shim/src/shim.ts';
import { execPlugin } from '../support/cniExec.ts';
import { SHIM } from '../support/daemonProcess.ts';
import { hostileString } from './hostileValues.ts';

export interface CniCase {
  readonly env: Record<string, string | undefined>;
  /** Config fields to replace (path -> value; undefined deletes), or raw stdin text. */
  readonly stdin: { readonly kind: 'fields'; readonly changes: readonly (readonly [string, unknown])[] } | { readonly kind: 'raw'; readonly text: string };
}

const FIELD_PATHS = [
  'cniVersion', 'name', 'type', 'ipam', 'ipam.type', 'ipam.pools', 'ipam.poolSelector', 'ipam.poolSelector.matchLabels', 'ipam.socket', 'ipam.timeoutSeconds',
  'ipam.extra', 'runtimeConfig', 'runtimeConfig.ips', 'args', 'args.cni', 'args.cni.ips', 'args.cni.labels', 'prevResult', 'prevResult.ips',
  'cni.dev/valid-attachments', 'disableGC', 'ipam.pools.0', 'args.cni.labels.app', 'runtimeConfig.ips.0', 'prevResult.ips.0.address',
];

/** Env values cannot hold NUL (exec refuses them) and one string is at most 128 KiB. */
const envString = hostileString(50_000).map((value) => value.replace(/\u0000/g, ''));

function envArbitrary(): fc.Arbitrary<Record<string, string | undefined>> {
  const plausibleOrHostile = (plausible: readonly string[]) => fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...plausible) }, { weight: 2, arbitrary: envString }, { weight: 1, arbitrary: fc.constant(undefined) });
  const cniArgs = fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.constant('K8S_POD_NAMESPACE=ns;K8S_POD_NAME=web-0;K8S_POD_UID=u-1') },
    { weight: 3, arbitrary: fc.array(fc.tuple(fc.constantFrom('K8S_POD_NAMESPACE', 'K8S_POD_NAME', 'K8S_POD_UID', 'IP', 'IgnoreUnknown', 'X'), envString), { maxLength: 4 })
      .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join(';')) },
    { weight: 1, arbitrary: envString },
  );
  return fc.record({
    CNI_COMMAND: fc.oneof({ weight: 8, arbitrary: fc.constantFrom('ADD', 'ADD', 'ADD', 'DEL', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION') }, { weight: 1, arbitrary: envString }),
    CNI_CONTAINERID: plausibleOrHostile(['fz-1', 'fz-2', 'fz-3']),
    CNI_IFNAME: plausibleOrHostile(['eth0', 'net1']),
    CNI_NETNS: plausibleOrHostile(['/var/run/netns/fuzz']),
    CNI_PATH: plausibleOrHostile(['/opt/cni/bin']),
    CNI_ARGS: cniArgs,
  });
}

function jsonish(): fc.Arbitrary<unknown> {
  const s = hostileString(300_000);
  return fc.oneof(
    { weight: 4, arbitrary: s },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    { weight: 1, arbitrary: fc.array(s, { maxLength: 4 }) },
    { weight: 1, arbitrary: fc.dictionary(s, s, { maxKeys: 3 }) },
    { weight: 1, arbitrary: fc.constantFrom(0, -1, 1e308, 0.001, true, null, [], {}) },
  );
}

export function cniCaseArbitrary(): fc.Arbitrary<CniCase> {
  const fields = fc.array(fc.tuple(fc.constantFrom(...FIELD_PATHS), jsonish()), { maxLength: 3 }).map((changes) => ({ kind: 'fields' as const, changes }));
  const raw = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 100 }),
    fc.constantFrom('', '{', 'null', '[]', '"x"', '{"cniVersion":"1.0.0"}'),
    fc.integer({ min: 1024 * 1024 - 10, max: 1024 * 1024 + 100 }).map((n) => `{"cniVersion":"1.0.0","pad":"${'x'.repeat(n)}"}`),
  ).map((text) => ({ kind: 'raw' as const, text }));
  return fc.record({ env: envArbitrary(), stdin: fc.oneof({ weight: 6, arbitrary: fields }, { weight: 1, arbitrary: raw }) });
}

/** The stdin text of a case, against the fuzz daemon's socket. */
export function stdinOf(cniCase: CniCase, socket: string): string {
  if (cniCase.stdin.kind === 'raw') return cniCase.stdin.text;
  const config: Record<string, unknown> = {
    cniVersion: '1.1.0', name: 'fuzznet', type: 'bridge',
    ipam: { type: 'berth', socket, pools: ['v4', 'v6'], timeoutSeconds: 3 },
    prevResult: { cniVersion: '1.1.0', ips: [{ address: '10.170.0.2/26' }] },
    'cni.dev/valid-attachments': [{ containerID: 'fz-1', ifname: 'eth0' }],
  };
  for (const [path, value] of cniCase.stdin.changes) {
    setPath(config, path, value);
    // A socket nobody listens on makes the plugin retry until its timeout: keep that short.
    if (path === 'ipam.socket' || path === 'ipam') setPath(config, 'ipam.timeoutSeconds', 0.2);
  }
  return JSON.stringify(config) ?? '';
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  // "cni.dev/valid-attachments" is one key.
  const parts = path.startsWith('cni.dev/') ? [path] : path.split('.');
  let node: unknown = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof node !== 'object' || node === null) return;
    node = (node as Record<string, unknown>)[part];
  }
  if (typeof node !== 'object' || node === null) return;
  const last = parts[parts.length - 1]!;
  if (value === undefined) delete (node as Record<string, unknown>)[last];
  else (node as Record<string, unknown>)[last] = value;
}

export interface CniOutcome { readonly exitCode: number | null; readonly stdout: string; readonly command: string }

export async function execCniCase(cniCase: CniCase, socket: string): Promise<CniOutcome> {
  const env = Object.fromEntries(Object.entries(cniCase.env).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const result = await execPlugin(SHIM, env, stdinOf(cniCase, socket), 60_000);
  return { exitCode: result.code, stdout: result.stdout, command: cniCase.env.CNI_COMMAND ?? '' };
}

export async function inProcessCniCase(cniCase: CniCase, socket: string): Promise<CniOutcome> {
  const env = Object.fromEntries(Object.entries(cniCase.env).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const outcome = await handleInvocation(env, async () => stdinOf(cniCase, socket), connectBerthd);
  return { exitCode: outcome.exitCode, stdout: outcome.output === undefined ? '' : `${outcome.output}\n`, command: cniCase.env.CNI_COMMAND ?? '' };
}

/** The output contract: success (JSON or nothing), or CNI error JSON with a code that is not a plugin bug. */
export function cniOutputProblem(outcome: CniOutcome): string | undefined {
  const text = outcome.stdout.trim();
  if (outcome.exitCode === 0) {
    if (text === '') return ['DEL', 'CHECK', 'GC', 'STATUS'].includes(outcome.command) ? undefined : `exit 0 with no output for ${outcome.command}`;
    try { JSON.parse(text); } catch { return `exit 0 with output that is not JSON: ${text.slice(0, 200)}`; }
    return undefined;
  }
  if (outcome.exitCode !== 1) return `exit ${outcome.exitCode} (not 0 or 1): ${text.slice(0, 300)}`;
  let error: Record<string, unknown>;
  try { error = JSON.parse(text) as Record<string, unknown>; } catch { return `exit 1 without CNI error JSON: ${text.slice(0, 300)}`; }
  if (typeof error.code !== 'number' || typeof error.msg !== 'string' || typeof error.cniVersion !== 'string') return `malformed CNI error: ${text.slice(0, 300)}`;
  if (error.code === 110 || error.code === 999 || error.code === 5) return `plugin or daemon failure (code ${error.code}): ${String(error.msg).slice(0, 300)} ${String(error.details).slice(0, 200)}`;
  return undefined;
}

export const CNI_MUTATING = new Set(['ADD', 'DEL', 'GC']);
