// gRPC handlers for berth.ipam.v1.Ipam: unpack the request, call the service, pack the reply.
// Errors are translated once, in errorStatus.ts; timings and logs are taken in one wrapper.
import type { handleClientStreamingCall, handleUnaryCall, Metadata, ServerReadableStream, ServerUnaryCall, sendUnaryData, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { ShuttingDownError } from '../errors.ts';
import type { ImportedLease, IpamService } from '../service/ipamService.ts';
import type { ImportedPrefix, PrefixService } from '../service/prefixService.ts';
import type { LeasePage } from '../service/leasePages.ts';
import type { ImportResult } from '../service/stateImport.ts';
import type { LeaseFilter } from '../store/leaseRecord.ts';
import { toGrpcStatus } from './errorStatus.ts';
import {
  leaseStateOf, selectorOf, toAllocationMessage, toLeaseMessage, toPoolUsageMessage, toPrefixLeaseMessage, toPrefixPoolUsageMessage,
  type AllocatePrefixRequest, type ListPrefixesRequest, type ReleasePrefixRequest, type AllocateRequest, type CheckRequest, type GarbageCollectRequest, type ListLeasesRequest, type ReleaseRequest, type StatusRequest, type ImportLeasesRequest,
} from './messages.ts';
import { requestIdOf, type RequestContext } from './requestContext.ts';

/** What ImportLeasesStream needs of a streamed import (service/stateImport.ts StreamedImport). */
export interface BackupStream {
  add(chunk: { leases: readonly ImportedLease[]; prefixes: readonly ImportedPrefix[] }): void;
  commit(log: Logger): Promise<ImportResult>;
  discard(): void;
}

/** Told about every finished call (metrics). */
export type RpcObserver = (method: string, code: string, seconds: number) => void;

export interface IpamHandlerDeps {
  readonly service: IpamService;
  readonly prefixService: PrefixService;
  /** Restores a backup of address and prefix leases, in one transaction. */
  readonly importBackup: (backup: { leases: readonly ImportedLease[]; prefixes: readonly ImportedPrefix[] }, log: Logger) => Promise<ImportResult>;
  /** A backup arriving as a stream: checked and staged message by message, restored at the end. */
  readonly streamedImport: () => BackupStream;
  /** One page of ListLeases. */
  readonly leasePage: (filter: LeaseFilter, pageSize: number, pageToken: string) => LeasePage;
  readonly log: Logger;
  readonly observe?: RpcObserver;
  /** Why the last config reload was refused, or empty. */
  readonly configError?: () => string;
  /** False once shutdown began: new calls get UNAVAILABLE. */
  readonly accepting: () => boolean;
}

export function ipamHandlers(deps: IpamHandlerDeps): UntypedServiceImplementation {
  const { service, prefixService } = deps;
  return {
    // A call whose audit events were written (one per lease, with its latency) logs its end at
    // debug: one line per lease change instead of two, on the path runtimes hit at every pod.
    Allocate: unary<AllocateRequest>(deps, 'Allocate', async (request, context) => {
      const allocations = await service.allocate({ ...request, poolSelector: selectorOf(request.poolSelector) }, context.log);
      context.audited = allocations.length > 0;
      return { allocations: allocations.map(toAllocationMessage) };
    }),
    Release: unary<ReleaseRequest>(deps, 'Release', async (request, context) => {
      const released = await service.release(request, context.log);
      context.audited = released.length > 0;
      return { released: released.map(toLeaseMessage) };
    }),
    Check: unary<CheckRequest>(deps, 'Check', (request) => ({
      allocations: service.check({ ...request, poolSelector: selectorOf(request.poolSelector) }).map(toAllocationMessage),
    })),
    ListLeases: unary<ListLeasesRequest>(deps, 'ListLeases', (request) => {
      const state = leaseStateOf(request.state);
      const filter = { pool: request.pool, containerId: request.containerId, network: request.network, networkInstance: request.networkInstance };
      const page = deps.leasePage({ ...filter, ...(state === undefined ? {} : { state }) }, request.pageSize, request.pageToken);
      return { leases: page.leases.map(toLeaseMessage), nextPageToken: page.nextPageToken };
    }),
    ListPools: unary<Record<string, never>>(deps, 'ListPools', () => ({
      pools: [...service.poolStates().map(toPoolUsageMessage), ...prefixService.pools().map(toPrefixPoolUsageMessage)],
    })),
    GarbageCollect: unary<GarbageCollectRequest>(deps, 'GarbageCollect', async (request, context) => {
      const released = await service.garbageCollect(request, context.log);
      return { released: released.map(toLeaseMessage) };
    }),
    ImportLeases: unary<ImportLeasesRequest>(deps, 'ImportLeases', (request, context) => deps.importBackup(importedBackupOf(request), context.log)),
    ImportLeasesStream: importStream(deps),
    Status: unary<StatusRequest>(deps, 'Status', (request) => ({
      pools: service.poolStates(request.pools, selectorOf(request.poolSelector)).map(toPoolUsageMessage),
      configError: deps.configError?.() ?? '',
    })),
    AllocatePrefix: unary<AllocatePrefixRequest>(deps, 'AllocatePrefix', async (request, context) => {
      const prefix = toPrefixLeaseMessage(await prefixService.allocatePrefix(request, context.log));
      context.audited = true;
      return { prefix };
    }),
    ReleasePrefix: unary<ReleasePrefixRequest>(deps, 'ReleasePrefix', async (request, context) => {
      const released = await prefixService.releasePrefix(request, context.log);
      context.audited = released.length > 0;
      return { released: released.map(toPrefixLeaseMessage) };
    }),
    ListPrefixes: unary<ListPrefixesRequest>(deps, 'ListPrefixes', (request) => ({
      prefixes: prefixService.listPrefixes({ pool: request.pool, owner: request.owner }).map(toPrefixLeaseMessage),
    })),
  };
}

const QUIET_METHODS = new Set(['ListLeases', 'ListPools', 'Status', 'ListPrefixes']);

function importedBackupOf(request: ImportLeasesRequest): { leases: ImportedLease[]; prefixes: ImportedPrefix[] } {
  return {
    leases: request.leases,
    prefixes: request.prefixes.map((entry) => ({ ...entry, createdAtUnixMs: Number(entry.createdAtUnixMs), reusableAtUnixMs: Number(entry.reusableAtUnixMs) })),
  };
}

/** One call's log, timing and final answer, for unary and streaming handlers alike. */
function callScope(deps: IpamHandlerDeps, method: string, metadata: Metadata, request: object) {
  const started = process.hrtime.bigint();
  const requestId = requestIdOf(metadata);
  const fields = request as { containerId?: string; ifname?: string; pools?: string[]; pool?: string; owner?: string };
  const log = deps.log.child({ requestId, method, containerId: fields.containerId, ifname: fields.ifname, pools: fields.pools ?? fields.pool, owner: fields.owner });
  const context: RequestContext = { requestId, log, audited: false };
  let answered = false;
  const finish = (code: string, error?: unknown) => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    deps.observe?.(method, code, seconds);
    const logged = { code, latencyMs: Math.round(seconds * 1e6) / 1e3 };
    if (error) log.warn({ ...logged, event: 'request.rejected', err: error }, 'request failed');
    else if (QUIET_METHODS.has(method) || context.audited) log.debug(logged, 'request done');
    else log.info(logged, 'request done');
  };
  return {
    context,
    get answered() { return answered; },
    succeed(callback: sendUnaryData<unknown>, reply: unknown) {
      if (answered) return;
      answered = true;
      finish('OK');
      callback(null, reply);
    },
    fail(callback: sendUnaryData<unknown>, error: unknown) {
      if (answered) return;
      answered = true;
      const { reason, error: status } = toGrpcStatus(error, requestId);
      finish(reason, error);
      callback(status);
    },
  };
}

