// Reads the pool configuration file named by --config and parses it.
import { readFileSync } from 'node:fs';
import { ConfigError } from './configError.ts';
import { parsePoolConfig } from './parsePoolConfig.ts';
import type { BerthConfig } from './types.ts';

export function loadConfigFile(path: string): BerthConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, [{ path: '', message: `cannot read the configuration file: ${readFailureReason(error)}` }]);
  }
  return parsePoolConfig(text, path);
}

/** "no such file or directory (ENOENT)" out of Node's "ENOENT: no such file or directory, open '/x'". */
function readFailureReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  if (code === undefined) return error.message;
  const reason = error.message.replace(new RegExp(`^${code}: `), '').replace(/, \w+( '.*')?$/s, '');
  return `${reason} (${code})`;
}
