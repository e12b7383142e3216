// Wires the store, pools, commit queue, service and gRPC server; start and stop.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Server } from 'node:http';
import type { BerthConfig } from './config/types.ts';
import { ConfigError, formatConfigProblem } from './config/configError.ts';
import type { PoolSource } from './config/poolSource.ts';
import { BerthMetrics } from './metrics/berthMetrics.ts';
import { startMetricsServer } from './metrics/metricsHttpServer.ts';
import { startGrpcServer, type GrpcServer } from './grpc/server.ts';
import { reclaimCooled } from './service/cooledLeaseReclaim.ts';
import { IpamService } from './service/ipamService.ts';
import { PoolCatalogue } from './service/poolCatalogue.ts';
import { applyReload, planReload, sameConfig } from './service/poolReload.ts';
import { PrefixService } from './service/prefixService.ts';
import { listLeasePage } from './service/leasePages.ts';
import { StaleLeaseCleaner } from './service/staleLeaseCleaner.ts';
import { importState, StreamedImport } from './service/stateImport.ts';
import { BlockClaimer, ClusterPoolRegistry, EtcdClaimStore, NodePresence, type ClaimStore } from './cluster/index.ts';
import type { ClusterOptions } from './config/clusterFlags.ts';
import { ClusterMetrics } from './metrics/clusterMetrics.ts';
import { ClusterBlockSupply } from './service/clusterBlockSupply.ts';
import { CommitQueue } from './store/commitQueue.ts';
import { DatabaseFileCheck } from './store/databaseFileCheck.ts';
import { LeaseStore } from './store/leaseStore.ts';

export interface AppOptions {
  readonly socketPath: string;
  readonly dbPath: string;
  /** Where the pools come from; watched for changes. */
  readonly poolSource: PoolSource;
  readonly logger: Logger;
  readonly nodeName: string;
  readonly socketGroupId?: number;
  /** Requests waiting for the database beyond this are refused with RESOURCE_EXHAUSTED. */
  readonly maxQueuedRequests?: number;
  /** host:port for /metrics, /healthz, /readyz; empty: no HTTP listener. */
  readonly metricsAddress?: string;
  /** Release, at start, leases from an earlier boot whose netns is gone (default true). */
  readonly releaseStaleOnBoot?: boolean;
  /** Release leases whose netns has been gone this long; 0 turns the running cleaner off (default 300). */
  readonly netnsGraceSeconds?: number;
  /** How often the running cleaner looks (default 60). */
  readonly netnsCheckSeconds?: number;
  /** Cluster mode: the cluster store and this node's labels (clusterPools need it). */
  readonly cluster?: ClusterOptions;
}

