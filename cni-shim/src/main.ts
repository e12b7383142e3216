// berth: the CNI IPAM plugin. Reads CNI_* and the network config, asks berthd, prints the result
// or a CNI error. Everything below throws; the one catch here prints and sets the exit code.
import { asCniError } from './cni/cniError.ts';
import { parseCommand, parseEnvironment } from './cni/environment.ts';
import { invalidConfig, parseNetworkConfig } from './cni/networkConfig.ts';
import { isSupportedVersion, LATEST_VERSION } from './cni/versions.ts';
import { runCommand, versionOutput } from './commands.ts';

export const MAX_STDIN_BYTES = 1024 * 1024;

async function main(): Promise<number> {
  let stdin = '';
  try {
    // stdin first: even an error about CNI_COMMAND must answer in the config's cniVersion.
    stdin = await readStdin(MAX_STDIN_BYTES);
    const command = parseCommand(process.env);
    if (command === 'VERSION') {
      print(versionOutput(declaredVersion(stdin)));
      return 0;
    }
    const env = parseEnvironment(process.env);
    const config = parseNetworkConfig(stdin);
    // Loaded only for verbs that talk to berthd: VERSION stays as fast as a bare node start.
    const { IpamClient } = await import('./client.ts');
    const output = await runCommand({ env, config }, (socketPath, timeoutMs) => new IpamClient({ socketPath, timeoutMs }));
    if (output !== undefined) print(output);
    return 0;
  } catch (error) {
    print(asCniError(error).toJson(declaredVersion(stdin) ?? LATEST_VERSION));
    return 1;
  }
}

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

function readStdin(limit: number): Promise<string> {
  if (process.stdin.isTTY) return Promise.resolve('');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    process.stdin.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        process.stdin.destroy();
        reject(invalidConfig(`network config on stdin is larger than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

void main().then((code) => {
  // Exit now rather than when the loop drains: nothing may keep a runtime waiting.
  process.stdout.write('', () => process.exit(code));
});
