// The gRPC surface: every field of every RPC with hostile values through a real client, and
// malformed bytes (bad protobuf, bad framing, wrong paths, oversized) through raw HTTP/2.
import fc from 'fast-check';
import { loadIpamPackageDefinition } from '../../daemon/src/grpc/protoDefinition.ts';
import { IpamCallError } from '../../daemon/src/grpc/ipamClient.ts';
import type { IpamTestClient } from '../support/ipamTestClient.ts';
import { hostileLabels, hostileList, hostileString, maybe } from './hostileValues.ts';
import type { LeaseLedger } from './leaseLedger.ts';
import { frame, type RawAnswer, type RawGrpcSession } from './rawGrpc.ts';

const MUTATING = new Set(['Allocate', 'Release', 'GarbageCollect', 'ImportLeases', 'AllocatePrefix', 'ReleasePrefix']);

export interface RpcCase { readonly method: string; readonly request: Record<string, unknown> }

function record(method: string, fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<RpcCase> {
  const optional = Object.fromEntries(Object.entries(fields).map(([key, arbitrary]) => [key, maybe(arbitrary)]));
  return fc.record(optional).map((request) => ({
    method,
    request: Object.fromEntries(Object.entries(request).filter(([, value]) => value !== undefined)),
  }));
}

export function rpcCaseArbitrary(): fc.Arbitrary<RpcCase> {
  const s = hostileString();
  const list = hostileList(s);
  const labels = hostileLabels(s);
  const selector = labels.map((matchLabels) => ({ matchLabels }));
  const attachment = fc.record({ containerId: s, ifname: s });
  const lease = fc.record({ pool: s, address: s, containerId: s, ifname: s, network: s, podNamespace: s, podName: s, podUid: s, netns: s, bootId: s, addressSpace: s,
    createdAtUnixMs: fc.integer({ min: -1, max: 2 ** 40 }), state: fc.constantFrom('ACTIVE', 'COOLING', 'LEASE_STATE_UNSPECIFIED'), reusableAtUnixMs: fc.integer({ min: -1, max: 2 ** 40 }) });
  const prefix = fc.record({ pool: s, prefix: s, owner: s, addressSpace: s, createdAtUnixMs: fc.integer({ min: -1, max: 2 ** 40 }), state: fc.constantFrom('ACTIVE', 'COOLING') });
  return fc.oneof(
    { weight: 6, arbitrary: record('Allocate', { containerId: s, ifname: s, pools: list, requestedIps: list, podNamespace: s, podName: s, podUid: s, netns: s, network: s, podLabels: labels, poolSelector: selector }) },
    { weight: 3, arbitrary: record('Release', { containerId: s, ifname: s, pools: list }) },
    { weight: 2, arbitrary: record('Check', { containerId: s, ifname: s, pools: list, expectedAddresses: list, poolSelector: selector }) },
    { weight: 2, arbitrary: record('ListLeases', { pool: s, containerId: s, network: s, addressSpace: s, state: fc.constantFrom('ACTIVE', 'COOLING', 'LEASE_STATE_UNSPECIFIED', 7) }) },
    { weight: 1, arbitrary: record('ListPools', {}) },
    { weight: 2, arbitrary: record('GarbageCollect', { network: s, validAttachments: fc.array(attachment, { maxLength: 4 }) }) },
    { weight: 3, arbitrary: record('Status', { pools: list, poolSelector: selector }) },
    { weight: 2, arbitrary: record('ImportLeases', { leases: fc.array(lease, { maxLength: 3 }), prefixes: fc.array(prefix, { maxLength: 2 }) }) },
    { weight: 2, arbitrary: record('AllocatePrefix', { pool: s, owner: s, prefixLength: fc.integer({ min: -3, max: 200 }), requestedPrefix: s }) },
    { weight: 2, arbitrary: record('ReleasePrefix', { pool: s, owner: s }) },
    { weight: 1, arbitrary: record('ListPrefixes', { pool: s, owner: s }) },
  );
}

export interface RawCase { readonly path: string; readonly body: Uint8Array; readonly requestId: string | undefined }

const PATHS = ['Allocate', 'Release', 'Check', 'ListLeases', 'ListPools', 'GarbageCollect', 'Status', 'ImportLeases', 'AllocatePrefix', 'ReleasePrefix', 'ListPrefixes'];

export function rawCaseArbitrary(): fc.Arbitrary<RawCase> {
  const definition = loadIpamPackageDefinition()['berth.ipam.v1.Ipam'] as unknown as Record<string, { requestSerialize(value: object): Buffer }>;
  const path = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...PATHS).map((method) => `/berth.ipam.v1.Ipam/${method}`) },
    { weight: 1, arbitrary: fc.constantFrom('/berth.ipam.v1.Ipam/Nope', '/grpc.health.v1.Health/Check', '/', '/x/y/z', '/berth.ipam.v1.Ipam/',
      '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo') },
  );
  // A valid Allocate encoding, then bytes flipped, cut or appended: protobuf that is almost right.
  const validBytes = fc.constantFrom(...PATHS).map((method) => definition[method]!.requestSerialize(
    method === 'Allocate' ? { containerId: 'raw1', ifname: 'eth0', pools: ['v4'], network: 'rawnet' } : { pool: 'v4', pools: ['v4'], containerId: 'raw1', ifname: 'eth0', owner: 'o', network: 'rawnet' }));
  const mutated = fc.tuple(validBytes, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat({ max: 40 })).map(([bytes, flips, cut]) => {
    const out = Buffer.from(bytes);
    for (const [at, value] of flips) if (out.length > 0) out[at % out.length] = value;
    return out.subarray(0, Math.max(0, out.length - (cut % (out.length + 1))));
  });
  const message = fc.oneof({ weight: 3, arbitrary: mutated }, { weight: 2, arbitrary: fc.uint8Array({ maxLength: 200 }) }, { weight: 1, arbitrary: validBytes });
  const body = fc.oneof(
    { weight: 6, arbitrary: message.map((m) => frame(m)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
    { weight: 1, arbitrary: message.map((m) => frame(m, true)) },
    { weight: 1, arbitrary: fc.tuple(message, fc.integer({ min: 0, max: 2 ** 32 - 1 })).map(([m, declared]) => frame(m, false, declared)) },
    { weight: 1, arbitrary: fc.tuple(message, message).map(([a, b]) => Buffer.concat([frame(a), frame(b)])) },
    { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) },
    { weight: 1, arbitrary: fc.integer({ min: 1024 * 1024 + 1, max: 1024 * 1024 + 4096 }).map((n) => frame(new Uint8Array(n))) },
  );
  const requestId = maybe(fc.string({ unit: 'binary-ascii', maxLength: 80 }).map((id) => id.replace(/[^\x20-\x7e]/g, '')));
  return fc.record({ path, body, requestId });
}

