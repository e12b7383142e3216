// berthctl: see and fix berth's state through the daemon's socket.
// Exit codes: 0 ok · 1 the daemon refused (reason printed) · 2 usage · 3 daemon unreachable ·
// 4 `status`: a pool cannot serve (exhausted).
import { Command, CommanderError, Option } from 'commander';
import { GrpcStatus } from '../errors.ts';
import { connectIpam, IpamCallError, type IpamClient } from '../grpc/ipamClient.ts';
import { BackupFileError, readExportChunks, writeExport, writeFileAtomically, type TextSink } from './backupFile.ts';
import { LeaseTableStream, renderLeases, renderPools, renderPrefixes, type LeaseRow, type PoolRow, type PrefixRow } from './render.ts';
import { addClusterCommands } from './clusterCommands.ts';

const DEFAULT_SOCKET = '/run/berth/berthd.sock';
/** Leases per ListLeases page when listing or exporting. */
const LEASE_PAGE_SIZE = 5000;

export const ExitCode = { OK: 0, REFUSED: 1, USAGE: 2, UNREACHABLE: 3, NOT_SERVING: 4 } as const;

class ExitWith extends Error {
  constructor(readonly exitCode: number, message: string) {
    super(message);
  }
}

const program = new Command('berthctl')
  .description('Inspect and repair berth IPAM state through berthd')
  .option('--socket <path>', 'berthd socket', process.env.BERTH_SOCKET ?? DEFAULT_SOCKET)
  .option('--timeout <seconds>', 'give up after this many seconds', '10')
  .exitOverride()
  .configureOutput({ writeErr: (text) => process.stderr.write(text) });

async function withClient<T>(run: (client: IpamClient) => Promise<T>): Promise<T> {
  const options = program.opts<{ socket: string }>();
  const client = connectIpam(options.socket);
  try {
    return await run(client);
  } finally {
    client.close();
  }
}

function timeoutMs(): number {
  const seconds = Number(program.opts<{ timeout: string }>().timeout);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new ExitWith(ExitCode.USAGE, `--timeout: "${program.opts<{ timeout: string }>().timeout}" is not a positive number`);
  return seconds * 1000;
}

function print(value: unknown, json: boolean, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : human());
}

const collect = (value: string, previous: string[]) => [...previous, value];

program.command('pools')
  .description('list pools with size, allocated and free addresses')
  .option('--json', 'machine-readable output')
  .action(async (options: { json?: boolean }) => {
    const reply = await withClient((client) => client.call<{ pools: PoolRow[] }>('ListPools', {}, timeoutMs()));
    print(reply.pools, Boolean(options.json), () => renderPools(reply.pools));
  });

program.command('leases')
  .description('list leases')
  .option('--pool <name>', 'only this pool')
  .option('--container <id>', 'only this container id')
  .option('--network <name>', 'only this CNI network')
  .option('--address-space <name>', 'only pools of this address space (VRF)')
  .addOption(new Option('--network-instance <name>', 'deprecated: --address-space').hideHelp())
  .option('--cooling', 'only leases cooling down after release (reclaim delay)')
  .option('--active', 'only active leases')
  .option('--json', 'machine-readable output')
  .action(async (options: { pool?: string; container?: string; network?: string; addressSpace?: string; networkInstance?: string; cooling?: boolean; active?: boolean; json?: boolean }) => {
    const state = options.cooling ? 'COOLING' : options.active ? 'ACTIVE' : 'LEASE_STATE_UNSPECIFIED';
    const filter = { pool: options.pool ?? '', containerId: options.container ?? '', network: options.network ?? '', addressSpace: options.addressSpace ?? options.networkInstance ?? '', state };
    // Page by page to stdout: a million leases are never held here at once.
    await withClient(async (client) => {
      const out = stdoutSink();
      const human = new LeaseTableStream();
      let count = 0;
      for await (const page of leasePages(client, filter)) {
        if (options.json) await out.write(page.map((lease) => `${count++ === 0 ? '[\n' : ',\n'}${indent(JSON.stringify(lease, null, 2))}`).join(''));
        else await out.write(human.rows(page));
      }
      if (options.json) await out.write(count === 0 ? '[]\n' : '\n]\n');
      else await out.write(human.end());
    });
  });