function unary<Req extends object>(
  deps: IpamHandlerDeps,
  method: string,
  handle: (request: Req, context: RequestContext) => unknown,
): handleUnaryCall<Req, unknown> {
  return (call: ServerUnaryCall<Req, unknown>, callback: sendUnaryData<unknown>) => {
    const scope = callScope(deps, method, call.metadata, call.request);
    if (!deps.accepting()) {
      scope.fail(callback, new ShuttingDownError('berthd is shutting down; retry against the restarted daemon'));
      return;
    }
    Promise.resolve()
      .then(() => handle(call.request, scope.context))
      .then((reply) => scope.succeed(callback, reply), (error: unknown) => scope.fail(callback, error));
  };
}

/**
 * ImportLeasesStream: every message is checked and staged as it arrives; the first bad one ends
 * the call with its error (nothing imported). When the client closes its side, the whole stream
 * is restored in one transaction.
 */
function importStream(deps: IpamHandlerDeps): handleClientStreamingCall<ImportLeasesRequest, unknown> {
  return (call: ServerReadableStream<ImportLeasesRequest, unknown>, callback: sendUnaryData<unknown>) => {
    const scope = callScope(deps, 'ImportLeasesStream', call.metadata, {});
    if (!deps.accepting()) {
      scope.fail(callback, new ShuttingDownError('berthd is shutting down; retry against the restarted daemon'));
      return;
    }
    let backup: BackupStream;
    try {
      backup = deps.streamedImport();
    } catch (error) {
      scope.fail(callback, error);
      return;
    }
    const abandon = (error?: unknown) => {
      backup.discard();
      if (error !== undefined) scope.fail(callback, error);
      call.removeAllListeners('data');
    };
    call.on('data', (request: ImportLeasesRequest) => {
      if (scope.answered) return;
      try {
        backup.add(importedBackupOf(request));
      } catch (error) {
        abandon(error);
      }
    });
    call.on('end', () => {
      if (scope.answered) return;
      backup.commit(scope.context.log).then((reply) => {
        scope.context.audited = true;
        scope.succeed(callback, reply);
      }, (error: unknown) => scope.fail(callback, error));
    });
    // The client went away mid-stream: nothing of it is kept.
    call.on('error', () => abandon());
    call.on('cancelled', () => abandon());
  };
}
