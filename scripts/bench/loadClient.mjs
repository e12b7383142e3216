#!/usr/bin/env node
// A separate client process that drives Allocate+Release pairs over berth's API with N calls in
// flight, against several servers in interleaved rounds (same connection settings, same code
// path for each). Takes one JSON argument, prints one JSON line:
//   { targets: [{name, socket}], concurrency, rounds, roundMs | roundPairs, warmupMs, pool }
//   -> { targets: { <name>: [ { pairs, seconds, pairsPerSec, callsPerSec, allocateMs, releaseMs, callMs, clientCpuUsPerCall, clientBusy }, ... per round ] },
//        warmupPairs: { <name>: pairs } }
// Latency fields are { p50, p99, mean } in milliseconds. clientCpuUsPerCall is this process's own
// CPU (user + system) per call in the round; clientBusy that CPU over the round's wall time (1 = one core).
import { credentials } from '@grpc/grpc-js';
import { loadIpamPackage } from './ipamProto.mjs';
import { msSince, percentile, round } from './stats.mjs';

const spec = JSON.parse(process.argv[2] ?? '{}');
const { ipam } = loadIpamPackage();

function unary(client, method, request) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline: Date.now() + 30_000 }, (error, reply) => (error ? reject(new Error(`${method}: ${error.message}`)) : resolve(reply)));
  });
}

function connect(socket) {
  const client = new ipam.Ipam(`unix://${socket}`, credentials.createInsecure());
  return new Promise((resolve, reject) => client.waitForReady(Date.now() + 10_000, (error) => (error ? reject(error) : resolve(client))));
}

let sequence = 0;

/** Workers each run pairs back to back until the round is over; N workers = N calls in flight. */
async function runRound(client, { concurrency, roundMs, roundPairs, pool }) {
  const allocateMs = [];
  const releaseMs = [];
  let pairs = 0;
  const started = process.hrtime.bigint();
  const more = () => (roundPairs ? pairs + inFlight < roundPairs : msSince(started) < roundMs);
  let inFlight = 0;
  const cpuBefore = process.cpuUsage();
  const worker = async () => {
    while (more()) {
      inFlight++;
      const containerId = `load-${process.pid}-${sequence++}`;
      let t = process.hrtime.bigint();
      await unary(client, 'Allocate', { containerId, ifname: 'eth0', pools: [pool], network: 'benchnet', podNamespace: 'bench', podName: containerId });
      allocateMs.push(msSince(t));
      t = process.hrtime.bigint();
      await unary(client, 'Release', { containerId, ifname: 'eth0', pools: [pool] });
      releaseMs.push(msSince(t));
      inFlight--;
      pairs++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = msSince(started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuUs = cpu.user + cpu.system;
  const latency = (values) => ({ p50: round(percentile(values, 50)), p99: round(percentile(values, 99)), mean: round(values.reduce((a, b) => a + b, 0) / values.length) });
  return {
    pairs, seconds: round(seconds), pairsPerSec: round(pairs / seconds, 1), callsPerSec: round((2 * pairs) / seconds, 1),
    allocateMs: latency(allocateMs), releaseMs: latency(releaseMs), callMs: latency([...allocateMs, ...releaseMs]),
    clientCpuUsPerCall: round(cpuUs / Math.max(1, 2 * pairs), 1), clientBusy: round(cpuUs / 1e6 / seconds, 3),
  };
}

async function main() {
  const clients = [];
  for (const target of spec.targets) clients.push({ name: target.name, client: await connect(target.socket) });
  const warmupPairs = Object.fromEntries(clients.map(({ name }) => [name, 0]));
  for (const { name, client } of clients) {
    if (spec.warmupMs > 0) warmupPairs[name] = (await runRound(client, { ...spec, roundMs: spec.warmupMs, roundPairs: undefined })).pairs;
  }
  const results = Object.fromEntries(clients.map(({ name }) => [name, []]));
  for (let r = 0; r < spec.rounds; r++) {
    for (let i = 0; i < clients.length; i++) {
      const { name, client } = clients[(r + i) % clients.length];
      results[name].push(await runRound(client, spec));
    }
  }
  for (const { client } of clients) client.close();
  process.stdout.write(`${JSON.stringify({ targets: results, warmupPairs })}\n`);
}

main().catch((error) => {
  process.stderr.write(`load client: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
