// The CNI verbs: each turns a validated invocation into daemon calls and returns what to print
// (undefined: print nothing). Daemon failures are translated in cniTranslation.ts.
import { CniCode } from '../../daemon/src/errors.ts';
import { CniError } from './cni/cniError.ts';
import type { CniCommand, CniEnvironment } from './cni/environment.ts';
import { expectedAddresses, poolSelectorOf, poolsOf, validAttachments, type NetworkConfig } from './cni/networkConfig.ts';
import { requestedIps } from './cni/requestedIps.ts';
import { toCniResult } from './cni/result.ts';
import { FIRST_VERSION_OF, isAtLeast, isSupportedVersion, LATEST_VERSION, SUPPORTED_VERSIONS } from './cni/versions.ts';
import { cniErrorOf, statusErrorOf } from './cniTranslation.ts';
import { GrpcCallError } from './grpcCallError.ts';
import type { IpamCaller, IpamMethod, IpamMethods, PoolSelectorMessage } from './ipamMessages.ts';

/** STATUS answers "can ADD work now?" quickly; it must not wait out a long ADD timeout. */
export const STATUS_TIMEOUT_MS = 2000;

export interface Invocation {
  readonly env: CniEnvironment;
  readonly config: NetworkConfig;
}

export type ConnectIpam = (socketPath: string, timeoutMs: number) => IpamCaller;

/** VERSION needs no config: any stdin with a cniVersion is echoed when berth speaks it. */
export function versionOutput(inputVersion: string | undefined): string {
  const cniVersion = inputVersion !== undefined && isSupportedVersion(inputVersion) ? inputVersion : LATEST_VERSION;
  return JSON.stringify({ cniVersion, supportedVersions: SUPPORTED_VERSIONS });
}

export function requireVersionFor(command: CniCommand, config: NetworkConfig): void {
  const first = FIRST_VERSION_OF[command];
  if (!isAtLeast(config.cniVersion, first)) {
    throw new CniError(CniCode.INCOMPATIBLE_VERSION, `config version ${config.cniVersion} does not allow ${command}`,
      `${command} needs cniVersion ${first} or later`);
  }
}

export async function runCommand(invocation: Invocation, connectIpam: ConnectIpam): Promise<string | undefined> {
  const { env, config } = invocation;
  requireVersionFor(env.command, config);
  const timeoutMs = config.ipam.timeoutSeconds * 1000;
  switch (env.command) {
    case 'ADD': {
      const selector = poolSelectorOf(config);
      const request = {
        containerId: env.containerId, ifname: env.ifname, pools: poolsOf(config), requestedIps: requestedIps(config, env.args),
        podNamespace: env.args.podNamespace, podName: env.args.podName, podUid: env.args.podUid, netns: env.netns, network: config.name,
        podLabels: config.podLabels, ...(selector === undefined ? {} : { poolSelector: selector }),
      };
      const response = await call(connectIpam(config.ipam.socket, timeoutMs), 'Allocate', request);
      return JSON.stringify(toCniResult(config.cniVersion, response.allocations));
    }
    case 'DEL':
      // With a selector the pools are whatever it matched at ADD: release every lease of the
      // attachment (an interface belongs to one network), so a relabelled pool leaks nothing.
      await call(connectIpam(config.ipam.socket, timeoutMs), 'Release',
        { containerId: env.containerId, ifname: env.ifname, pools: poolsOf(config) });
      return undefined;
    case 'CHECK': {
      const expected = expectedAddresses(config);
      const selector = poolSelectorOf(config);
      await call(connectIpam(config.ipam.socket, timeoutMs), 'Check', {
        containerId: env.containerId, ifname: env.ifname, pools: poolsOf(config), expectedAddresses: expected,
        ...(selector === undefined ? {} : { poolSelector: selector }),
      });
      return undefined;
    }
    case 'GC': {
      if (config.disableGC) return undefined;
      const valid = validAttachments(config);
      await call(connectIpam(config.ipam.socket, timeoutMs), 'GarbageCollect', { network: config.name, validAttachments: valid });
      return undefined;
    }
    case 'STATUS':
      await checkStatus(connectIpam(config.ipam.socket, Math.min(timeoutMs, STATUS_TIMEOUT_MS)), poolsOf(config), poolSelectorOf(config));
      return undefined;
    case 'VERSION':
      return versionOutput(config.cniVersion);
  }
}

async function checkStatus(ipam: IpamCaller, pools: readonly string[], poolSelector: PoolSelectorMessage | undefined): Promise<void> {
  let response: IpamMethods['Status']['response'];
  try {
    response = await ipam.call('Status', { pools, ...(poolSelector === undefined ? {} : { poolSelector }) });
  } catch (error) {
    throw error instanceof GrpcCallError ? statusErrorOf(error) : error;
  }
  const exhausted = response.pools.filter((pool) => pool.free === '0').map((pool) => pool.name);
  if (exhausted.length > 0) {
    throw new CniError(CniCode.NOT_AVAILABLE, `no free addresses in pool${exhausted.length > 1 ? 's' : ''} ${exhausted.join(', ')}`,
      response.configError !== '' ? `berthd refused its last configuration: ${response.configError}` : '');
  }
}

async function call<M extends IpamMethod>(ipam: IpamCaller, method: M, request: IpamMethods[M]['request']): Promise<IpamMethods[M]['response']> {
  try {
    return await ipam.call(method, request);
  } catch (error) {
    throw error instanceof GrpcCallError ? cniErrorOf(error) : error;
  }
}
