// The pools being served, by name.
import { AmbiguousPoolSelectorError, InvalidArgumentError, UnknownPoolError } from '../errors.ts';
import { formatLabels, type PoolState } from './poolState.ts';

/** Labels a pool must all carry to be selected; empty: no selector. */
export type PoolSelector = Readonly<Record<string, string>>;

export class PoolRegistry {
  private byName = new Map<string, PoolState>();
  /** Names of the prefix pools, so that naming one where an address pool is needed says so. */
  prefixPoolNames: () => readonly string[] = () => [];

  constructor(pools: Iterable<PoolState>) {
    this.replace(pools);
  }

  replace(pools: Iterable<PoolState>): void {
    this.byName = new Map([...pools].map((pool) => [pool.name, pool]));
  }

  /** Adds or replaces one pool (a cluster pool whose blocks changed). */
  put(pool: PoolState): void {
    this.byName.set(pool.name, pool);
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

  /**
   * The pools a request means: the named ones, or those a selector picks (at most one per IP
   * family, IPv4 first). Never both; never none.
   */
  select(names: readonly string[], selector: PoolSelector, field = 'pools'): PoolState[] {
    const selectorGiven = Object.keys(selector).length > 0;
    if (selectorGiven && names.length > 0) throw new InvalidArgumentError(`${field}: name pools or give a pool selector, not both`);
    if (!selectorGiven) {
      if (names.length === 0) throw new InvalidArgumentError(`${field}: name at least one pool, or give a pool selector`);
      return this.resolve(names);
    }
    const matching = this.all().filter((pool) => Object.entries(selector).every(([key, value]) => pool.config.labels[key] === value));
    if (matching.length === 0) {
      const labelled = this.all().filter((pool) => Object.keys(pool.config.labels).length > 0)
        .map((pool) => `"${pool.name}" ${formatLabels(pool.config.labels)}`);
      throw new UnknownPoolError(`selector ${formatLabels(selector)}`, this.names(),
        `no pool matches selector ${formatLabels(selector)} (labelled pools: ${labelled.length > 0 ? labelled.join(', ') : 'none'})`);
    }
    for (const family of [4, 6] as const) {
      const same = matching.filter((pool) => pool.config.family === family);
      if (same.length > 1) {
        throw new AmbiguousPoolSelectorError(`selector ${formatLabels(selector)} matches ${same.length} IPv${family} pools (${same.map((pool) => `"${pool.name}"`).join(', ')}); it must pick at most one pool per IP family: add a label that tells them apart`);
      }
    }
    return matching.sort((a, b) => a.config.family - b.config.family);
  }

  /** The named pools in order; throws UnknownPoolError for the first unknown name. */
  resolve(names: readonly string[]): PoolState[] {
    return names.map((name) => {
      const pool = this.byName.get(name);
      if (pool) return pool;
      if (this.prefixPoolNames().includes(name)) {
        throw new InvalidArgumentError(`pool "${name}" is a prefix pool (whole subnets, through AllocatePrefix); an attachment needs an address pool (configured: ${this.names().join(', ') || 'none'})`);
      }
      throw new UnknownPoolError(name, this.names());
    });
  }
}
