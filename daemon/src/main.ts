// berthd: argv -> config -> app. Nothing else.
import { Command, Option } from 'commander';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { BerthApp } from './app.ts';
import { defaultConfig } from './config/defaultConfig.ts';
import { loadConfigFile } from './config/loadConfigFile.ts';
import { installOnNode } from './install/installFiles.ts';

export const DEFAULT_SOCKET = '/run/berth/berthd.sock';
export const DEFAULT_DB = '/var/lib/berth/leases.db';

const program = new Command('berthd')
  .description('berth IPAM daemon: owns every address lease on this node and serves them over gRPC on a Unix socket')
  .option('--socket <path>', 'Unix socket to serve gRPC on', DEFAULT_SOCKET)
  .option('--db <path>', 'SQLite lease database', DEFAULT_DB)
  .option('--config <path>', 'pool configuration, YAML or JSON (default: an embedded IPv4 + IPv6 example, for trying berth out)')
  .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'))
  .option('--node-name <name>', 'name of this node in logs', process.env.NODE_NAME ?? hostname())
  .option('--metrics-addr <host:port>', 'listen address for /metrics, /healthz and /readyz; empty turns it off', '127.0.0.1:9464')
  .option('--no-release-stale-on-boot', 'keep leases from an earlier boot even when their netns is gone')
  .option('--netns-grace-seconds <n>', 'release a lease once its netns has been gone this long; 0 turns the cleaner off', '300')
  .option('--netns-check-seconds <n>', 'how often to look for leases whose netns is gone', '60')
  .option('--socket-group <gid>', 'numeric group that may also use the socket (mode 0660); default: owner only (0600)')
  .action(async (options: { socket: string; db: string; config?: string; logLevel: string; nodeName: string; socketGroup?: string; metricsAddr: string; releaseStaleOnBoot: boolean; netnsGraceSeconds: string; netnsCheckSeconds: string }) => {
    const logger = pino({ level: options.logLevel, base: { node: options.nodeName } });
    try {
      const config = options.config ? loadConfigFile(options.config) : defaultConfig();
      if (!options.config) logger.warn({ event: 'config.embedded' }, 'no --config given: serving the embedded example pools default-v4 and default-v6');
      const socketGroupId = options.socketGroup === undefined ? undefined : parseGroupId(options.socketGroup);
      const netnsGraceSeconds = parseSeconds(options.netnsGraceSeconds, '--netns-grace-seconds', true);
      const netnsCheckSeconds = parseSeconds(options.netnsCheckSeconds, '--netns-check-seconds', false);
      // Handlers go in before start logs daemon.started: a supervisor that stops berthd as soon as
      // it reports serving must get a clean shutdown, not the default action of SIGTERM. A signal
      // during start stops the daemon once it has started.
      let app: BerthApp | undefined;
      let stopRequested = false;
      const stop = (started: BerthApp) => void started.stop().then(() => process.exit(0));
      for (const signal of ['SIGTERM', 'SIGINT'] as const) {
        process.once(signal, () => {
          logger.info({ event: 'daemon.signal', signal }, 'shutting down');
          stopRequested = true;
          if (app) stop(app);
        });
      }
      app = await BerthApp.start({ socketPath: options.socket, dbPath: options.db, config, logger, nodeName: options.nodeName, socketGroupId, metricsAddress: options.metricsAddr,
        configPath: options.config, releaseStaleOnBoot: options.releaseStaleOnBoot, netnsGraceSeconds, netnsCheckSeconds });
      if (stopRequested) stop(app);
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

function parseSeconds(text: string, flag: string, zeroAllowed: boolean): number {
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || (!zeroAllowed && value === 0)) throw new Error(`${flag}: "${text}" is not a ${zeroAllowed ? 'non-negative' : 'positive'} number of seconds`);
  return value;
}

function parseGroupId(text: string): number {
  if (!/^\d+$/.test(text)) throw new Error(`--socket-group: "${text}" is not a numeric group id`);
  return Number(text);
}

await program.parseAsync(process.argv);
