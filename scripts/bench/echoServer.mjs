#!/usr/bin/env node
// The transport ceiling: a plain grpc-js server on a Unix socket serving berth's Ipam service
// with canned replies the size of berthd's (no IPAM work, no database). Prints "listening" once
// bound; exits on SIGTERM. Usage: node echoServer.mjs <socket path> [busy µs per call]
//
// With a busy figure it is a yardstick for what per-call work costs: each call adds that much CPU
// time (measured with process.cpuUsage, not wall time) on the event loop before it is answered, all
// the calls that arrived in one turn together in one batch at setImmediate, as berthd's group
// commit runs its transaction. No I/O, no waiting: only CPU.
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { rmSync } from 'node:fs';
import { loadIpamPackage } from './ipamProto.mjs';

const socketPath = process.argv[2];
const busyUs = Number(process.argv[3] ?? 0);
if (!socketPath || !(busyUs >= 0)) {
  process.stderr.write('usage: echoServer.mjs <socket path> [busy µs per call]\n');
  process.exit(2);
}

const { ipam } = loadIpamPackage();
// The transport ceiling: grpc-js configured as berthd configures it (no channelz bookkeeping).
const server = new Server({ 'grpc.enable_channelz': 0 });
let next = 2;
const addressOf = () => `10.${(next >> 16) & 0xff}.${(next >> 8) & 0xff}.${next++ & 0xff}`;

/** A loop of integer work; the result is kept so it cannot be optimized away. */
let sink = 0;
function spin(iterations) {
  let x = sink | 1;
  for (let i = 0; i < iterations; i++) x = Math.imul(x, 1103515245) + 12345 | 0;
  sink = x;
}

/** Works until this process has used `us` more µs of CPU (user + system), whatever else runs meanwhile. */
function burnCpu(us) {
  const cpu = () => { const used = process.cpuUsage(); return used.user + used.system; };
  const until = cpu() + us;
  while (cpu() < until) spin(2000);
}

let batch = [];

/** Answers at once, or (busy) in this turn's batch after the batch's work. */
function answer(reply) {
  if (busyUs === 0) { reply(); return; }
  if (batch.length === 0) {
    setImmediate(() => {
      const due = batch;
      batch = [];
      burnCpu(busyUs * due.length);
      for (const send of due) send();
    });
  }
  batch.push(reply);
}

server.addService(ipam.Ipam.service, {
  Allocate: (call, callback) => answer(() => callback(null, {
    allocations: call.request.pools.map((pool) => ({ pool, address: `${addressOf()}/8`, gateway: '10.0.0.1', routes: [{ dst: '0.0.0.0/0', gw: '' }], dns: {}, family: 'IPV4' })),
  })),
  Release: (call, callback) => answer(() => callback(null, {
    released: call.request.pools.map((pool) => ({
      pool, address: addressOf(), family: 'IPV4', containerId: call.request.containerId, ifname: call.request.ifname, network: 'benchnet',
      podNamespace: 'bench', podName: 'pod', podUid: '', netns: '', bootId: '00000000-0000-0000-0000-000000000000', createdAtUnixMs: Date.now(),
    })),
  })),
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