/** Every lease matching the filter, a page at a time (ListLeases keyset paging). */
async function* leasePages(client: IpamClient, filter: object): AsyncGenerator<LeaseRow[]> {
  let pageToken = '';
  do {
    const reply = await client.call<{ leases: LeaseRow[]; nextPageToken: string }>('ListLeases', { ...filter, pageSize: LEASE_PAGE_SIZE, pageToken }, timeoutMs());
    yield reply.leases;
    pageToken = reply.nextPageToken;
  } while (pageToken !== '');
}

function stdoutSink(): TextSink {
  return {
    write: (text) => new Promise<void>((resolve, reject) => {
      if (text === '') resolve();
      else if (process.stdout.write(text)) resolve();
      else {
        process.stdout.once('drain', resolve);
        process.stdout.once('error', reject);
      }
    }),
  };
}

const indent = (text: string) => text.replace(/^/gm, '  ');

program.command('prefixes')
  .description('list prefix leases (whole subnets held by owners, from prefix pools)')
  .option('--pool <name>', 'only this prefix pool')
  .option('--owner <owner>', 'only this owner')
  .option('--json', 'machine-readable output')
  .action(async (options: { pool?: string; owner?: string; json?: boolean }) => {
    const reply = await withClient((client) => client.call<{ prefixes: PrefixRow[] }>('ListPrefixes', { pool: options.pool ?? '', owner: options.owner ?? '' }, timeoutMs()));
    print(reply.prefixes, Boolean(options.json), () => renderPrefixes(reply.prefixes));
  });

program.command('allocate-prefix <pool> <owner>')
  .description('give an owner a prefix from a prefix pool (idempotent: asking again returns the one it holds)')
  .option('--length <n>', "prefix length (default: the pool's prefixLength)")
  .option('--prefix <cidr>', 'this specific prefix')
  .option('--json', 'machine-readable output')
  .action(async (pool: string, owner: string, options: { length?: string; prefix?: string; json?: boolean }) => {
    const prefixLength = options.length === undefined ? 0 : Number(options.length);
    if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 128) throw new ExitWith(ExitCode.USAGE, `--length: "${options.length}" is not a prefix length`);
    const reply = await withClient((client) => client.call<{ prefix: PrefixRow }>('AllocatePrefix',
      { pool, owner, prefixLength, requestedPrefix: options.prefix ?? '' }, timeoutMs()));
    print(reply.prefix, Boolean(options.json), () => renderPrefixes([reply.prefix]));
  });

program.command('release-prefix <pool> <owner>')
  .description('release the prefix an owner holds in a pool (it cools down first when the pool has reclaimDelaySeconds)')
  .option('--json', 'machine-readable output')
  .action(async (pool: string, owner: string, options: { json?: boolean }) => {
    const reply = await withClient((client) => client.call<{ released: PrefixRow[] }>('ReleasePrefix', { pool, owner }, timeoutMs()));
    print(reply.released, Boolean(options.json), () =>
      reply.released.length === 0 ? `nothing held by ${owner} in ${pool}\n` : `released:\n${renderPrefixes(reply.released)}`);
  });

program.command('release <container-id>')
  .description('release the leases of an attachment (for a leak you have confirmed)')
  .option('--ifname <name>', 'interface name', 'eth0')
  .option('--pool <name>', 'only this pool (repeatable)', collect, [])
  .option('--json', 'machine-readable output')
  .action(async (containerId: string, options: { ifname: string; pool: string[]; json?: boolean }) => {
    const reply = await withClient((client) => client.call<{ released: LeaseRow[] }>('Release', { containerId, ifname: options.ifname, pools: options.pool }, timeoutMs()));
    print(reply.released, Boolean(options.json), () =>
      reply.released.length === 0 ? `nothing held by ${containerId} ${options.ifname}\n` : `released:\n${renderLeases(reply.released)}`);
  });