export class BerthApp {
  private accepting = true;
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly options: AppOptions,
    readonly store: LeaseStore,
    readonly commitQueue: CommitQueue,
    readonly service: IpamService,
    readonly prefixService: PrefixService,
    readonly pools: PoolCatalogue,
    readonly metrics: BerthMetrics,
    private grpc: GrpcServer | undefined,
  ) {}

  private metricsServer: Server | undefined;
  private configWatcher: { close(): void } | undefined;
  private cleaner: StaleLeaseCleaner | undefined;
  private reclaimTimer: NodeJS.Timeout | undefined;
  private fileCheckTimer: NodeJS.Timeout | undefined;
  /** Why the database file is no longer the open one; empty while it is. */
  storeFileProblem = '';
  /** The clusterPools the daemon started with. */
  private clusterPoolConfigs: BerthConfig['clusterPools'] = [];
  /** Cluster pools' blocks; absent in file mode. */
  blockSupply: ClusterBlockSupply | undefined;
  private clusterStore: ClaimStore | undefined;
  /** Why the last reload was refused; empty when the served pools are the source's. */
  configError = '';
  /** Deprecation warnings already logged: each once, not at every reload. */
  private readonly deprecationsLogged = new Set<string>();

  static async start(options: AppOptions): Promise<BerthApp> {
    const log = options.logger;
    const started = Date.now();
    // An invalid configuration is refused before the database is even opened.
    const config = options.poolSource.load();
    const store = LeaseStore.open(options.dbPath);
    try {
      const pools = PoolCatalogue.load(config, store);
      const metrics = new BerthMetrics(pools);
      const commitQueue = new CommitQueue(store, {
        maxQueued: options.maxQueuedRequests ?? 4096,
        minBatch: 16,
        maxBatch: 512,
        onCommit: (size, seconds) => { metrics.commitBatchSize.observe(size); metrics.commitDuration.observe(seconds); },
      });
      const bootId = readBootId();
      const blockSupply = options.cluster ? startClusterPools(options, options.cluster, config, { store, commitQueue, pools, metrics }) : undefined;
      if (!blockSupply && config.clusterPools.length > 0) {
        throw new Error(`the configuration has clusterPools (${config.clusterPools.map((pool) => pool.name).join(', ')}): start berthd with --etcd-endpoints (and --etcd-ca/--etcd-cert/--etcd-key as etcd needs) to serve them`);
      }
      const deps = { store, commitQueue, pools, events: metrics.poolEvents() };
      const service = new IpamService({ ...deps, bootId, ...(blockSupply ? { blockSupply } : {}) });
      const prefixService = new PrefixService(deps);
      const app = new BerthApp(options, store, commitQueue, service, prefixService, pools, metrics, undefined);
      app.blockSupply = blockSupply;
      app.clusterPoolConfigs = config.clusterPools;
      app.clusterStore = blockSupply?.engineStore;
      app.logDeprecations(config);
      app.cleaner = new StaleLeaseCleaner({
        service, store, bootId, log, graceMs: (options.netnsGraceSeconds ?? 300) * 1000,
        onReleased: (reason, count) => metrics.cleanerReleases.inc({ reason }, count),
      });
      if (options.releaseStaleOnBoot ?? true) await app.cleaner.releaseLeasesFromEarlierBoots();
      // Cooled-down addresses become free within a second of their reclaim delay ending.
      app.watchDatabaseFile(new DatabaseFileCheck(options.dbPath));
      app.reclaimTimer = setInterval(() => {
        reclaimCooled(deps, log)
          .catch((error: unknown) => log.warn({ event: 'reclaim.failed', err: error }, 'freeing cooled-down addresses failed; will retry'));
      }, RECLAIM_INTERVAL_MS).unref();
      if ((options.netnsGraceSeconds ?? 300) > 0) app.cleaner.start((options.netnsCheckSeconds ?? 60) * 1000);
      app.configWatcher = options.poolSource.watch((reason) => void app.reloadConfig(reason));
      app.grpc = await startGrpcServer(options.socketPath, {
        service, prefixService, log,
        importBackup: (backup, requestLog) => importState(deps, backup, requestLog),
        streamedImport: () => new StreamedImport(deps),
        leasePage: (filter, pageSize, pageToken) => listLeasePage({ store, pools }, filter, pageSize, pageToken),
        accepting: () => app.accepting, configError: () => app.configError,
        observe: (method, code, seconds) => metrics.rpcDuration.observe({ method, code }, seconds),
        ...(blockSupply ? { clusterStatus: () => blockSupply.status() } : {}),
      }, options.socketGroupId);
      // After the socket serves: the first contact with the cluster store never delays start-up.
      blockSupply?.start();
      if (options.metricsAddress) {
        app.metricsServer = await startMetricsServer(options.metricsAddress, metrics.registry, { notReady: () => app.notReady() });
      }
      log.info({ event: 'daemon.started', socket: options.socketPath, db: options.dbPath, node: options.nodeName,
        metrics: app.metricsUrl(), poolSource: options.poolSource.description, pools: pools.names('address'), prefixPools: pools.names('prefix'), leases: store.activeLeaseCount(),
        startMs: Date.now() - started }, 'berthd serving');
      return app;
    } catch (error) {
      store.close();
      throw error;
    }
  }

  /**
   * Re-reads the pool source and applies it if no lease would be orphaned; otherwise keeps the
   * old pools, logs why, and reports it in Status and berth_config_reload_failing.
   */
  async reloadConfig(trigger: string): Promise<string> {
    const log = this.options.logger;
    const refuse = (result: 'invalid' | 'refused', problems: readonly string[]) => {
      this.configError = problems.join('; ');
      this.metrics.configReloads.inc({ result });
      this.metrics.configReloadFailing.set(1);
      log.error({ event: 'config.reload_refused', trigger, result, problems }, `config reload refused; still serving the previous pools: ${this.configError}`);
      return result;
    };
    let config: BerthConfig;
    try {
      config = this.options.poolSource.load();
    } catch (error) {
      return refuse('invalid', error instanceof ConfigError ? error.problems.map(formatConfigProblem) : [String(error)]);
    }
    this.logDeprecations(config);
    const clusterProblem = this.clusterPoolsChanged(config);
    if (clusterProblem) return refuse('refused', [clusterProblem]);
    const plan = await this.commitQueue.submit((unit) => {
      // Cluster pools change with their blocks (clusterBlockSupply.ts), not with the file: plan the others.
      const clusterStates = this.pools.all().filter((pool) => this.blockSupply?.serves(pool.name));
      const local = new PoolCatalogue(this.pools.all().filter((pool) => !clusterStates.includes(pool)));
      const planned = planReload(local, config);
      if (planned.kind !== 'apply') return planned;
      const previous = this.pools.all();
      this.pools.replace([...applyReload(local, planned, this.store), ...clusterStates]);
      unit.onRollback(() => this.pools.replace(previous));
      return planned;
    });
    if (plan.kind === 'refused') return refuse('refused', plan.problems);
    this.configError = '';
    this.metrics.configReloadFailing.set(0);
    this.metrics.configReloads.inc({ result: plan.kind === 'apply' ? 'applied' : 'unchanged' });
    if (plan.kind === 'apply') {
      log.info({ event: 'config.reloaded', trigger, added: plan.added, removed: plan.removed, changed: plan.changed }, 'pool configuration applied');
      return 'applied';
    }
    log.info({ event: 'config.unchanged', trigger }, 'pool configuration re-read; nothing changed');
    return 'unchanged';
  }

  /** A reload may not change the cluster pools: their blocks are claimed under the recorded definitions. */
  private clusterPoolsChanged(config: BerthConfig): string | undefined {
    if (sameConfig(this.clusterPoolConfigs, config.clusterPools)) return undefined;
    return 'clusterPools changed: cluster pool definitions are recorded in the cluster store and apply at start; restart berthd to serve the new ones (a changed definition of a pool in use is refused cluster-wide)';
  }

  private logDeprecations(config: BerthConfig): void {
    for (const warning of config.deprecations ?? []) {
      if (this.deprecationsLogged.has(warning)) continue;
      this.deprecationsLogged.add(warning);
      this.options.logger.warn({ event: 'config.deprecated', source: this.options.poolSource.description }, warning);
    }
  }

  /** Base URL of the metrics listener (its real port when 0 was asked for). */
  metricsUrl(): string | undefined {
    const address = this.metricsServer?.address();
    if (!address || typeof address === 'string') return undefined;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  /**
   * Checks every second that --db is still the open file. Once it is not, writes are refused
   * (an acknowledged lease must survive a restart, and a write into a deleted or replaced file
   * would not), reads go on, and the log, /readyz and berth_store_file_lost say why.
   */
  private watchDatabaseFile(check: DatabaseFileCheck): void {
    this.fileCheckTimer = setInterval(() => {
      if (this.storeFileProblem !== '') return;
      const problem = check.problem();
      if (problem === undefined) return;
      // The open file still holds every acknowledged lease: copy it out before anyone restarts us.
      const rescue = `${this.options.dbPath}.rescued-${Date.now()}`;
      let rescued = '';
      try {
        this.store.saveCopy(rescue);
        rescued = `; every lease acknowledged so far is saved in ${rescue}`;
      } catch (error) {
        rescued = `; saving the open database to ${rescue} failed (${error instanceof Error ? error.message : String(error)}), so do not restart berthd before copying /proc/${process.pid}/fd's open lease database out`;
      }
      this.storeFileProblem = `${problem}${rescued}`;
      this.commitQueue.refuseWrites(problem);
      this.metrics.storeFileLost.set(1);
      this.options.logger.error({ event: 'store.file_lost', db: this.options.dbPath, rescue: rescued === '' ? undefined : rescue },
        `${this.storeFileProblem}: refusing every change from now on. Put the rescued (or the right) file at --db and restart berthd`);
    }, DATABASE_FILE_CHECK_MS).unref();
  }

  /** What keeps the daemon from serving; empty when ready. */
  notReady(): string[] {
    const problems: string[] = [];
    if (this.storeFileProblem !== '') problems.push(this.storeFileProblem);
    if (!this.store.isOpen) problems.push('lease database closed');
    if (!this.grpc || !this.accepting) problems.push('gRPC socket not serving');
    if (this.pools.all().length === 0) problems.push('no pools configured');
    return problems;
  }

  /** Stops taking requests, lets in-flight ones finish and commit, then closes the database. */
  stop(graceMs = 10_000): Promise<void> {
    this.stopping ??= (async () => {
      this.accepting = false;
      this.configWatcher?.close();
      clearInterval(this.reclaimTimer);
      clearInterval(this.fileCheckTimer);
      await this.cleaner?.stop();
      await this.blockSupply?.stop();
      await this.grpc?.stop(graceMs);
      await new Promise<void>((resolve) => (this.metricsServer ? this.metricsServer.close(() => resolve()) : resolve()));
      await this.commitQueue.close();
      this.store.close();
      await this.clusterStore?.close().catch(() => undefined);
      this.options.logger.info({ event: 'daemon.stopped' }, 'berthd stopped');
    })();
    return this.stopping;
  }
}

