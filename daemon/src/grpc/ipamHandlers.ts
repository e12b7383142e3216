// gRPC handlers for berth.ipam.v1.Ipam: unpack the request, call the service, pack the reply.
// Errors are translated once, in errorStatus.ts; timings and logs are taken in one wrapper.
import type { handleUnaryCall, ServerUnaryCall, sendUnaryData, ServiceError, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { ShuttingDownError } from '../errors.ts';
import type { ClusterStatus } from '../service/clusterBlockSupply.ts';
import type { IpamService } from '../service/ipamService.ts';
import type { PrefixService } from '../service/prefixService.ts';
import type { LeasePage } from '../service/leasePages.ts';
import type { ImportedLease, ImportedPrefix, ImportResult } from '../service/stateImport.ts';
import type { LeaseFilter } from '../store/leaseRecord.ts';
import { importStream, type ImportStreamDeps } from './importStreamHandler.ts';
import { answerFailure, internalStatus } from './errorStatus.ts';
import {
  leaseStateOf, selectorOf, toAllocationMessage, toLeaseMessage, toPoolUsageMessage, toPrefixLeaseMessage, toPrefixPoolUsageMessage,
  type AllocatePrefixRequest, type ListPrefixesRequest, type ReleasePrefixRequest, type AllocateRequest, type CheckRequest, type GarbageCollectRequest, type ListLeasesRequest, type ReleaseRequest, type StatusRequest, type ImportLeasesRequest, importedBackupOf,
} from './messages.ts';
import { requestIdOf, type RequestContext } from './requestContext.ts';
import { validateRequest } from './requestRules.ts';

export interface IpamHandlerDeps extends ImportStreamDeps {
  readonly service: IpamService;
  readonly prefixService: PrefixService;
  /** Restores a backup of address and prefix leases, in one transaction. */
  readonly importBackup: (backup: { leases: readonly ImportedLease[]; prefixes: readonly ImportedPrefix[] }, log: Logger) => Promise<ImportResult>;
  /** One page of ListLeases. */
  readonly leasePage: (filter: LeaseFilter, pageSize: number, pageToken: string) => LeasePage;
  /** Why the last config reload was refused, or empty. */
  readonly configError?: () => string;
  /** Cluster pools' state (cluster mode only). */
  readonly clusterStatus?: () => ClusterStatus;
}

export function ipamHandlers(deps: IpamHandlerDeps): UntypedServiceImplementation {
  const { service, prefixService } = deps;
  return {
    // A call whose audit events were written (one per lease, with its latency) logs its end at
    // debug: one line per lease change instead of two, on the path runtimes hit at every pod.
    Allocate: unary<AllocateRequest>(deps, 'Allocate', async (request, context) => {
      const allocations = await service.allocate({ ...request, poolSelector: selectorOf(request.poolSelector), deadlineMs: context.deadlineMs }, context.log);
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
      const filter = { pool: request.pool, containerId: request.containerId, network: request.network, addressSpace: request.addressSpace };
      const page = deps.leasePage({ ...filter, ...(state === undefined ? {} : { state }) }, request.pageSize, request.pageToken);
      return { leases: page.leases.map(toLeaseMessage), nextPageToken: page.nextPageToken };
    }),
    ListPools: unary<Record<string, never>>(deps, 'ListPools', () => ({
      pools: [...service.poolStates().map(toPoolUsageMessage), ...prefixService.prefixPools().map(toPrefixPoolUsageMessage)],
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
      ...(deps.clusterStatus ? { cluster: deps.clusterStatus() } : {}),
    })),
    AllocatePrefix: unary<AllocatePrefixRequest>(deps, 'AllocatePrefix', async (request, context) => {
      const prefix = toPrefixLeaseMessage(await prefixService.allocatePrefix({ ...request, deadlineMs: context.deadlineMs }, context.log));
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

function unary<Req extends object>(
  deps: IpamHandlerDeps,
  method: string,
  handle: (request: Req, context: RequestContext) => unknown,
): handleUnaryCall<Req, unknown> {
  return (call: ServerUnaryCall<Req, unknown>, callback: sendUnaryData<unknown>) => {
    // Total: every path ends in exactly one answer, and nothing thrown here (a log serializer, a
    // status that cannot be encoded, the callback itself) may escape into grpc-js and end berthd.
    const started = process.hrtime.bigint();
    let requestId = 'unknown';
    let log = deps.log;
    let answered = false;
    const answer = (error: Partial<ServiceError> | null, reply?: unknown) => {
      if (answered) return;
      answered = true;
      try {
        callback(error, reply);
      } catch (failure) {
        log.error({ event: 'request.answer_failed', err: failure }, 'could not send the answer');
        try { callback(internalStatus(requestId)); } catch { /* the call is gone */ }
      }
    };
    const finish = (code: string, error?: unknown) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      try {
        deps.observe?.(method, code, seconds);
        const fields = { code, latencyMs: Math.round(seconds * 1e6) / 1e3 };
        if (code === 'INTERNAL') log.error({ ...fields, event: 'request.internal_error', err: error }, 'internal error');
        else if (error) log.warn({ ...fields, event: 'request.rejected', err: error }, 'request failed');
        else if (QUIET_METHODS.has(method) || context.audited) log.debug(fields, 'request done');
        else log.info(fields, 'request done');
      } catch { /* logging must not cost the answer */ }
    };
    const fail = (error: unknown) => {
      answerFailure(error, requestId, finish, answer);
    };
    let context: RequestContext = { requestId, log, audited: false, deadlineMs: Number.POSITIVE_INFINITY };
    try {
      requestId = requestIdOf(call.metadata);
      const request = call.request as Req & { containerId?: string; ifname?: string; pools?: string[]; pool?: string; owner?: string };
      log = deps.log.child({ requestId, method, containerId: logged(request.containerId), ifname: logged(request.ifname), pools: logged(request.pools ?? request.pool), owner: logged(request.owner) });
      const deadline = call.getDeadline();
      context = { requestId, log, audited: false, deadlineMs: deadline instanceof Date ? deadline.getTime() : Number(deadline) };
    } catch (error) {
      fail(error);
      return;
    }
    if (!deps.accepting()) {
      fail(new ShuttingDownError('berthd is shutting down; retry against the restarted daemon'));
      return;
    }
    Promise.resolve()
      .then(() => { validateRequest(method, call.request); return handle(call.request, context); })
      .then((reply) => { finish('OK'); answer(null, reply); }, fail)
      .catch(fail);
  };
}

/** A caller's value as the log carries it: bounded, so one huge field cannot flood the log. */
function logged(value: string | string[] | undefined): string | string[] | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.length > 8 ? [...value.slice(0, 8).map((v) => String(logged(v))), `... ${value.length - 8} more`] : value.map((v) => String(logged(v)));
  return value.length > 128 ? `${value.slice(0, 128)}... (${value.length} characters)` : value;
}
