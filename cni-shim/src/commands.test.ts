import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { AllocationSchema, IpFamily, PoolUsageSchema } from './gen/berth/ipam/v1/ipam_pb.ts';
import { GrpcStatus } from '../../daemon/src/errors.ts';
import { CniError } from './cni/cniError.ts';
import { parseEnvironment } from './cni/environment.ts';
import { parseNetworkConfig } from './cni/networkConfig.ts';
import { runCommand, STATUS_TIMEOUT_MS, type ConnectIpam } from './commands.ts';
import { GrpcCallError } from './grpcCallError.ts';
import type { IpamCaller, IpamMethod, IpamMethods } from './ipamMessages.ts';

interface Recorded { method: IpamMethod; request: unknown; socketPath: string; timeoutMs: number }

/** A daemon stand-in: answers from a table, or fails with the given error. */
function fakeIpam(answers: Partial<{ [M in IpamMethod]: IpamMethods[M]['response'] | Error }>): { connect: ConnectIpam; calls: Recorded[] } {
  const calls: Recorded[] = [];
  const connect: ConnectIpam = (socketPath, timeoutMs) => {
    const caller: IpamCaller = {
      call: async (method, request) => {
        calls.push({ method, request, socketPath, timeoutMs });
        const answer = answers[method];
        if (answer === undefined) throw new Error(`unexpected ${method}`);
        if (answer instanceof Error) throw answer;
        return answer as never;
      },
    };
    return caller;
  };
  return { connect, calls };
}

const env = (command: string, extra: Record<string, string> = {}) => parseEnvironment({
  CNI_COMMAND: command, CNI_CONTAINERID: 'c1', CNI_NETNS: '/var/run/netns/c1', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin', ...extra,
});
const config = (cniVersion: string, extra: Record<string, unknown> = {}) =>
  parseNetworkConfig(JSON.stringify({ cniVersion, name: 'net1', ipam: { type: 'berth', pools: 'v4,v6', socket: '/s.sock' }, ...extra }));

async function cniErrorOf(promise: Promise<unknown>): Promise<CniError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CniError) return error;
    throw error;
  }
  throw new Error('expected a CniError');
}

const allocation = create(AllocationSchema, { pool: 'v4', address: '10.0.0.5/24', gateway: '10.0.0.1', family: IpFamily.IPV4 });
const usage = (name: string, free: string) => create(PoolUsageSchema, { name, free, size: '254' });

