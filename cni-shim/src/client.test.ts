// The lean client against a real grpc-js server on a temp Unix socket.
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { create, toBinary } from '@bufbuild/protobuf';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttp2Server, type Http2Server, type ServerHttp2Session } from 'node:http2';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GrpcStatus } from '../../daemon/src/errors.ts';
import { IpamClient, responseOutcome, unaryCall } from './client.ts';
import { AllocateResponseSchema, IpFamily } from './gen/berth/ipam/v1/ipam_pb.ts';
import { frameMessage } from './grpcFraming.ts';
import { http2Request } from './http2/unaryRequest.ts';
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
    expect(response.allocations).toEqual([{ pool: 'v4', address: '10.0.0.5/24', gateway: '10.0.0.1', routes: [{ dst: '0.0.0.0/0', gw: '' }], family: IpFamily.IPV4 }]);
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

describe('responseOutcome', () => {
  const body = frameMessage(Buffer.from('0a00', 'hex'));
  it.each([
    ['grpc-status 0 with one message', { ':status': '200' }, { 'grpc-status': '0' }, { ok: true }],
    ['a grpc-status decides even with another HTTP status', { ':status': '503' }, { 'grpc-status': '5', 'grpc-message': 'no%20pool' }, { ok: false, code: 5, detail: 'no pool', transport: false }],
    ['a grpc-status that is not a number', { ':status': '200' }, { 'grpc-status': 'ok' }, { ok: false, code: GrpcStatus.UNKNOWN, transport: false }],
    ['a grpc-status above 16', { ':status': '200' }, { 'grpc-status': '17' }, { ok: false, code: GrpcStatus.UNKNOWN, transport: false }],
    ['a grpc-status with a sign', { ':status': '200' }, { 'grpc-status': '-1' }, { ok: false, code: GrpcStatus.UNKNOWN, transport: false }],
    ['HTTP 400 without grpc-status', { ':status': '400' }, undefined, { ok: false, code: GrpcStatus.INTERNAL, transport: false }],
    ['HTTP 401 without grpc-status', { ':status': '401' }, undefined, { ok: false, code: GrpcStatus.UNAUTHENTICATED, transport: false }],
    ['HTTP 403 without grpc-status', { ':status': '403' }, undefined, { ok: false, code: GrpcStatus.PERMISSION_DENIED, transport: false }],
    ['HTTP 404 without grpc-status', { ':status': '404' }, undefined, { ok: false, code: GrpcStatus.UNIMPLEMENTED, transport: false }],
    ['HTTP 429 without grpc-status', { ':status': '429' }, undefined, { ok: false, code: GrpcStatus.UNAVAILABLE, transport: true }],
    ['HTTP 502 without grpc-status', { ':status': '502' }, undefined, { ok: false, code: GrpcStatus.UNAVAILABLE, transport: true }],
    ['HTTP 503 without grpc-status', { ':status': '503' }, undefined, { ok: false, code: GrpcStatus.UNAVAILABLE, transport: true }],
    ['HTTP 504 without grpc-status', { ':status': '504' }, undefined, { ok: false, code: GrpcStatus.UNAVAILABLE, transport: true }],
    ['HTTP 500 without grpc-status', { ':status': '500' }, undefined, { ok: false, code: GrpcStatus.UNKNOWN, transport: false }],
    ['HTTP 200 without grpc-status', { ':status': '200' }, undefined, { ok: false, code: GrpcStatus.UNKNOWN, transport: false }],
  ])('%s', (_name, headers, trailers, expected) => {
    expect(responseOutcome(headers, trailers, body)).toMatchObject(expected);
  });
});

describe('real servers racing a call', () => {
  let http2Server: Http2Server | undefined;
  const sessions: ServerHttp2Session[] = [];
  afterEach(async () => {
    const closing = http2Server;
    http2Server = undefined;
    for (const session of sessions.splice(0)) session.destroy();
    await new Promise<void>((done) => (closing ? closing.close(() => done()) : done()));
  });

  it('a GOAWAY before the server took the stream is retried, and the next connection answers', async () => {
    // node:http2 (nghttp2): the first connection is turned away with GOAWAY naming last stream 0,
    // so the call was not acted on; the second is answered as berthd answers an Allocate.
    let streams = 0;
    http2Server = createHttp2Server();
    http2Server.on('session', (session) => {
      sessions.push(session);
      if (sessions.length === 1) session.goaway(0, 0);
    });
    http2Server.on('stream', (stream) => {
      streams++;
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(frameMessage(toBinary(AllocateResponseSchema, create(AllocateResponseSchema, { allocations: [{ pool: 'v4', address: '10.0.0.7/24', family: IpFamily.IPV4 }] }))));
    });
    await new Promise<void>((done) => http2Server?.listen(socketPath, done));
    const response = await new IpamClient({ socketPath, timeoutMs: 5000, firstBackoffMs: 10 }).call('Allocate', allocateRequest);
    expect(response.allocations.map((allocation) => allocation.address)).toEqual(['10.0.0.7/24']);
    expect(sessions.length).toBe(2);
    expect(streams).toBe(1);
  });

  it('a call in flight when a grpc-js server shuts down gracefully (GOAWAY after it took the stream) still gets its answer', async () => {
    let handled = 0;
    await serve({ Allocate: (_call: unknown, reply: grpc.sendUnaryData<unknown>) => {
      handled++;
      server?.tryShutdown(() => undefined);
      setTimeout(() => reply(null, allocated), 100);
    } });
    const response = await new IpamClient({ socketPath, timeoutMs: 5000 }).call('Allocate', allocateRequest);
    expect(response.allocations.map((allocation) => allocation.address)).toEqual(['10.0.0.5/24']);
    expect(handled).toBe(1);
  });

  it('a call the grpc-js server ends at the grpc-timeout it was sent is DEADLINE_EXCEEDED from the server, not retried', async () => {
    await serve({ Check: () => undefined });
    const started = Date.now();
    const result = await http2Request({
      socketPath, timeoutMs: 30_000, body: frameMessage(new Uint8Array()),
      headers: [[':method', 'POST'], [':scheme', 'http'], [':path', '/berth.ipam.v1.Ipam/Check'], [':authority', 'localhost'],
        ['content-type', 'application/grpc'], ['te', 'trailers'], ['grpc-timeout', '200m']],
    });
    expect(Date.now() - started).toBeLessThan(20_000);
    if (result.kind !== 'response') throw new Error(`expected the server's answer, got ${result.kind}: ${result.detail}`);
    expect(responseOutcome(result.headers, result.trailers, result.body)).toMatchObject({ ok: false, code: GrpcStatus.DEADLINE_EXCEEDED, transport: false });
    // Through the client: the server's deadline ends the call with DEADLINE_EXCEEDED and it is not sent again.
    expect(await unaryCall(socketPath, '/berth.ipam.v1.Ipam/Check', new Uint8Array(), 300)).toMatchObject({ ok: false, code: GrpcStatus.DEADLINE_EXCEEDED });
  });
});
