// Runs the built berth binary as a runtime would.
import { execPlugin, type ExecResult } from './cniExec.ts';
import { SHIM } from './daemonProcess.ts';

export interface ShimCall {
  readonly command: string;
  readonly containerId?: string;
  readonly ifname?: string;
  readonly netns?: string;
  readonly args?: string;
  /** Extra or replacement env (undefined values remove a variable). */
  readonly env?: Record<string, string | undefined>;
}

export function runShim(call: ShimCall, config: string | object, timeoutMs = 30_000): Promise<ExecResult> {
  const env: Record<string, string> = { CNI_COMMAND: call.command, CNI_PATH: '/opt/cni/bin' };
  if (call.command !== 'VERSION') {
    env.CNI_CONTAINERID = call.containerId ?? 'c0';
    env.CNI_IFNAME = call.ifname ?? 'eth0';
    env.CNI_NETNS = call.netns ?? '/var/run/netns/test';
  }
  if (call.args) env.CNI_ARGS = call.args;
  for (const [key, value] of Object.entries(call.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return execPlugin(SHIM, env, config, timeoutMs);
}

export function networkConfig(socket: string, overrides: Record<string, unknown> = {}, ipam: Record<string, unknown> = {}): Record<string, unknown> {
  return { cniVersion: '1.0.0', name: 'shimnet', type: 'bridge', ...overrides, ipam: { type: 'berth', socket, pools: ['v4', 'v6'], ...ipam } };
}
