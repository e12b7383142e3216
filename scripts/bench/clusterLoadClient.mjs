#!/usr/bin/env node
// Cluster-wide load: Allocate+Release pairs against many berthd nodes AT ONCE (loadClient.mjs
// visits its targets one after another, to compare them; here they are loaded together, as a
// cluster's nodes are). Run as its own process with one JSON argument, prints one JSON line:
//   { sockets: [path...], perNode: N in flight on each, roundMs, warmupMs, pool }
//   -> { pairs, seconds, callsPerSec, callMs: {p50, p99, mean}, allocateMs, perNodeCallsPerSec: {min, max}, errors }
// With mode "alternate" ({ sockets, rounds, roundMs, warmupMs, pool }): one call at a time,
// alternating between the sockets -> { rounds: [[{ pairs, allocateMs: {p50, p99} } per socket] per round] }
// Imported, it gives the bench section the same gRPC calls (connect, unary) for its own steps.
import { credentials } from '@grpc/grpc-js';
import { pathToFileURL } from 'node:url';
import { loadIpamPackage } from './ipamProto.mjs';
import { msSince, percentile, round } from './stats.mjs';

let ipam;

export function connect(socket) {
  ipam ??= loadIpamPackage().ipam;
  const client = new ipam.Ipam(`unix://${socket}`, credentials.createInsecure());
  return new Promise((resolve, reject) => client.waitForReady(Date.now() + 20_000, (error) => (error ? reject(error) : resolve(client))));
}

export function unary(client, method, request, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline: Date.now() + timeoutMs }, (error, reply) => (error ? reject(new Error(`${method}: ${error.message}`)) : resolve(reply)));
  });
}

export const allocateRequest = (containerId, pool) => ({ containerId, ifname: 'eth0', pools: [pool], network: 'benchnet', podNamespace: 'bench', podName: containerId });
export const releaseRequest = (containerId, pool) => ({ containerId, ifname: 'eth0', pools: [pool] });

/** Blocks of `pool` this node serves, from its Status reply. */
export async function servedBlocks(client, pool) {
  const reply = await unary(client, 'Status', { pools: [pool] });
  return reply.cluster?.pools?.find((entry) => entry.pool === pool)?.blocks ?? [];
}

async function loadAll(clients, { perNode, roundMs, pool }) {
  const allocateMs = [];
  const callMs = [];
  const pairsByNode = clients.map(() => 0);
  let errors = 0;
  let firstError;
  const started = process.hrtime.bigint();
  const worker = async (client, node, w) => {
    for (let i = 0; msSince(started) < roundMs; i++) {
      const containerId = `cl-${process.pid}-${node}-${w}-${i}`;
      try {
        let t = process.hrtime.bigint();
        await unary(client, 'Allocate', allocateRequest(containerId, pool));
        const allocate = msSince(t);
        t = process.hrtime.bigint();
        await unary(client, 'Release', releaseRequest(containerId, pool));
        allocateMs.push(allocate);
        callMs.push(allocate, msSince(t));
        pairsByNode[node]++;
      } catch (error) {
        errors++;
        firstError ??= error.message;
      }
    }
  };
  await Promise.all(clients.flatMap((client, node) => Array.from({ length: perNode }, (_, w) => worker(client, node, w))));
  const seconds = msSince(started) / 1000;
  const latency = (values) => ({ p50: round(percentile(values, 50)), p99: round(percentile(values, 99)), mean: round(values.reduce((a, b) => a + b, 0) / values.length) });
  const pairs = pairsByNode.reduce((a, b) => a + b, 0);
  const perNodeCalls = pairsByNode.map((n) => (2 * n) / seconds);
  return {
    pairs, seconds: round(seconds), callsPerSec: round((2 * pairs) / seconds, 1), callMs: latency(callMs), allocateMs: latency(allocateMs),
    perNodeCallsPerSec: { min: round(Math.min(...perNodeCalls), 1), max: round(Math.max(...perNodeCalls), 1) }, errors, firstError,
  };
}

/**
 * One call at a time, alternating between the targets pair by pair (the order flips every pair),
 * so both see the same moment's machine load: drift on a shared machine cancels call by call.
 */
async function alternate(clients, { rounds, roundMs, warmupMs, pool }) {
  const pair = async (client, id, into) => {
    const t = process.hrtime.bigint();
    await unary(client, 'Allocate', allocateRequest(id, pool));
    into?.push(msSince(t));
    await unary(client, 'Release', releaseRequest(id, pool));
  };
  let sequence = 0;
  const run = async (ms, samples) => {
    const started = process.hrtime.bigint();
    for (let i = 0; msSince(started) < ms; i++) {
      for (let k = 0; k < clients.length; k++) {
        const target = (i + k) % clients.length;
        await pair(clients[target], `alt-${process.pid}-${sequence++}`, samples?.[target]);
      }
    }
  };
  await run(warmupMs);
  const results = [];
  for (let r = 0; r < rounds; r++) {
    const samples = clients.map(() => []);
    await run(roundMs, samples);
    results.push(samples.map((values) => ({ pairs: values.length, allocateMs: { p50: round(percentile(values, 50)), p99: round(percentile(values, 99)) } })));
  }
  return results;
}

async function main() {
  const spec = JSON.parse(process.argv[2] ?? '{}');
  const clients = await Promise.all(spec.sockets.map(connect));
  if (spec.mode === 'alternate') {
    const rounds = await alternate(clients, spec);
    for (const client of clients) client.close();
    process.stdout.write(`${JSON.stringify({ rounds })}\n`);
    return;
  }
  if (spec.warmupMs > 0) await loadAll(clients, { ...spec, roundMs: spec.warmupMs });
  const result = await loadAll(clients, spec);
  for (const client of clients) client.close();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error) => {
    process.stderr.write(`cluster load client: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
