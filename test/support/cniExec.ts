// Runs CNI plugins the way libcni does: exec with CNI_* env and the config on stdin; a conflist
// chains plugins, each ADD getting the previous plugin's result as prevResult.
import { spawn } from 'node:child_process';

export interface ExecResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  /** stdout parsed as JSON, or undefined when empty or not JSON. */
  readonly json: Record<string, unknown> | undefined;
}

export function execPlugin(path: string, env: Record<string, string>, stdin: string | object, timeoutMs = 30_000): Promise<ExecResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    // Like a runtime: a clean environment with only what CNI defines (plus PATH for plugins that exec tools).
    const child = spawn(path, [], { env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      let json: Record<string, unknown> | undefined;
      try {
        json = stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ code, stdout, stderr, ms: Date.now() - started, json });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(typeof stdin === 'string' ? stdin : JSON.stringify(stdin));
  });
}

export interface Attachment {
  readonly containerId: string;
  readonly netns: string;
  readonly ifname: string;
  readonly args?: string;
}

export interface Conflist {
  readonly cniVersion: string;
  readonly name: string;
  readonly plugins: readonly Record<string, unknown>[];
}

export function cniEnv(command: string, attachment: Attachment, cniPath: string): Record<string, string> {
  return {
    CNI_COMMAND: command, CNI_CONTAINERID: attachment.containerId, CNI_NETNS: attachment.netns,
    CNI_IFNAME: attachment.ifname, CNI_PATH: cniPath, ...(attachment.args ? { CNI_ARGS: attachment.args } : {}),
  };
}

/** ADD through the whole list; returns the final result, or the first failure. */
export async function addNetworkList(list: Conflist, attachment: Attachment, cniPath: string): Promise<ExecResult> {
  let prevResult: unknown;
  let last: ExecResult | undefined;
  for (const plugin of list.plugins) {
    const config = { ...plugin, name: list.name, cniVersion: list.cniVersion, ...(prevResult ? { prevResult } : {}) };
    last = await execPlugin(`${cniPath.split(':')[0]}/${String(plugin.type)}`, cniEnv('ADD', attachment, cniPath), config);
    if (last.code !== 0) return last;
    prevResult = last.json;
  }
  return last!;
}

/** CHECK or DEL through the list with the cached ADD result as prevResult (DEL in reverse order). */
export async function runNetworkList(command: 'CHECK' | 'DEL', list: Conflist, attachment: Attachment, cniPath: string, cached: unknown): Promise<ExecResult[]> {
  const plugins = command === 'DEL' ? [...list.plugins].reverse() : list.plugins;
  const results: ExecResult[] = [];
  for (const plugin of plugins) {
    const config = { ...plugin, name: list.name, cniVersion: list.cniVersion, ...(cached ? { prevResult: cached } : {}) };
    const result = await execPlugin(`${cniPath.split(':')[0]}/${String(plugin.type)}`, cniEnv(command, attachment, cniPath), config);
    results.push(result);
    if (result.code !== 0) break;
  }
  return results;
}
