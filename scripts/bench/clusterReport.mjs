// The cluster section of results.md: cluster-mode ADD against file mode, block claims, etcd
// writes per pod churn, ADD across N nodes, and the claim storm. Every table names what it counts.
import { fixed, ms, perSec, ratio, table } from './reportFormat.mjs';

const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const count = (n) => n.toLocaleString('en-US');
const cpuCell = (cpu) => (cpu ? `${cpu.file} µs, ${cpu.cluster} µs (${cpu.ratio?.toFixed(2) ?? '–'}×)` : '–');

export function renderCluster(cluster) {
  const { addVsFile, churn, clusterWide, simulation } = cluster;
  const out = ['## 5. Cluster pools (etcd)', '',
    `One etcd of the section's own: ${cluster.etcd}. Cluster pool \`${cluster.pool.name}\` ${cluster.pool.subnet} in /${cluster.pool.blockSize} blocks; every berthd below is a real process with its own database and socket, all on that etcd.`, ''];

  out.push('**Cluster-mode ADD against file-mode ADD** (owned free block)', '',
    `Two berthds, one serving a file pool ${cluster.filePool.subnet}, one a cluster pool whose block it already owns; one load client process drives Allocate+Release pairs on both: at 1 in flight alternating call by call (the order flipping every pair) for ${addVsFile.byCall.rounds} rounds of ${addVsFile.roundMs} ms, so both see the same moment's load; at 1 and 16 in flight also daemon by daemon, ${addVsFile.rounds} interleaved rounds of ${addVsFile.roundMs} ms each. ` +
    `Block claims during the rounds: ${addVsFile.claimsDuringRounds} (owned blocks ${addVsFile.ownedBlocksBefore} before, ${addVsFile.ownedBlocksAfter} after), so no ADD waited on etcd: this is the serving path alone. Ratios are cluster / file, median (min–max) of per-round ratios.`, '',
    table(['In flight', 'file Allocate p50 / p99', 'cluster Allocate p50 / p99', 'Allocate p50 cluster / file', 'Allocate p99 cluster / file', 'calls/s cluster / file', 'inside berthd, Allocate mean: file, cluster', 'berthd CPU per ADD+DEL pair: file, cluster (cluster / file)'], [
      ['1, alternating call by call', `${fixed(addVsFile.byCall.file.allocateP50Ms.median)} / ${fixed(addVsFile.byCall.file.allocateP99Ms.median)} ms`,
        `${fixed(addVsFile.byCall.cluster.allocateP50Ms.median)} / ${fixed(addVsFile.byCall.cluster.allocateP99Ms.median)} ms`,
        ratio(addVsFile.byCall.ratios.allocateP50), ratio(addVsFile.byCall.ratios.allocateP99), '–', '–', cpuCell(addVsFile.byCall.cpuPerPairUs)],
      ...addVsFile.levels.map((l) => [`${l.concurrency}, interleaved rounds`,
        `${fixed(l.file.allocateP50Ms.median)} / ${fixed(l.file.allocateP99Ms.median)} ms`, `${fixed(l.cluster.allocateP50Ms.median)} / ${fixed(l.cluster.allocateP99Ms.median)} ms`,
        ratio(l.ratios.allocateP50), ratio(l.ratios.allocateP99), ratio(l.ratios.callsPerSec),
        `${fixed(l.insideDaemon.file.meanMs)} ms, ${fixed(l.insideDaemon.cluster.meanMs)} ms`, cpuCell(l.cpuPerPairUs)])]), '',
    'CPU per pair: user+system time of each berthd process over the rounds (/proc), divided by the pairs it served; the cluster node\'s includes its background work (etcd liveness, the 1 s sync, usage reports). It moves far less with the machine\'s load than latency does.', '');

  const storm = simulation.storm;
  out.push('**Block claim latency** (BlockClaimer over EtcdClaimStore: the protocol code berthd runs, bundled from daemon/src/cluster)', '',
    table(['Claims', 'p50', 'p99'], [
      [`${simulation.claimLatency.claims} one after another, one node`, `${fixed(simulation.claimLatency.p50Ms)} ms`, `${fixed(simulation.claimLatency.p99Ms)} ms`],
      [`${count(storm.nodes)} nodes at once (${storm.concurrency} in flight)`, `${fixed(storm.stormClaimMs.p50)} ms`, `${fixed(storm.stormClaimMs.p99)} ms`],
    ]), '');

  out.push(`**etcd writes per ${count(churn.patterns[0].cycles)} pod ADD/DEL cycles at /${cluster.pool.blockSize}**`, '',
    `Real berthd (block idle release after 1 s): ${churn.method}. burst: ${count(churn.patterns[0].cycles)} ADDs (8 in flight), then as many DELs; steady30: 30 pods, then DEL+ADD one at a time. ` +
    'Engine (simulated time, 20 pod operations a second, usage flushed every 10 s, idle blocks released at once): the same patterns through BlockClaimer and NodePresence with a counting store. Calico writes at least 2 per pod (the block and the handle).', '',
    table(['Pattern', 'measured on', 'etcd writes', 'claims', 'releases', 'usage and liveness', 'time'], [
      ...churn.patterns.map((p) => [p.pattern, 'berthd', String(p.etcdWrites), String(p.claims), String(p.releases), String(p.otherWrites), `${fixed(p.busySeconds)} s of calls`]),
      ...simulation.writes.map((w) => [w.pattern, 'engine', String(w.etcdWrites), String(w.claims), String(w.releases), String(w.usageWrites), `${fixed((w.cycles * (w.pattern === 'burst' ? 2 : 2)) / w.podsPerSecond)} s simulated`]),
    ]), '');

  const w = clusterWide;
  out.push(`**ADD throughput across ${w.nodes} nodes** (all loaded at once by one client process, ${w.perNode} Allocate+Release pairs in flight on each, ${w.rounds} rounds of ${fixed(w.roundMs / 1000)} s)`, '',
    table(['Nodes', 'in flight', 'calls/s, cluster-wide', 'calls/s per node (min–max)', 'call p50', 'call p99', 'Allocate p50 / p99', 'errors', 'blocks served, duplicate owners', 'berthd RSS (median, sum)', 'start of all nodes'], [[
      String(w.nodes), String(w.inFlight), perSec(w.callsPerSec),
      `${fixed(w.perNodeCallsPerSec.min)}–${fixed(w.perNodeCallsPerSec.max)}`, ms(w.callP50Ms), ms(w.callP99Ms),
      `${fixed(w.allocateP50Ms.median)} / ${fixed(w.allocateP99Ms.median)} ms`, String(w.errors), `${w.blocksServed} on ${w.nodesServing} nodes, ${w.duplicateBlocks}`,
      `${fixed(w.rssMb.median)} MB, ${count(w.rssMb.total)} MB`, `${fixed(w.startSeconds)} s`,
    ]]), '',
    ...(w.oneNode ? [`One of the nodes loaded alone with the same ${w.inFlight} calls in flight, in the same rounds: ${perSec(w.oneNode.callsPerSec)} calls/s, call p50 ${ms(w.oneNode.callP50Ms)}, p99 ${ms(w.oneNode.callP99Ms)}; cluster-wide / one node: ${ratio(w.callsPerSecVsOneNode)}.`, ''] : []),
    ...(w.keysAdded === undefined ? [] : [`Starting the ${w.nodes} nodes added ${count(w.keysAdded)} keys under /berth (${fixed(w.keysPerNode)} per node: its block, usage and liveness keys).`, '']),
    `All ${w.nodes} daemons, the client and etcd share the machine's cores, so the cluster-wide figure is this machine's ceiling, not ${w.nodes} machines' sum: on real nodes each berthd has its own CPU and disk, and ADD never waits on etcd while a block has room.`, '');

  out.push(`**${count(storm.nodes)} nodes claiming at once** (the claim protocol's own code; each simulated node a BlockClaimer, ${storm.clients} etcd clients, ${storm.concurrency} claims in flight)`, '',
    table(['Nodes', 'pool', 'time to converge', 'claimed', 'failed, then claimed on retry', 'lost races', 'pool listings', 'duplicate owners', 'orphan blocks', 'keys', 'etcd DB (in use)'], [[
      count(storm.nodes), `${storm.subnet} (${count(storm.blocksInPool)} blocks)`, `${fixed(storm.convergeMs / 1000)} s`, count(storm.claimed), `${storm.failed}, ${storm.claimedOnRetry}`,
      count(storm.lostRaces), count(storm.listings), String(storm.duplicateBlocks), String(storm.orphanBlocks), count(storm.keys), `${mib(storm.dbBytes)} (${mib(storm.dbInUseBytes)})`,
    ]]), '',
    'Keys: one block key and one usage key per node, plus the pool definition. A lost race is a create that found the block taken (the node tries its next candidate); an orphan is a block in etcd no node was told it owns.', '');
  return out;
}
