// The shipped executable's socket path (libc calls through Bun's FFI inside dist/berth; the unit tests of
// cni-shim/src/http2 run node:net under Node) against real HTTP/2 servers doing what berthd may do
// while a call is in flight: turn a connection away with GOAWAY before taking the stream, cut a
// connection mid-response, answer over many DATA frames, and end a call at its grpc-timeout.
import { create, toBinary } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Http2Server, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AllocateResponseSchema, IpFamily } from '../cni-shim/src/gen/berth/ipam/v1/ipam_pb.ts';
import { frameMessage } from '../cni-shim/src/grpcFraming.ts';
import { networkConfig, runShim } from './support/shimExec.ts';

let dir: string;
let socketPath: string;
let server: Http2Server | undefined;
let grpcServer: grpc.Server | undefined;
const sessions: ServerHttp2Session[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-plugin-transport-'));
  socketPath = join(dir, 'berthd.sock');
});
afterEach(async () => {
  for (const session of sessions.splice(0)) session.destroy();
  const closing = server;
  server = undefined;
  await new Promise<void>((done) => (closing ? closing.close(() => done()) : done()));
  grpcServer?.forceShutdown();
  grpcServer = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const config = (timeoutSeconds = 10) => networkConfig(socketPath, {}, { pools: ['v4'], timeoutSeconds });

/** An Allocate answer as berthd sends it, with `routes` routes to make it as long as wanted. */
function answer(stream: ServerHttp2Stream, routes = 1): void {
  const message = create(AllocateResponseSchema, { allocations: [{ pool: 'v4', address: '10.9.0.7/24', gateway: '10.9.0.1', family: IpFamily.IPV4,
    routes: Array.from({ length: routes }, (_, i) => ({ dst: `10.${i >> 8 & 255}.${i & 255}.0/24`, gw: '10.9.0.1' })) }] });
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  stream.end(frameMessage(toBinary(AllocateResponseSchema, message)));
}

/** A node:http2 (nghttp2) server on the socket; `onSession` sees each new connection, in order. */
async function serve(onSession: (session: ServerHttp2Session, index: number) => void, onStream: (stream: ServerHttp2Stream, index: number) => void): Promise<void> {
  let streams = 0;
  server = createServer();
  server.on('session', (session) => { sessions.push(session); onSession(session, sessions.length - 1); });
  server.on('stream', (stream) => onStream(stream, streams++));
  await new Promise<void>((done) => server?.listen(socketPath, done));
}

describe('dist/berth against real HTTP/2 servers', () => {
  it('ADD turned away by a GOAWAY before the server took the stream is sent again and succeeds', async () => {
    const handled: number[] = [];
    await serve((session, index) => { if (index === 0) session.goaway(0, 0); }, (stream, index) => { handled.push(index); answer(stream); });
    const result = await runShim({ command: 'ADD' }, config());
    expect(result.code, result.stdout).toBe(0);
    expect(result.json).toMatchObject({ ips: [{ address: '10.9.0.7/24', gateway: '10.9.0.1' }] });
    expect(sessions.length).toBe(2);
    expect(handled).toEqual([0]);
  });

  it('ADD whose connection is cut in the middle of the response is sent again and succeeds', async () => {
    await serve(() => undefined, (stream, index) => {
      if (index > 0) return answer(stream);
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.write(Buffer.from([0, 0, 0, 0, 100, 1, 2]), () => stream.session?.destroy());
    });
    const result = await runShim({ command: 'ADD' }, config());
    expect(result.code, result.stdout).toBe(0);
    expect(result.json).toMatchObject({ ips: [{ address: '10.9.0.7/24' }] });
    expect(sessions.length).toBe(2);
  });

  it('ADD reads a response of many DATA frames, beyond the default flow-control windows', async () => {
    await serve(() => undefined, (stream) => answer(stream, 5000));
    const result = await runShim({ command: 'ADD' }, config());
    expect(result.code, result.stdout).toBe(0);
    expect((result.json?.routes as unknown[]).length).toBe(5000);
  });

  it('a call grpc-js ends at the grpc-timeout the plugin sent fails with code 11, within its timeout', async () => {
    grpcServer = new grpc.Server();
    const raw = { serialize: (value: Buffer) => value, deserialize: (value: Buffer) => value };
    grpcServer.addService({ Allocate: { path: '/berth.ipam.v1.Ipam/Allocate', requestStream: false, responseStream: false, requestSerialize: raw.serialize,
      requestDeserialize: raw.deserialize, responseSerialize: raw.serialize, responseDeserialize: raw.deserialize, originalName: 'Allocate' } }, { Allocate: () => undefined });
    await new Promise<void>((done, fail) => grpcServer?.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (error) => (error ? fail(error) : done())));
    const result = await runShim({ command: 'ADD' }, config(1));
    expect(result.code).toBe(1);
    expect(result.json).toMatchObject({ code: 11 });
    expect(result.ms).toBeLessThan(10_000);
  });

  it('a socket path holding a NUL byte is refused, not cut short at the NUL to reach another socket', async () => {
    const handled: number[] = [];
    await serve(() => undefined, (stream, index) => { handled.push(index); answer(stream); });
    const result = await runShim({ command: 'ADD' }, networkConfig(`${socketPath}\u0000-elsewhere`, {}, { pools: ['v4'], timeoutSeconds: 1 }));
    expect(result.code, result.stdout).toBe(1);
    expect(result.json).toMatchObject({ code: 11 });
    expect(result.json?.msg).toContain('NUL');
    expect(handled).toEqual([]);
  });
});
