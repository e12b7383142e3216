// berthctl cluster ...: the cluster pools as etcd holds them, read by berthctl itself with the
// same --etcd-* flags as berthd. Straight from etcd rather than through one berthd's socket: an
// operator looks at the whole cluster, and release-node must work while that node is stopped
// (it usually is: that is why its blocks are being released). `check` also asks the local
// berthd, when it answers, for the blocks it serves, to find those etcd does not know.
import type { Command } from 'commander';
import type { ClaimStore, ClusterBlock, NodeRecord, UsageRecord } from '../cluster/index.ts';
import { parseClusterFlags, PASSWORD_ENV, type ClusterFlags } from '../config/clusterFlags.ts';

interface CtlHooks {
  readonly print: (value: unknown, json: boolean, human: () => string) => void;
  /** Local berthd's cluster status, or undefined when it does not answer. */
  readonly localStatus: () => Promise<{ pools: { pool: string; blocks: string[] }[] } | undefined>;
  readonly fail: (exitCode: number, message: string) => Error;
  readonly exitCodes: { readonly REFUSED: number; readonly USAGE: number; readonly UNREACHABLE: number };
}

export function addClusterCommands(program: Command, hooks: CtlHooks): void {
  const cluster = program.command('cluster')
    .description('cluster pools as etcd holds them (read with the same --etcd-* flags as berthd)')
    .option('--etcd-endpoints <urls>', 'etcd client URLs, comma-separated', process.env.BERTH_ETCD_ENDPOINTS)
    .option('--etcd-prefix <path>', 'key prefix of berth\'s records', process.env.BERTH_ETCD_PREFIX ?? '/berth')
    .option('--etcd-ca <file>', 'CA bundle (PEM) of the etcd servers')
    .option('--etcd-cert <file>', 'client certificate (PEM)')
    .option('--etcd-key <file>', 'key (PEM) of --etcd-cert')
    .option('--etcd-username <name>', `etcd user (password from --etcd-password-file or ${PASSWORD_ENV})`)
    .option('--etcd-password-file <file>', 'file holding the etcd password')
    .option('--etcd-timeout-ms <ms>', 'deadline of every etcd call', '3000');

  const withStore = async <T>(run: (store: ClaimStore, prefix: string, engine: typeof import('../cluster/index.ts')) => Promise<T>): Promise<T> => {
    const flags = cluster.opts<Omit<ClusterFlags, 'nodeLabels' | 'blockIdleSeconds'>>();
    let options;
    try {
      options = parseClusterFlags({ ...flags, blockIdleSeconds: '0' });
    } catch (error) {
      throw hooks.fail(hooks.exitCodes.USAGE, `cluster: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!options) throw hooks.fail(hooks.exitCodes.USAGE, 'cluster: give --etcd-endpoints (or BERTH_ETCD_ENDPOINTS)');
    // Loaded only here: the other commands never pay for the etcd client.
    const engine = await import('../cluster/index.ts');
    const store = new engine.EtcdClaimStore({ endpoints: options.endpoints, deadlineMs: options.timeoutMs, ...(options.tls ? { tls: options.tls } : {}), ...(options.auth ? { auth: options.auth } : {}) });
    try {
      return await run(store, options.prefix, engine);
    } catch (error) {
      if (error instanceof engine.ClusterUnavailableError) throw hooks.fail(hooks.exitCodes.UNREACHABLE, `cannot reach etcd at ${options.endpoints.join(', ')}: ${error.detail}`);
      if (error instanceof engine.NodeAliveError) throw hooks.fail(hooks.exitCodes.REFUSED, error.message);
      throw error;
    } finally {
      await store.close();
    }
  };

  const snapshot = (store: ClaimStore, prefix: string, engine: typeof import('../cluster/index.ts')) => Promise.all([
    new engine.BlockClaimer({ store, node: 'berthctl', prefix }).listBlocks(),
    engine.listNodes(store, prefix),
    engine.listUsage(store, prefix),
  ]).then(([blocks, nodes, usage]) => ({ blocks: blocks.blocks, nodes: nodes.nodes, usage: usage.usage }));

  cluster.command('pools')
    .description('cluster pools recorded in etcd: definition, who recorded it, blocks claimed')
    .option('--json', 'machine-readable output')
    .action((options: { json?: boolean }) => withStore(async (store, prefix, engine) => {
      const [{ pools }, { blocks }] = await Promise.all([new engine.ClusterPoolRegistry(store, 'berthctl', prefix).list(), new engine.BlockClaimer({ store, node: 'berthctl', prefix }).listBlocks()]);
      const rows = pools.map((pool) => ({
        name: pool.name, subnet: pool.pool.subnetText, blockSize: pool.pool.blockSize, totalBlocks: String(blockCount(pool.pool)),
        claimedBlocks: blocks.filter((block) => block.pool === pool.name).length, recordedBy: pool.recordedBy, recordedAt: pool.recordedAt, definition: JSON.parse(pool.definition) as unknown,
      }));
      hooks.print(rows, Boolean(options.json), () => table(['POOL', 'SUBNET', 'BLOCK', 'CLAIMED', 'TOTAL', 'RECORDED BY'],
        rows.map((row) => [row.name, row.subnet, `/${row.blockSize}`, String(row.claimedBlocks), row.totalBlocks, row.recordedBy])));
    }));

  cluster.command('nodes')
    .description('nodes: name, labels, last seen, blocks, addresses used (as last reported)')
    .option('--json', 'machine-readable output')
    .action((options: { json?: boolean }) => withStore(async (store, prefix, engine) => {
      const rows = nodeRows(await snapshot(store, prefix, engine));
      hooks.print(rows, Boolean(options.json), () => table(['NODE', 'ALIVE', 'LAST SEEN', 'BLOCKS', 'USED', 'LABELS'],
        rows.map((row) => [row.name, row.alive ? 'yes' : 'no', row.lastSeen || '-', String(row.blocks), String(row.used), Object.entries(row.labels).map(([k, v]) => `${k}=${v}`).join(',')])));
    }));

  cluster.command('blocks')
    .description('blocks: CIDR, pool, owner, used and free as last reported (the node->block map a routing daemon needs)')
    .option('--pool <name>', 'only this pool')
    .option('--json', 'machine-readable output')
    .action((options: { pool?: string; json?: boolean }) => withStore(async (store, prefix, engine) => {
      const state = await snapshot(store, prefix, engine);
      const rows = blockRows(state).filter((row) => options.pool === undefined || row.pool === options.pool);
      hooks.print(rows, Boolean(options.json), () => table(['BLOCK', 'POOL', 'NODE', 'USED', 'FREE', 'CLAIMED AT'],
        rows.map((row) => [row.cidr, row.pool, row.node, row.used === undefined ? '-' : String(row.used), row.free === undefined ? '-' : String(row.free), row.claimedAt])));
    }));

  cluster.command('check')
    .description('problems: blocks of nodes not alive for a while, local blocks etcd does not know, keys that are not berth records')
    .option('--stale-seconds <n>', 'a node not seen this long holds its blocks for nothing', '600')
    .option('--json', 'machine-readable output')
    .action((options: { staleSeconds: string; json?: boolean }) => withStore(async (store, prefix, engine) => {
      const staleMs = Number(options.staleSeconds) * 1000;
      if (!Number.isFinite(staleMs) || staleMs < 0) throw hooks.fail(hooks.exitCodes.USAGE, `--stale-seconds: "${options.staleSeconds}" is not a number of seconds`);
      const state = await snapshot(store, prefix, engine);
      const audit = await engine.auditCluster(store, prefix);
      const findings: string[] = audit.problems.map((problem) => `bad record: ${problem.message}`);
      for (const row of nodeRows(state)) {
        const seen = row.lastSeen ? Date.parse(row.lastSeen) : 0;
        if (!row.alive && row.blocks > 0 && Date.now() - seen >= staleMs) {
          findings.push(`node "${row.name}" is not alive (last seen ${row.lastSeen || 'never'}) and holds ${row.blocks} block(s), ${row.used} address(es) in use as last reported: if it is gone for good, berthctl cluster release-node ${row.name}`);
        }
      }
      const local = await hooks.localStatus();
      const known = new Set(state.blocks.map((block) => `${block.pool} ${block.cidr}`));
      for (const pool of local?.pools ?? []) {
        for (const cidr of pool.blocks) if (!known.has(`${pool.pool} ${cidr}`)) findings.push(`the local berthd serves block ${cidr} of pool "${pool.pool}", which etcd does not know`);
      }
      hooks.print({ ok: findings.length === 0, findings, checkedLocalDaemon: local !== undefined }, Boolean(options.json), () =>
        (findings.length === 0 ? 'cluster ok\n' : `${findings.map((line) => `- ${line}`).join('\n')}\n`) + (local ? '' : '(local berthd not reachable: its blocks were not compared)\n'));
      if (findings.length > 0) process.exitCode = hooks.exitCodes.REFUSED;
    }));

  cluster.command('release-node <name>')
    .description('give back every block of a node that is gone; refused while the node is alive unless --force')
    .option('--force', 'release even though the node\'s liveness key exists (its leases in those blocks become conflicts when it returns)')
    .action((name: string, options: { force?: boolean }) => withStore(async (store, prefix, engine) => {
      const { released } = await new engine.BlockClaimer({ store, node: 'berthctl', prefix }).releaseNode(name, { force: Boolean(options.force) });
      process.stdout.write(`released ${released.length} block(s) of node "${name}"${released.length > 0 ? `: ${released.map((block) => block.cidr).join(', ')}` : ''}\n`);
    }));
}

interface Snapshot { blocks: ClusterBlock[]; nodes: NodeRecord[]; usage: UsageRecord[] }

function blockRows({ blocks, usage }: Snapshot) {
  const reported = new Map(usage.flatMap((record) => record.blocks.map((block) => [`${record.node} ${block.pool} ${block.cidr}`, block] as const)));
  return blocks.map((block) => {
    const last = reported.get(`${block.node} ${block.pool} ${block.cidr}`);
    return { cidr: block.cidr, pool: block.pool, node: block.node, claimedAt: block.claimedAt, ...(last ? { used: last.used, free: last.free } : {}) };
  }).sort((a, b) => (a.pool === b.pool ? a.cidr.localeCompare(b.cidr, 'en', { numeric: true }) : a.pool < b.pool ? -1 : 1));
}

function nodeRows(state: Snapshot) {
  const names = new Set([...state.nodes.map((node) => node.name), ...state.blocks.map((block) => block.node)]);
  return [...names].sort().map((name) => {
    const record = state.nodes.find((node) => node.name === name);
    const usage = state.usage.find((report) => report.node === name);
    return {
      name, alive: record !== undefined, labels: record?.labels ?? {}, lastSeen: [record?.lastSeen, usage?.reportedAt].filter((time): time is string => Boolean(time)).sort().at(-1) ?? '',
      blocks: state.blocks.filter((block) => block.node === name).length, used: usage?.blocks.reduce((sum, block) => sum + block.used, 0) ?? 0,
    };
  });
}

function blockCount(pool: { subnet: { family: 4 | 6; prefixLength: number }; blockSize: number }): bigint {
  return 1n << BigInt(pool.blockSize - pool.subnet.prefixLength);
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  return [header, ...rows].map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}
