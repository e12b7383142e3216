// The lean client against a real grpc-js server on a temp Unix socket.
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GrpcStatus } from '../../daemon/src/errors.ts';
import { IpamClient } from './client.ts';
import { cniErrorOf } from './cniTranslation.ts';
import { GrpcCallError } from './grpcCallError.ts';

const PROTO = resolve(import.meta.dirname, '../../proto/berth/ipam/v1/ipam.proto');
type Handlers = grpc.UntypedServiceImplementation;

function ipamService(): grpc.ServiceDefinition {
  const definition = grpc.loadPackageDefinition(loadSync(PROTO, { longs: Number, enums: String, defaults: true }));
  const pkg = definition.berth as grpc.GrpcObject;
  const service = ((pkg.ipam as grpc.GrpcObject).v1 as grpc.GrpcObject).Ipam as grpc.ServiceClientConstructor;
  return service.service;
}

let dir: string;
let socketPath: string;
let server: grpc.Server | undefined;

async function serve(handlers: Handlers): Promise<void> {
  server = new grpc.Server();
  server.addService(ipamService(), handlers);
  await new Promise<void>((done, fail) => server?.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (error) => (error ? fail(error) : done())));
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-client-'));
  socketPath = join(dir, 'berthd.sock');
});
afterEach(() => {
  server?.forceShutdown();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const allocateRequest = { containerId: 'c1', ifname: 'eth0', pools: ['v4'], requestedIps: [], podNamespace: 'ns', podName: 'p', podUid: 'u', netns: '/n', network: 'net1' };
const allocated = { allocations: [{ pool: 'v4', address: '10.0.0.5/24', gateway: '10.0.0.1', routes: [{ dst: '0.0.0.0/0' }], family: 'IPV4' }] };

function failWith(code: number, details: string, trailers: Record<string, string>): grpc.ServiceError {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(trailers)) metadata.set(key, value);
  return Object.assign(new Error(details), { code, details, metadata });
}

async function callError(promise: Promise<unknown>): Promise<GrpcCallError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GrpcCallError) return error;
    throw error;
  }
  throw new Error('expected a GrpcCallError');
}

describe('IpamClient', () => {
  it('calls Allocate and decodes the response', async () => {
    const seen: unknown[] = [];
    await serve({ Allocate: (call: grpc.ServerUnaryCall<unknown, unknown>, reply: grpc.sendUnaryData<unknown>) => { seen.push(call.request); reply(null, allocated); } });
    const response = await new IpamClient({ socketPath, timeoutMs: 5000 }).call('Allocate', allocateRequest);
    expect(seen[0]).toMatchObject({ containerId: 'c1', ifname: 'eth0', pools: ['v4'], podUid: 'u', network: 'net1' });
    expect(response.allocations).toEqual([{ pool: 'v4', address: '10.0.0.5/24', gateway: '10.0.0.1', routes: [{ dst: '0.0.0.0/0', gw: '' }], dns: null, family: 'IPV4' }]);
  });

  it('reports status, message and berth trailers, without retrying a non-transient error', async () => {
    let calls = 0;
    await serve({ Allocate: (_call: unknown, reply: grpc.sendUnaryData<unknown>) => {
      calls++;
      reply(failWith(grpc.status.RESOURCE_EXHAUSTED, 'pool "v4" is exhausted: all 2 addresses are leased',
        { 'berth-error-reason': 'POOL_EXHAUSTED', 'berth-cni-code': '100', 'berth-pool': 'v4' }));
    } });
    const error = await callError(new IpamClient({ socketPath, timeoutMs: 5000 }).call('Allocate', allocateRequest));
    expect(error).toMatchObject({ code: GrpcStatus.RESOURCE_EXHAUSTED, detail: 'pool "v4" is exhausted: all 2 addresses are leased', attempts: 1, transport: false });
    expect(calls).toBe(1);
    expect(cniErrorOf(error)).toMatchObject({ code: 100, details: 'reason=POOL_EXHAUSTED; pool=v4' });
  });

  it('retries while the daemon is not there yet, then succeeds', async () => {
    const client = new IpamClient({ socketPath, timeoutMs: 10_000 });
    const pending = client.call('Release', { containerId: 'c1', ifname: 'eth0', pools: [] });
    await new Promise((done) => setTimeout(done, 400));
    await serve({ Release: (_call: unknown, reply: grpc.sendUnaryData<unknown>) => reply(null, { released: [] }) });
    expect(await pending).toEqual({ released: [] });
  });

  it('retries OVERLOADED, then succeeds', async () => {
    let calls = 0;
    await serve({ Status: (_call: unknown, reply: grpc.sendUnaryData<unknown>) => {
      calls++;
      if (calls < 3) reply(failWith(grpc.status.RESOURCE_EXHAUSTED, 'busy', { 'berth-error-reason': 'OVERLOADED', 'berth-cni-code': '11' }));
      else reply(null, { pools: [{ name: 'v4', free: '3' }] });
    } });
    const response = await new IpamClient({ socketPath, timeoutMs: 5000 }).call('Status', { pools: [] });
    expect(calls).toBe(3);
    expect(response.pools[0]).toMatchObject({ name: 'v4', free: '3' });
  });

  it('gives up at the deadline when the daemon does not answer', async () => {
    await serve({ Check: () => undefined });
    const started = Date.now();
    const error = await callError(new IpamClient({ socketPath, timeoutMs: 500 }).call('Check', { containerId: 'c1', ifname: 'eth0', pools: [], expectedAddresses: [] }));
    // Bounded by its deadline, not hanging: a wide multiple, as the machine may be busy.
    expect(Date.now() - started).toBeLessThan(10 * 500);
    expect(error.code).toBe(GrpcStatus.DEADLINE_EXCEEDED);
    expect(cniErrorOf(error)).toMatchObject({ code: 11 });
    expect(cniErrorOf(error).message).toContain(socketPath);
  });

  it('gives up at the deadline when nothing listens, naming the last failure', async () => {
    const started = Date.now();
    const error = await callError(new IpamClient({ socketPath, timeoutMs: 700 }).call('Status', { pools: [] }));
    expect(Date.now() - started).toBeLessThan(10 * 700);
    expect(error.attempts).toBeGreaterThan(2);
    expect(error.detail).toContain('ENOENT');
  });
});