export interface Outcome { readonly accepted: boolean; readonly code: number; readonly reason: string; readonly details: string }

/** Runs one client case; returns undefined when the client itself refused to encode it (never sent). */
export async function runRpcCase(client: IpamTestClient, rpc: RpcCase): Promise<Outcome | undefined> {
  try {
    await client.call(rpc.method, rpc.request, 30_000);
    return { accepted: true, code: 0, reason: '', details: '' };
  } catch (error) {
    if (error instanceof IpamCallError) return { accepted: false, code: error.code, reason: error.reason, details: error.details };
    return undefined;
  }
}

/** What must hold after every case on the gRPC surface; returns the violation or undefined. */
export async function checkAfterRpc(outcome: Outcome, method: string, session: RawGrpcSession, ledger: LeaseLedger): Promise<string | undefined> {
  // An answer came, from berthd: not a transport failure, not a deadline, not a bug.
  if (outcome.code === 14 || outcome.code === 4 || outcome.code === 1) return `no answer: status ${outcome.code} ${outcome.details}`;
  if (outcome.reason === 'INTERNAL' || outcome.reason === 'STORE_FAILURE') return `berthd failed internally: ${outcome.details}`;
  if (!outcome.accepted && outcome.reason === '') return `a refusal without berth-error-reason: status ${outcome.code} ${outcome.details}`;
  if (!(await session.healthy())) return 'berthd not healthy after the case';
  // A read-only call never counts as accepted: it may change nothing.
  return ledger.after(outcome.accepted && MUTATING.has(method));
  return undefined;
}

/** The raw surface: some status came back, with berth's reason unless grpc-js answered for an unknown path. */
export async function runRawCase(session: RawGrpcSession, raw: RawCase, ledger: LeaseLedger, onStatus: (status: number | undefined) => void): Promise<string | undefined> {
  const headers: Record<string, string> = raw.requestId === undefined ? {} : { 'x-request-id': raw.requestId };
  let answer: RawAnswer;
  try {
    answer = await session.call(raw.path, raw.body, headers);
  } catch (error) {
    if (!/no answer on/.test((error as Error).message)) throw error;
    // Seen once in a sample (an over-1-MiB body to an unknown method, on a session that had carried
    // hundreds of hostile streams): no status within 20 s. The cause was node's HTTP/2 client (see
    // RawGrpcSession), which now opens a new connection after such a body. Should a call still get
    // no status, the same case on a new connection must answer; the stall is counted, so the
    // report shows it, rather than passed over.
    session.reopen();
    answer = await session.call(raw.path, raw.body, headers);
    onStatus(-2);
  }
  onStatus(answer.reset !== undefined ? -1 : answer.status);
  if (answer.status === undefined && answer.reset === undefined) return `no grpc-status for ${raw.path}`;
  if (answer.reason === 'INTERNAL' || answer.reason === 'STORE_FAILURE') return `berthd failed internally: ${answer.message}`;
  const known = raw.path.startsWith('/berth.ipam.v1.Ipam/') && PATHS.includes(raw.path.slice('/berth.ipam.v1.Ipam/'.length));
  if (answer.reset === undefined && answer.status !== 0 && known && answer.reason === '') return `status ${answer.status} without berth-error-reason: ${answer.message}`;
  if (!(await session.healthy())) return 'berthd not healthy after the case';
  const method = known ? raw.path.slice('/berth.ipam.v1.Ipam/'.length) : '';
  const mutating = MUTATING.has(method);
  return ledger.after(answer.status === 0 && mutating);
  return undefined;
}
