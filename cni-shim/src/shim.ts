// berth: the CNI IPAM plugin. Reads CNI_* and the network config, asks berthd, prints the result
// or a CNI error. Everything below throws; the one catch here turns a failure into the output.
import { asCniError } from './cni/cniError.ts';
import { parseCommand, parseEnvironment } from './cni/environment.ts';
import { invalidConfig, parseNetworkConfig } from './cni/networkConfig.ts';
import { isSupportedVersion, LATEST_VERSION } from './cni/versions.ts';
import type { ConnectIpam } from './commands.ts';
import { runCommand, versionOutput } from './commands.ts';
import { readAll, writeAllSync } from './posix/stdio.ts';

export const MAX_STDIN_BYTES = 1024 * 1024;

export interface ShimOutcome {
  /** What to print on stdout (without the newline); undefined: nothing. */
  readonly output: string | undefined;
  readonly exitCode: number;
}

/** Runs the plugin as the process it is: environment, stdin, stdout, exit code. */
export async function runShim(): Promise<void> {
  // The plugin never ends without CNI error JSON: a throw from a socket or timer callback, or a
  // rejection nobody awaited, becomes code 110 saying what happened, like any other bug.
  let stdin = '';
  const lastResort = (error: unknown) => printThenExit(outputText(failureOutcome(error, stdin)), 1);
  process.on('uncaughtException', lastResort);
  process.on('unhandledRejection', lastResort);
  let outcome: ShimOutcome;
  try {
    outcome = await handleInvocation(process.env, async () => (stdin = await readInput(0)), connectBerthd);
  } catch (error) {
    outcome = failureOutcome(error, stdin);
  }
  printThenExit(outputText(outcome), outcome.exitCode);
}

function failureOutcome(error: unknown, stdin: string): ShimOutcome {
  let version: string = LATEST_VERSION;
  try {
    version = declaredVersion(stdin) ?? LATEST_VERSION;
  } catch { /* keep the latest */ }
  return { output: asCniError(error).toJson(version), exitCode: 1 };
}

/** The network config from `fd` (stdin). */
export function readInput(fd: number): Promise<string> {
  return readStdin(fd, MAX_STDIN_BYTES);
}

export function outputText(outcome: ShimOutcome): string {
  return outcome.output === undefined ? '' : `${outcome.output}\n`;
}

/**
 * Writes to fd 1 synchronously, then exits at once rather than when the loop drains: nothing may
 * keep a runtime waiting. process.stdout (a stream over the pipe) is created only when the
 * synchronous write fails (EPIPE, ...), so that such failures end as they always have.
 */
function printThenExit(text: string, exitCode: number): void {
  const rest = writeAllSync(1, text);
  if (rest.length > 0) process.stdout.write(rest, () => process.exit(exitCode));
  else process.exit(exitCode);
}

/** One invocation from its environment and stdin; `connectIpam` reaches berthd for the verbs that need it. */
export async function handleInvocation(environment: NodeJS.ProcessEnv, readInput: () => Promise<string>, connectIpam: ConnectIpam): Promise<ShimOutcome> {
  let stdin = '';
  try {
    // stdin first: even an error about CNI_COMMAND must answer in the config's cniVersion.
    stdin = await readInput();
    const command = parseCommand(environment);
    if (command === 'VERSION') return { output: versionOutput(declaredVersion(stdin)), exitCode: 0 };
    const env = parseEnvironment(environment);
    const config = parseNetworkConfig(stdin);
    return { output: await runCommand({ env, config }, connectIpam), exitCode: 0 };
  } catch (error) {
    return failureOutcome(error, stdin);
  }
}

// Loaded only for verbs that talk to berthd: VERSION needs none of the client.
export const connectBerthd: ConnectIpam = (socketPath, timeoutMs) => ({
  call: async (method, request) => {
    const { IpamClient } = await import('./client.ts');
    return new IpamClient({ socketPath, timeoutMs }).call(method, request);
  },
});

/** The config's cniVersion when it is one berth speaks, for VERSION and for error output. */
function declaredVersion(stdin: string): string | undefined {
  try {
    const doc: unknown = JSON.parse(stdin);
    const version = typeof doc === 'object' && doc !== null && 'cniVersion' in doc ? doc.cniVersion : undefined;
    return typeof version === 'string' && isSupportedVersion(version) ? version : undefined;
  } catch {
    return undefined;
  }
}

/** Stdin to its end, read synchronously (posix/stdio.ts); more than `limit` bytes is an invalid config. */
async function readStdin(fd: number, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  await readAll(fd, (chunk) => {
    size += chunk.length;
    if (size > limit) throw invalidConfig(`network config on stdin is larger than ${limit} bytes`);
    chunks.push(chunk);
  });
  return Buffer.concat(chunks).toString('utf8');
}
