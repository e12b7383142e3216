// CNI_* environment variables, validated per verb (SPEC.md "Parameters").
import { CniCode } from '../../../daemon/src/errors.ts';
import { containerIdProblem, ifnameProblem, netnsProblem, podNameProblem, podNamespaceProblem, podUidProblem } from '../../../daemon/src/fieldRules.ts';
import { CniError } from './cniError.ts';

export const CNI_COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION', 'GC', 'STATUS'] as const;
export type CniCommand = (typeof CNI_COMMANDS)[number];

export interface CniArgs {
  readonly podNamespace: string;
  readonly podName: string;
  readonly podUid: string;
  /** Deprecated `IP=` key, split on commas; undefined when absent. */
  readonly ips: readonly string[] | undefined;
  /** Every key as given (unknown keys are accepted, as with IgnoreUnknown=1). */
  readonly all: ReadonlyMap<string, string>;
}

export interface CniEnvironment {
  readonly command: CniCommand;
  readonly containerId: string;
  readonly netns: string;
  readonly ifname: string;
  readonly path: string;
  readonly args: CniArgs;
}

type Env = Readonly<Record<string, string | undefined>>;
type Variable = 'CNI_CONTAINERID' | 'CNI_NETNS' | 'CNI_IFNAME' | 'CNI_PATH';

// DEL may come after the netns is gone, so CNI_NETNS is optional there; GC and STATUS concern no attachment.
const REQUIRED: Record<CniCommand, readonly Variable[]> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'],
  GC: ['CNI_PATH'],
  STATUS: ['CNI_PATH'],
  VERSION: [],
};

function invalid(msg: string): CniError {
  return new CniError(CniCode.INVALID_ENVIRONMENT, msg);
}

export function parseCommand(env: Env): CniCommand {
  const command = env.CNI_COMMAND;
  if (command === undefined || command === '') throw invalid('CNI_COMMAND: required (one of ' + CNI_COMMANDS.join(', ') + ')');
  if (!(CNI_COMMANDS as readonly string[]).includes(command)) {
    throw invalid(`CNI_COMMAND: unknown command "${command}" (expected one of ${CNI_COMMANDS.join(', ')})`);
  }
  return command as CniCommand;
}

export function parseEnvironment(env: Env): CniEnvironment {
  const command = parseCommand(env);
  const missing = REQUIRED[command].filter((name) => (env[name] ?? '') === '');
  if (missing.length > 0) throw invalid(`${missing.join(', ')}: required for ${command} but not set`);
  const containerId = env.CNI_CONTAINERID ?? '';
  const ifname = env.CNI_IFNAME ?? '';
  // The rules berthd applies to the same fields (daemon/src/fieldRules.ts), named as the runtime sets them.
  if (containerId !== '') check(containerIdProblem(containerId), 'CNI_CONTAINERID');
  if (ifname !== '') check(ifnameProblem(ifname), 'CNI_IFNAME');
  const netns = env.CNI_NETNS ?? '';
  check(netnsProblem(netns), 'CNI_NETNS');
  const args = parseCniArgs(env.CNI_ARGS ?? '');
  check(podNamespaceProblem(args.podNamespace), 'CNI_ARGS K8S_POD_NAMESPACE');
  check(podNameProblem(args.podName), 'CNI_ARGS K8S_POD_NAME');
  check(podUidProblem(args.podUid), 'CNI_ARGS K8S_POD_UID');
  return { command, containerId, netns, ifname, path: env.CNI_PATH ?? '', args };
}

function check(problem: string | undefined, variable: string): void {
  if (problem !== undefined) throw invalid(`${variable}: ${problem}`);
}

/** CNI_ARGS is `K=V;K=V`; the value may itself contain "=". */
export function parseCniArgs(text: string): CniArgs {
  const all = new Map<string, string>();
  for (const pair of text.split(';')) {
    if (pair.trim() === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw invalid(`CNI_ARGS: "${pair}" is not KEY=VALUE`);
    all.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
  const ip = all.get('IP');
  return {
    podNamespace: all.get('K8S_POD_NAMESPACE') ?? '',
    podName: all.get('K8S_POD_NAME') ?? '',
    podUid: all.get('K8S_POD_UID') ?? '',
    ips: ip === undefined ? undefined : ip.split(',').map((s) => s.trim()).filter((s) => s !== ''),
    all,
  };
}