const RECLAIM_INTERVAL_MS = 1000;
const DATABASE_FILE_CHECK_MS = 1000;

/**
 * Cluster mode: the cluster pools whose nodeSelector this node's labels match, served from the
 * blocks in the lease database at once; the cluster store is contacted in the background.
 */
function startClusterPools(options: AppOptions, cluster: ClusterOptions, config: BerthConfig,
  parts: { store: LeaseStore; commitQueue: CommitQueue; pools: PoolCatalogue; metrics: BerthMetrics }): ClusterBlockSupply {
  const served = config.clusterPools.filter((pool) => Object.entries(pool.nodeSelector).every(([key, value]) => cluster.nodeLabels[key] === value));
  const etcd = new EtcdClaimStore({ endpoints: cluster.endpoints, deadlineMs: cluster.timeoutMs, ...(cluster.tls ? { tls: cluster.tls } : {}), ...(cluster.auth ? { auth: cluster.auth } : {}) });
  const node = options.nodeName;
  const engine = {
    store: etcd,
    claimer: new BlockClaimer({ store: etcd, node, prefix: cluster.prefix }),
    definitions: new ClusterPoolRegistry(etcd, node, cluster.prefix),
    presence: new NodePresence({ store: etcd, node, labels: cluster.nodeLabels, prefix: cluster.prefix, ...(cluster.usageIntervalMs ? { usageIntervalMs: cluster.usageIntervalMs } : {}) }),
  };
  let supply: ClusterBlockSupply | undefined = undefined;
  const metrics = new ClusterMetrics(parts.metrics.registry, () => supply?.blockCounts() ?? []);
  supply = new ClusterBlockSupply({ pools: served, engine, store: parts.store, commitQueue: parts.commitQueue, catalogue: parts.pools, log: options.logger, metrics,
    blockIdleSeconds: cluster.blockIdleSeconds });
  for (const state of supply.loadPoolStates()) parts.pools.put(state);
  options.logger.info({ event: 'cluster.pools', served: served.map((pool) => pool.name), skipped: config.clusterPools.filter((pool) => !served.includes(pool)).map((pool) => pool.name),
    nodeLabels: cluster.nodeLabels, endpoints: cluster.endpoints, prefix: cluster.prefix }, 'cluster pools selected by node labels');
  return supply;
}

/** Identifies this boot, so leases from before a reboot can be told apart. */
export function readBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}
