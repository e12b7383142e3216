// berthd's cluster flags (--etcd-*, --node-labels, --block-idle-seconds), checked into one typed
// object. Every problem names its flag. Secrets never come from argv: the password is read from
// a file or the environment, so it does not show in `ps` or in the DaemonSet spec.
import { readFileSync } from 'node:fs';

export interface ClusterFlags {
  readonly etcdEndpoints?: string;
  readonly etcdPrefix: string;
  readonly etcdCa?: string;
  readonly etcdCert?: string;
  readonly etcdKey?: string;
  readonly etcdUsername?: string;
  readonly etcdPasswordFile?: string;
  readonly etcdTimeoutMs: string;
  readonly nodeLabels?: string;
  readonly blockIdleSeconds: string;
}

export interface ClusterOptions {
  /** "https://10.0.0.1:2379", scheme always present. */
  readonly endpoints: readonly string[];
  readonly prefix: string;
  readonly tls?: { readonly ca: Buffer; readonly cert?: Buffer; readonly key?: Buffer };
  readonly auth?: { readonly username: string; readonly password: string };
  /** Deadline of every cluster store call. */
  readonly timeoutMs: number;
  readonly nodeLabels: Readonly<Record<string, string>>;
  /** A block empty this long is given back (0: never). */
  readonly blockIdleSeconds: number;
  /** At most one usage report per this many ms (default: the engine's). */
  readonly usageIntervalMs?: number;
}

export const PASSWORD_ENV = 'BERTH_ETCD_PASSWORD';
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

export class ClusterFlagError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '));
    this.name = 'ClusterFlagError';
  }
}

/** The cluster options, or undefined when no --etcd-endpoints were given (file mode). */
export function parseClusterFlags(flags: ClusterFlags, env: NodeJS.ProcessEnv = process.env, readFile: (path: string) => Buffer = readFileSync): ClusterOptions | undefined {
  const problems: string[] = [];
  const nodeLabels = parseNodeLabels(flags.nodeLabels ?? '', problems);
  const blockIdleSeconds = number(flags.blockIdleSeconds, '--block-idle-seconds', 0, 30 * 24 * 3600, problems);
  const timeoutMs = number(flags.etcdTimeoutMs, '--etcd-timeout-ms', 50, 60_000, problems);
  if (flags.etcdEndpoints === undefined || flags.etcdEndpoints.trim() === '') {
    const given = (['etcdCa', 'etcdCert', 'etcdKey', 'etcdUsername', 'etcdPasswordFile'] as const).filter((key) => flags[key] !== undefined);
    if (given.length > 0) problems.push(`--etcd-endpoints: required with ${given.map(flagName).join(', ')}`);
    if (problems.length > 0) throw new ClusterFlagError(problems);
    return undefined;
  }
  const endpoints = flags.etcdEndpoints.split(',').map((text) => text.trim()).filter(Boolean).flatMap((text, i) => {
    const url = /^(https?):\/\/(.*)$/.exec(text);
    const scheme = url?.[1] ?? (flags.etcdCa !== undefined || flags.etcdCert !== undefined ? 'https' : 'http');
    const hostPort = HOST_PORT.exec(url ? url[2]! : text);
    if (!hostPort || Number(hostPort[2]) === 0 || Number(hostPort[2]) > 65535) {
      problems.push(`--etcd-endpoints[${i}]: "${text}" is not host:port or http(s)://host:port`);
      return [];
    }
    return [`${scheme}://${hostPort[1]}:${hostPort[2]}`];
  });
  if (!/^\/?[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*\/?$/.test(flags.etcdPrefix) || flags.etcdPrefix.split('/').some((part) => part === '.' || part === '..')) {
    problems.push(`--etcd-prefix: "${flags.etcdPrefix}" is not a key path like /berth`);
  }
  const read = (path: string | undefined, flag: string): Buffer | undefined => {
    if (path === undefined) return undefined;
    try {
      return readFile(path);
    } catch (error) {
      problems.push(`${flag}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
      return undefined;
    }
  };
  if ((flags.etcdCert === undefined) !== (flags.etcdKey === undefined)) problems.push('--etcd-cert and --etcd-key: give both (a client certificate and its key) or neither');
  if (flags.etcdCert !== undefined && flags.etcdCa === undefined) problems.push('--etcd-ca: required with --etcd-cert (the CA that signed the etcd server certificates)');
  const ca = read(flags.etcdCa, '--etcd-ca');
  const cert = read(flags.etcdCert, '--etcd-cert');
  const key = read(flags.etcdKey, '--etcd-key');
  let auth: ClusterOptions['auth'];
  if (flags.etcdUsername !== undefined) {
    let password = env[PASSWORD_ENV];
    if (flags.etcdPasswordFile !== undefined) password = read(flags.etcdPasswordFile, '--etcd-password-file')?.toString('utf8').replace(/\r?\n$/, '');
    if (password === undefined || password === '') problems.push(`--etcd-username: needs a password, from --etcd-password-file or the ${PASSWORD_ENV} environment variable`);
    else auth = { username: flags.etcdUsername, password };
  } else if (flags.etcdPasswordFile !== undefined) {
    problems.push('--etcd-password-file: needs --etcd-username');
  }
  if (problems.length > 0) throw new ClusterFlagError(problems);
  const tls = ca ? { ca, ...(cert ? { cert } : {}), ...(key ? { key } : {}) } : undefined;
  return {
    endpoints, prefix: `/${flags.etcdPrefix.replace(/^\/+|\/+$/g, '')}`, timeoutMs, nodeLabels, blockIdleSeconds,
    ...(tls ? { tls } : {}), ...(auth ? { auth } : {}),
  };
}

/** `--node-labels zone=a,rack=r1`: Kubernetes label syntax; an empty value is allowed, a repeated key is not. */
export function parseNodeLabels(text: string, problems: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [i, item] of text.split(',').map((part) => part.trim()).filter(Boolean).entries()) {
    const equals = item.indexOf('=');
    const key = equals < 0 ? item : item.slice(0, equals);
    const value = equals < 0 ? undefined : item.slice(equals + 1);
    const where = `--node-labels[${i}]`;
    if (value === undefined) problems.push(`${where}: "${item}" is not key=value`);
    else if (key.length > 316 || !LABEL_KEY.test(key)) problems.push(`${where}: "${key}" is not a label key (optional DNS prefix and "/", then up to 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit)`);
    else if (!LABEL_VALUE.test(value)) problems.push(`${where}: "${value}" is not a label value (up to 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit)`);
    else if (Object.hasOwn(labels, key)) problems.push(`${where}: label "${key}" is given twice`);
    else labels[key] = value;
  }
  return labels;
}

function number(text: string, flag: string, min: number, max: number, problems: string[]): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    problems.push(`${flag}: "${text}" is not a whole number from ${min} to ${max}`);
    return min;
  }
  return value;
}

function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
}