program.command('check <container-id>')
  .description('check that an attachment holds a lease in each pool (exit 1 when not)')
  .option('--ifname <name>', 'interface name', 'eth0')
  .requiredOption('--pool <name>', 'pool (repeatable)', collect, [])
  .option('--address <ip>', 'expected address (repeatable)', collect, [])
  .option('--json', 'machine-readable output')
  .action(async (containerId: string, options: { ifname: string; pool: string[]; address: string[]; json?: boolean }) => {
    const reply = await withClient((client) => client.call<{ allocations: { pool: string; address: string }[] }>('Check',
      { containerId, ifname: options.ifname, pools: options.pool, expectedAddresses: options.address }, timeoutMs()));
    print(reply.allocations, Boolean(options.json), () => reply.allocations.map((a) => `ok  ${a.pool}  ${a.address}\n`).join(''));
  });

program.command('gc')
  .description('release every lease of a CNI network whose attachment is not listed as valid')
  .requiredOption('--network <name>', 'CNI network name')
  .option('--valid <container-id/ifname>', 'an attachment to keep (repeatable)', collect, [])
  .option('--release-all', 'no attachment is valid: release every lease of the network')
  .option('--json', 'machine-readable output')
  .action(async (options: { network: string; valid: string[]; releaseAll?: boolean; json?: boolean }) => {
    if (options.valid.length === 0 && !options.releaseAll) {
      throw new ExitWith(ExitCode.USAGE, 'gc: give the attachments to keep with --valid <container-id/ifname>, or --release-all');
    }
    const validAttachments = options.valid.map((text) => {
      const slash = text.lastIndexOf('/');
      if (slash <= 0 || slash === text.length - 1) throw new ExitWith(ExitCode.USAGE, `--valid: "${text}" is not <container-id>/<ifname>`);
      return { containerId: text.slice(0, slash), ifname: text.slice(slash + 1) };
    });
    const reply = await withClient((client) => client.call<{ released: LeaseRow[] }>('GarbageCollect', { network: options.network, validAttachments }, timeoutMs()));
    print(reply.released, Boolean(options.json), () => `released ${reply.released.length} lease(s)\n${reply.released.length ? renderLeases(reply.released) : ''}`);
  });

program.command('status')
  .description('can the daemon serve an ADD now? exit 0 yes, 4 when a pool is exhausted, 3 when unreachable')
  .option('--pool <name>', 'only this pool (repeatable)', collect, [])
  .option('--json', 'machine-readable output')
  .action(async (options: { pool: string[]; json?: boolean }) => {
    const reply = await withClient((client) => client.call<{ pools: PoolRow[]; configError: string; cluster?: ClusterStatusReply }>('Status', { pools: options.pool }, timeoutMs()));
    // A cluster pool with no free address gets a block on the next ADD: exhausted only when it cannot.
    const clusterPools = new Set(reply.cluster?.pools.map((pool) => pool.pool) ?? []);
    const exhausted = reply.pools.filter((pool) => pool.free === '0' && (!clusterPools.has(pool.name) || !reply.cluster?.connected)).map((pool) => pool.name);
    print({ serving: exhausted.length === 0, exhausted, configError: reply.configError, pools: reply.pools, ...(reply.cluster ? { cluster: reply.cluster } : {}) }, Boolean(options.json), () =>
      (exhausted.length === 0 ? 'serving: every pool has free addresses\n' : `NOT serving: exhausted pools: ${exhausted.join(', ')}\n`)
      + (reply.configError ? `config reload refused: ${reply.configError} (still serving the previous pools)\n` : '')
      + (reply.cluster ? renderClusterStatus(reply.cluster) : '')
      + renderPools(reply.pools));
    if (exhausted.length > 0) process.exitCode = ExitCode.NOT_SERVING;
  });

program.command('export')
  .description('write every lease (active and cooling) and prefix lease as JSON (a backup, or to move a node)')
  .option('--output <file>', 'write here (atomically) instead of stdout')
  .action(async (options: { output?: string }) => {
    const counts = await withClient(async (client) => {
      // Prefixes after the leases: few (one per owner and pool), read once the leases are written.
      const listPrefixes = async () => (await client.call<{ prefixes: PrefixRow[] }>('ListPrefixes', {}, timeoutMs())).prefixes;
      const write = async (sink: TextSink) => writeExport(sink, leasePages(client, { state: 'LEASE_STATE_UNSPECIFIED' }), listPrefixes);
      return options.output ? writeFileAtomically(options.output, write) : write(stdoutSink());
    });
    if (options.output) process.stderr.write(`exported ${counts.leases} lease(s) and ${counts.prefixes} prefix lease(s) to ${options.output}\n`);
  });

