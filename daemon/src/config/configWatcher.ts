// Notices when the pool configuration file changes (written in place, replaced by rename, or
// swapped by a Kubernetes ConfigMap's ..data symlink) and on SIGHUP, and hands over the new
// content. Debounced, and silent when the bytes did not change.
import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

export interface ConfigWatcher {
  close(): void;
}

export function watchConfigFile(path: string, onChange: (reason: 'signal' | 'file') => void, debounceMs = 250): ConfigWatcher {
  let lastDigest = digest(path);
  let timer: NodeJS.Timeout | undefined;
  const fire = (reason: 'signal' | 'file') => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const current = digest(path);
      if (reason === 'file' && current === lastDigest) return;
      lastDigest = current;
      onChange(reason);
    }, reason === 'signal' ? 0 : debounceMs);
  };
  const onSignal = () => fire('signal');
  process.on('SIGHUP', onSignal);
  // Watch the directory: an atomic replace or a ConfigMap update swaps the file's inode.
  let watcher: FSWatcher | undefined;
  try {
    const name = basename(path);
    watcher = watch(dirname(path), (_event, changed) => {
      if (changed === null || changed === name || changed.toString().startsWith('..')) fire('file');
    });
    watcher.on('error', () => undefined);
  } catch {
    watcher = undefined;
  }
  return {
    close() {
      clearTimeout(timer);
      process.off('SIGHUP', onSignal);
      watcher?.close();
    },
  };
}

function digest(path: string): string {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch {
    return 'unreadable';
  }
}
