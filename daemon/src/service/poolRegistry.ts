// The pools being served, by name.
import { UnknownPoolError } from '../errors.ts';
import type { PoolState } from './poolState.ts';

export class PoolRegistry {
  private byName = new Map<string, PoolState>();

  constructor(pools: Iterable<PoolState>) {
    this.replace(pools);
  }

  replace(pools: Iterable<PoolState>): void {
    this.byName = new Map([...pools].map((pool) => [pool.name, pool]));
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  get(name: string): PoolState | undefined {
    return this.byName.get(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  all(): PoolState[] {
    return [...this.byName.values()];
  }

  /** The named pools in order; throws UnknownPoolError for the first unknown name. */
  resolve(names: readonly string[]): PoolState[] {
    return names.map((name) => {
      const pool = this.byName.get(name);
      if (!pool) throw new UnknownPoolError(name, this.names());
      return pool;
    });
  }
}