program.command('import <file>')
  .description('restore leases and prefix leases from an export, all or none; conflicts refuse the whole import')
  .action(async (file: string) => {
    const reply = await withClient(async (client) => {
      const stream = client.stream<{ imported: number; alreadyPresent: number; importedPrefixes: number; prefixesAlreadyPresent: number }>('ImportLeasesStream');
      try {
        for await (const chunk of readExportChunks(file)) await stream.write({ leases: chunk.leases.map(renamedFields), prefixes: chunk.prefixes.map(renamedFields) });
      } catch (error) {
        // A damaged file: cancelling the stream imports nothing of what was sent.
        stream.cancel();
        if (error instanceof BackupFileError) throw new ExitWith(ExitCode.USAGE, `import: ${error.message}`);
        throw error;
      }
      return stream.end();
    });
    process.stdout.write(`imported ${reply.imported} lease(s), ${reply.alreadyPresent} already present; `
      + `${reply.importedPrefixes} prefix lease(s), ${reply.prefixesAlreadyPresent} already present\n`);
  });

/** An entry of an export written before networkInstance was renamed addressSpace. */
function renamedFields(entry: unknown): unknown {
  if (typeof entry !== 'object' || entry === null || !('networkInstance' in entry)) return entry;
  const { networkInstance, ...rest } = entry as { networkInstance: unknown };
  return { addressSpace: networkInstance, ...rest };
}


interface ClusterStatusReply {
  connected: boolean;
  outage: string;
  pools: { pool: string; blocks: string[]; lostBlocks: string[]; conflicts: number; refused: string; claimError: string }[];
}

function renderClusterStatus(cluster: ClusterStatusReply): string {
  const lines = [cluster.connected ? 'cluster: connected to etcd' : `cluster: DEGRADED, etcd unreachable (${cluster.outage}): serving from owned blocks, claiming nothing`];
  for (const pool of cluster.pools) {
    lines.push(`  ${pool.pool}: ${pool.blocks.length} block(s) ${pool.blocks.join(' ')}`
      + (pool.lostBlocks.length > 0 ? `; LOST ${pool.lostBlocks.join(' ')} with ${pool.conflicts} conflicting lease(s), kept until DEL` : '')
      + (pool.claimError ? `; CANNOT CLAIM: ${pool.claimError}` : '')
      + (pool.refused ? `; REFUSED: ${pool.refused}` : ''));
  }
  return `${lines.join('\n')}\n`;
}

addClusterCommands(program, {
  print,
  localStatus: async () => {
    try {
      return (await withClient((client) => client.call<{ cluster?: ClusterStatusReply }>('Status', {}, timeoutMs()))).cluster;
    } catch {
      return undefined;
    }
  },
  fail: (exitCode, message) => new ExitWith(exitCode, message),
  exitCodes: ExitCode,
});

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = exitCodeFor(error);
}

function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    return error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
  }
  if (error instanceof ExitWith) {
    process.stderr.write(`berthctl: ${error.message}\n`);
    return error.exitCode;
  }
  if (error instanceof IpamCallError) {
    if (error.code === GrpcStatus.UNAVAILABLE || error.code === GrpcStatus.DEADLINE_EXCEEDED) {
      process.stderr.write(`berthctl: cannot reach berthd at ${program.opts<{ socket: string }>().socket}: ${error.details}\n`);
      return ExitCode.UNREACHABLE;
    }
    process.stderr.write(`berthctl: ${error.details}${error.reason ? ` (${error.reason}, CNI code ${error.cniCode})` : ''}\n`);
    return ExitCode.REFUSED;
  }
  process.stderr.write(`berthctl: ${error instanceof Error ? error.message : String(error)}\n`);
  return ExitCode.REFUSED;
}
