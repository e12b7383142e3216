// Where a node's pools come from. berthd serves whatever its source holds and re-reads it when
// the source says it may have changed; every reload goes through the same checks (nothing that
// would orphan a lease applies). Today: the config file, or the embedded example. Next: per-node
// blocks claimed from a cluster-wide CIDR, served from the local copy while that store is away.
import { watchConfigFile } from './configWatcher.ts';
import { loadConfigFile } from './loadConfigFile.ts';
import type { BerthConfig } from './types.ts';

export interface PoolSource {
  /** What the pools come from, for logs ("file /etc/berth/pools.yaml"). */
  readonly description: string;
  /** The pools to serve now, validated. Throws ConfigError when the source holds an invalid configuration. */
  load(): BerthConfig;
  /** Calls onChange with a reason whenever the pools may have changed, until closed. */
  watch(onChange: (trigger: string) => void): { close(): void };
}

/** The --config file: re-read when it changes (in place, by rename, or as a ConfigMap) and on SIGHUP. */
export function configFilePoolSource(path: string): PoolSource {
  return {
    description: `file ${path}`,
    load: () => loadConfigFile(path),
    watch: (onChange) => watchConfigFile(path, onChange),
  };
}

/** Pools that never change (the embedded example, tests). */
export function fixedPoolSource(config: BerthConfig, description: string): PoolSource {
  return { description, load: () => config, watch: () => ({ close: () => undefined }) };
}
