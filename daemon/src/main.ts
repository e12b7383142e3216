// berthd: argv -> config -> app. Nothing else.
import { Command, Option } from 'commander';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { BerthApp } from './app.ts';
import { defaultConfig } from './config/defaultConfig.ts';
import { ClusterFlagError, parseClusterFlags, PASSWORD_ENV, type ClusterFlags } from './config/clusterFlags.ts';
import { configFilePoolSource, fixedPoolSource } from './config/poolSource.ts';
import { installOnNode } from './install/installFiles.ts';
import { TurnLog } from './turnLog.ts';

export const DEFAULT_SOCKET = '/run/berth/berthd.sock';
export const DEFAULT_DB = '/var/lib/berth/leases.db';

const program = new Command('berthd')
  .description('berth IPAM daemon: owns every address lease on this node and serves them over gRPC on a Unix socket')
  .option('--socket <path>', 'Unix socket to serve gRPC on', DEFAULT_SOCKET)
  .option('--db <path>', 'SQLite lease database', DEFAULT_DB)
  .option('--config <path>', 'pool configuration, YAML or JSON (required unless --example-pools)')
  .option('--example-pools', 'serve the embedded example pools default-v4 (10.88.0.0/16) and default-v6 (fd00:88::/64), for trying berth out; never in production')
  .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'))
  .option('--node-name <name>', 'name of this node in logs', process.env.NODE_NAME ?? hostname())
  .option('--metrics-addr <host:port>', 'listen address for /metrics, /healthz and /readyz; empty turns it off', '127.0.0.1:9464')
  .option('--no-release-stale-on-boot', 'keep leases from an earlier boot even when their netns is gone')
  .option('--netns-grace-seconds <n>', 'release a lease once its netns has been gone this long; 0 turns the cleaner off', '300')
  .option('--netns-check-seconds <n>', 'how often to look for leases whose netns is gone', '60')
  .option('--socket-group <gid>', 'numeric group that may also use the socket (mode 0660); default: owner only (0600)')
  .option('--max-queued-requests <n>', 'requests waiting for the database beyond this get RESOURCE_EXHAUSTED (OVERLOADED), which the plugin retries', '4096')
  .option('--etcd-endpoints <urls>', 'cluster mode: comma-separated etcd client URLs (host:port or http(s)://host:port) where cluster pools claim blocks')
  .option('--etcd-prefix <path>', 'key prefix of berth\'s records in etcd', '/berth')
  .option('--etcd-ca <file>', 'CA bundle (PEM) that signed the etcd server certificates')
  .option('--etcd-cert <file>', 'client certificate (PEM) for etcd mutual TLS')
  .option('--etcd-key <file>', 'key (PEM) of --etcd-cert')
  .option('--etcd-username <name>', `etcd user; the password comes from --etcd-password-file or ${PASSWORD_ENV}, never from the command line`)
  .option('--etcd-password-file <file>', 'file holding the etcd password (e.g. a mounted Secret)')
  .option('--etcd-timeout-ms <ms>', 'deadline of every etcd call', '2000')
  .option('--node-labels <k=v,...>', 'labels of this node, matched by the nodeSelector of cluster pools', process.env.BERTH_NODE_LABELS ?? '')
  .option('--block-idle-seconds <n>', 'give back a cluster pool block that stayed empty this long (a node keeps one block per pool); 0: never', '600')
  .action(async (options: { socket: string; db: string; config?: string; examplePools?: boolean; logLevel: string; nodeName: string; socketGroup?: string; metricsAddr: string; releaseStaleOnBoot: boolean; netnsGraceSeconds: string; netnsCheckSeconds: string; maxQueuedRequests: string } & ClusterFlags) => {
    // The lines of one callback go out together, in one synchronous write before anything else runs (turnLog.ts explains why).
    const logger = pino({ level: options.logLevel, base: { node: options.nodeName } }, new TurnLog(pino.destination({ dest: 1, sync: true })));
    try {
      // One forgotten flag in a DaemonSet must not hand out the example's addresses on a real node.
      if (options.config === undefined && !options.examplePools) {
        throw new Error('--config <path> is required: the pool configuration to serve (or --example-pools to try berth out with the embedded example pools)');
      }
      if (options.config !== undefined && options.examplePools) throw new Error('give --config or --example-pools, not both');
      let cluster;
      try {
        cluster = parseClusterFlags(options);
      } catch (error) {
        if (error instanceof ClusterFlagError) throw new Error(`invalid cluster flags: ${error.message}`);
        throw error;
      }
      const poolSource = options.config ? configFilePoolSource(options.config) : fixedPoolSource(defaultConfig(), 'the embedded example pools');
      if (!options.config) logger.warn({ event: 'config.embedded' }, '--example-pools: serving the embedded example pools default-v4 and default-v6');
      const socketGroupId = options.socketGroup === undefined ? undefined : parseGroupId(options.socketGroup);
      const starting = BerthApp.start({ socketPath: options.socket, dbPath: options.db, poolSource, logger, nodeName: options.nodeName, socketGroupId, metricsAddress: options.metricsAddr,
        releaseStaleOnBoot: options.releaseStaleOnBoot,
        netnsGraceSeconds: parseSeconds(options.netnsGraceSeconds, '--netns-grace-seconds', true),
        netnsCheckSeconds: parseSeconds(options.netnsCheckSeconds, '--netns-check-seconds', false),
        maxQueuedRequests: parsePositiveInteger(options.maxQueuedRequests, '--max-queued-requests'), ...(cluster ? { cluster } : {}) });
      // Handlers before start-up finishes: a supervisor may signal as soon as daemon.started is
      // logged, and without a handler that signal would kill berthd outright.
      for (const signal of ['SIGTERM', 'SIGINT'] as const) {
        process.once(signal, () => {
          logger.info({ event: 'daemon.signal', signal }, 'shutting down');
          void starting.then((app) => app.stop(), () => undefined).then(() => process.exit(0));
        });
      }
      await starting;
      guardProcess(logger);
    } catch (error) {
      logger.fatal({ event: 'daemon.start_failed', err: error }, error instanceof Error ? error.message : String(error));
      process.stderr.write(`berthd: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    }
  });

program.command('install')
  .description('install the berth CNI plugin binary into the CNI bin dir (atomically) and an example conflist')
  .option('--cni-bin-dir <dir>', 'where runtimes look for CNI plugins', '/opt/cni/bin')
  .option('--cni-conf-dir <dir>', 'where runtimes look for network configs', '/etc/cni/net.d')
  .option('--shim <path>', 'the built plugin binary to install', join(dirname(fileURLToPath(import.meta.url)), 'berth'))
  .option('--skip-binary', 'do not install the plugin binary')
  .option('--skip-conflist', 'do not write the example conflist')
  .option('--overwrite-conflist', 'replace an existing conflist of the same name')
  .option('--network-name <name>', 'network name in the example conflist', 'berth')
  .option('--bridge <name>', 'bridge in the example conflist', 'berth0')
  .option('--pools <names>', 'comma-separated pools in the example conflist', 'default-v4,default-v6')
  .action((options: { cniBinDir: string; cniConfDir: string; shim: string; skipBinary?: boolean; skipConflist?: boolean; overwriteConflist?: boolean; networkName: string; bridge: string; pools: string }) => {
    try {
      const done = installOnNode({
        shimSource: options.shim, cniBinDir: options.cniBinDir, cniConfDir: options.cniConfDir,
        skipBinary: Boolean(options.skipBinary), skipConflist: Boolean(options.skipConflist), overwriteConflist: Boolean(options.overwriteConflist),
        conflist: { networkName: options.networkName, bridge: options.bridge, pools: options.pools.split(',').filter(Boolean), socket: program.opts<{ socket: string }>().socket },
      });
      for (const line of done) process.stdout.write(`berthd install: ${line}\n`);
    } catch (error) {
      process.stderr.write(`berthd install: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    }
  });

/**
 * Once serving, nothing a request does may end berthd: one bad request must not take IPAM away
 * from every pod on the node (and a runtime retrying it would end the restarted daemon again).
 * Installed only after start-up, so a real start-up failure still ends the process with its message.
 */
function guardProcess(logger: pino.Logger): void {
  process.on('uncaughtException', (error) => {
    logger.error({ event: 'daemon.uncaught_exception', err: error }, 'uncaught exception; berthd keeps serving');
  });
  process.on('unhandledRejection', (reason) => {
    logger.error({ event: 'daemon.unhandled_rejection', err: reason }, 'unhandled promise rejection; berthd keeps serving');
  });
}

function parseSeconds(text: string, flag: string, zeroAllowed: boolean): number {
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || (!zeroAllowed && value === 0)) throw new Error(`${flag}: "${text}" is not a ${zeroAllowed ? 'non-negative' : 'positive'} number of seconds`);
  return value;
}

function parsePositiveInteger(text: string, flag: string): number {
  if (!/^[1-9]\d{0,8}$/.test(text)) throw new Error(`${flag}: "${text}" is not a positive whole number`);
  return Number(text);
}

function parseGroupId(text: string): number {
  if (!/^\d+$/.test(text)) throw new Error(`--socket-group: "${text}" is not a numeric group id`);
  return Number(text);
}

await program.parseAsync(process.argv);