describe('runCommand', () => {
  it('ADD sends the attachment, pools, pod and requested addresses, and prints the result', async () => {
    const ipam = fakeIpam({ Allocate: { allocations: [allocation] } });
    const output = await runCommand({
      env: env('ADD', { CNI_ARGS: 'K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;K8S_POD_UID=u;IP=10.0.0.9' }),
      config: config('0.4.0', { runtimeConfig: { ips: ['10.0.0.5/24'] } }),
    }, ipam.connect);
    expect(ipam.calls).toEqual([{ method: 'Allocate', socketPath: '/s.sock', timeoutMs: 10_000, request: {
      containerId: 'c1', ifname: 'eth0', pools: ['v4', 'v6'], requestedIps: ['10.0.0.5/24', '10.0.0.9'],
      podNamespace: 'ns', podName: 'p', podUid: 'u', netns: '/var/run/netns/c1', network: 'net1', podLabels: {},
    } }]);
    expect(JSON.parse(output ?? '')).toEqual({ cniVersion: '0.4.0', ips: [{ version: '4', address: '10.0.0.5/24', gateway: '10.0.0.1' }] });
  });

  it('ADD, CHECK and STATUS send a pool selector and pod labels; DEL releases every pool of the attachment', async () => {
    const ipam = fakeIpam({ Allocate: { allocations: [allocation] }, Check: { allocations: [allocation] }, Release: { released: [] },
      Status: { pools: [usage('v4', '3')], configError: '' } });
    const selected = (cniVersion: string, extra: Record<string, unknown> = {}) => parseNetworkConfig(JSON.stringify({
      cniVersion, name: 'net1', ipam: { poolSelector: { matchLabels: { tier: 'db' } }, socket: '/s.sock' }, args: { cni: { labels: { app: 'pg' } } }, ...extra }));
    await runCommand({ env: env('ADD'), config: selected('1.1.0') }, ipam.connect);
    await runCommand({ env: env('CHECK'), config: selected('1.1.0', { prevResult: { ips: [{ address: '10.0.0.5/24' }] } }) }, ipam.connect);
    await runCommand({ env: env('STATUS'), config: selected('1.1.0') }, ipam.connect);
    await runCommand({ env: env('DEL'), config: selected('1.1.0') }, ipam.connect);
    const requests = ipam.calls.map((call) => call.request as Record<string, unknown>);
    expect(requests[0]).toMatchObject({ pools: [], poolSelector: { matchLabels: { tier: 'db' } }, podLabels: { app: 'pg' } });
    expect(requests[1]).toMatchObject({ pools: [], poolSelector: { matchLabels: { tier: 'db' } }, expectedAddresses: ['10.0.0.5/24'] });
    expect(requests[2]).toEqual({ pools: [], poolSelector: { matchLabels: { tier: 'db' } } });
    expect(requests[3]).toEqual({ containerId: 'c1', ifname: 'eth0', pools: [] });
  });

  it('DEL releases and prints nothing', async () => {
    const ipam = fakeIpam({ Release: { released: [] } });
    expect(await runCommand({ env: env('DEL', { CNI_NETNS: '' }), config: config('1.0.0') }, ipam.connect)).toBeUndefined();
    expect(ipam.calls[0]?.request).toEqual({ containerId: 'c1', ifname: 'eth0', pools: ['v4', 'v6'] });
  });

  it('DEL with the daemon down fails with 11, never pretends success', async () => {
    const down = new GrpcCallError('Release', GrpcStatus.UNAVAILABLE, 'connect ENOENT /s.sock', {}, '/s.sock', 4, true);
    const error = await cniErrorOf(runCommand({ env: env('DEL'), config: config('1.0.0') }, fakeIpam({ Release: down }).connect));
    expect(error.code).toBe(11);
  });

  it('CHECK sends prevResult addresses', async () => {
    const ipam = fakeIpam({ Check: { allocations: [allocation] } });
    await runCommand({ env: env('CHECK'), config: config('1.0.0', { prevResult: { cniVersion: '1.0.0', ips: [{ address: '10.0.0.5/24' }] } }) }, ipam.connect);
    expect(ipam.calls[0]?.request).toMatchObject({ expectedAddresses: ['10.0.0.5/24'] });
  });

  it.each([
    ['CHECK', '0.3.1', 1, 'does not allow CHECK'],
    ['GC', '1.0.0', 1, 'does not allow GC'],
    ['STATUS', '1.0.0', 1, 'does not allow STATUS'],
    ['CHECK', '1.0.0', 7, 'prevResult: required'],
    ['GC', '1.1.0', 7, 'cni.dev/valid-attachments: required'],
  ])('%s under %s fails with %s', async (command, version, code, message) => {
    const error = await cniErrorOf(runCommand({ env: env(command), config: config(version) }, fakeIpam({}).connect));
    expect(error).toMatchObject({ code });
    expect(error.message).toContain(message);
  });

  it('GC sends the valid attachments of this network', async () => {
    const ipam = fakeIpam({ GarbageCollect: { released: [] } });
    await runCommand({ env: env('GC'), config: config('1.1.0', { 'cni.dev/valid-attachments': [{ containerID: 'c2', ifname: 'net1' }] }) }, ipam.connect);
    expect(ipam.calls[0]?.request).toEqual({ network: 'net1', validAttachments: [{ containerId: 'c2', ifname: 'net1' }] });
  });

  it('GC with disableGC does nothing', async () => {
    const ipam = fakeIpam({});
    await runCommand({ env: env('GC'), config: config('1.1.0', { disableGC: true }) }, ipam.connect);
    expect(ipam.calls).toEqual([]);
  });

  it('STATUS succeeds with free addresses, in at most 2 s', async () => {
    const ipam = fakeIpam({ Status: { pools: [usage('v4', '10'), usage('v6', '18446744073709551616')], configError: '' } });
    expect(await runCommand({ env: env('STATUS'), config: config('1.1.0') }, ipam.connect)).toBeUndefined();
    expect(ipam.calls[0]).toMatchObject({ request: { pools: ['v4', 'v6'] }, timeoutMs: STATUS_TIMEOUT_MS });
  });

  it('STATUS with an exhausted pool fails with 50 naming it', async () => {
    const ipam = fakeIpam({ Status: { pools: [usage('v4', '0'), usage('v6', '5')], configError: '' } });
    const error = await cniErrorOf(runCommand({ env: env('STATUS'), config: config('1.1.0') }, ipam.connect));
    expect(error.code).toBe(50);
    expect(error.message).toContain('v4');
    expect(error.message).not.toContain('v6');
  });

  it('STATUS with the daemon down fails with 50 naming the socket', async () => {
    const down = new GrpcCallError('Status', GrpcStatus.UNAVAILABLE, 'connect ECONNREFUSED /s.sock', {}, '/s.sock', 4, true);
    const error = await cniErrorOf(runCommand({ env: env('STATUS'), config: config('1.1.0') }, fakeIpam({ Status: down }).connect));
    expect(error.code).toBe(50);
    expect(error.message).toContain('/s.sock');
  });
});
