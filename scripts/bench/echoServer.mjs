#!/usr/bin/env node
// The transport ceiling: a plain grpc-js server on a Unix socket serving berth's Ipam service
// with canned replies the size of berthd's (no IPAM work, no database). Prints "listening" once
// bound; exits on SIGTERM. Usage: node echoServer.mjs <socket path>
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { rmSync } from 'node:fs';
import { loadIpamPackage } from './ipamProto.mjs';

const socketPath = process.argv[2];
if (!socketPath) {
  process.stderr.write('usage: echoServer.mjs <socket path>\n');
  process.exit(2);
}

const { ipam } = loadIpamPackage();
// The transport ceiling: grpc-js configured as berthd configures it (no channelz bookkeeping).
const server = new Server({ 'grpc.enable_channelz': 0 });
let next = 2;
const addressOf = () => `10.${(next >> 16) & 0xff}.${(next >> 8) & 0xff}.${next++ & 0xff}`;

server.addService(ipam.Ipam.service, {
  Allocate: (call, callback) => callback(null, {
    allocations: call.request.pools.map((pool) => ({ pool, address: `${addressOf()}/8`, gateway: '10.0.0.1', routes: [{ dst: '0.0.0.0/0', gw: '' }], dns: {}, family: 'IPV4' })),
  }),
  Release: (call, callback) => callback(null, {
    released: call.request.pools.map((pool) => ({
      pool, address: addressOf(), family: 'IPV4', containerId: call.request.containerId, ifname: call.request.ifname, network: 'benchnet',
      podNamespace: 'bench', podName: 'pod', podUid: '', netns: '', bootId: '00000000-0000-0000-0000-000000000000', createdAtUnixMs: Date.now(),
    })),
  }),
});

rmSync(socketPath, { force: true });
server.bindAsync(`unix://${socketPath}`, ServerCredentials.createInsecure(), (error) => {
  if (error) {
    process.stderr.write(`echo server: ${error.message}\n`);
    process.exit(1);
  }
  process.stdout.write('listening\n');
});
process.once('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
