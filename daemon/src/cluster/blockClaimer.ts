// The claim protocol. A block belongs to the node whose create-if-absent committed first; there is
// no other way to become an owner. Every value carries a claim token (node + nonce), so a reply
// lost after commit is resolved by reading the key back, and a release only deletes the exact
// revision that was claimed.
import { randomBytes } from 'node:crypto';
import { formatCidr, type Cidr } from '../ip/address.ts';
import type { ClaimStore, StoredEntry } from './claimStore.ts';
import { ClusterDataError, ClusterUnavailableError, NoFreeBlockError, NodeAliveError } from './clusterErrors.ts';
import { ClusterKeys, decodeBlockRecord, decodeEntries, encodeRecord, isNodeName, parseBlockKeySegment, type BlockRecord } from './clusterRecords.ts';
import { BlockCandidates } from './blockCarving.ts';
import { carvePool, type CarvedPool, type ClusterPoolDefinition } from './poolDefinition.ts';

/** A block as the cluster store records it. */
export interface ClusterBlock extends BlockRecord {
  readonly pool: string;
  /** CIDR text, "10.0.0.64/26". */
  readonly cidr: string;
  /** Store revision of the ownership key; a release compares on it. */
  readonly revision: string;
}

/** What a node keeps about a block it owns (persist it: `revision` is needed to release). */
export type OwnedBlock = Pick<ClusterBlock, 'pool' | 'cidr' | 'token' | 'revision'>;

export interface ReconcileReport {
  /** Believed owned and still assigned to this node by the store (with the store's current revision). */
  readonly confirmed: ClusterBlock[];
  /** Believed owned, but the store no longer assigns them to this node (released by an operator, or now another node's). Stop using them. */
  readonly lost: { readonly block: OwnedBlock; readonly now: ClusterBlock | undefined }[];
  /** Assigned to this node by the store but not believed owned: usually a claim whose reply was lost. Adopt or release them. */
  readonly unknown: ClusterBlock[];
  /** Keys under the pool's block prefix that are not valid berth blocks. */
  readonly problems: ClusterDataError[];
}

export interface BlockClaimerOptions {
  readonly store: ClaimStore;
  /** This node's name (as in its liveness key). */
  readonly node: string;
  /** etcd key prefix; default /berth. */
  readonly prefix?: string;
  /** Clock, for claimedAt. */
  readonly now?: () => Date;
  /** Conflicts tolerated on the cached view before re-listing the pool's blocks (default 4). */
  readonly conflictsBeforeRelist?: number;
  /** Called for every write the claimer makes (create, swap, delete): the bench counts them. */
  readonly onWrite?: (kind: 'create' | 'delete') => void;
}

export type ReleaseOutcome =
  /** The ownership key was deleted. */
  | 'released'
  /** The key was already gone (released by an operator, or an earlier attempt whose reply was lost). */
  | 'gone'
  /** The key changed since it was claimed (another owner or token): left as it is. */
  | 'notOwned';

interface PoolView {
  candidates: BlockCandidates;
  order: Generator<Cidr>;
}

export class BlockClaimer {
  readonly node: string;
  readonly keys: ClusterKeys;
  private readonly store: ClaimStore;
  private readonly now: () => Date;
  private readonly conflictsBeforeRelist: number;
  private readonly onWrite: (kind: 'create' | 'delete') => void;
  private readonly views = new Map<string, PoolView>();
  /** Counters since construction: claims won, creates lost to another node, pool listings, releases. */
  readonly stats = { claims: 0, conflicts: 0, lists: 0, releases: 0 };
  /** Creates whose outcome could not be read back (the store went away): resolved by the next claim of the pool. */
  private readonly unresolved = new Map<string, { pool: string; cidr: Cidr; record: BlockRecord }>();

  constructor(options: BlockClaimerOptions) {
    if (!isNodeName(options.node)) throw new Error(`node name "${options.node}" is not valid (letters, digits, . _ -)`);
    this.node = options.node;
    this.store = options.store;
    this.keys = new ClusterKeys(options.prefix);
    this.now = options.now ?? (() => new Date());
    this.conflictsBeforeRelist = options.conflictsBeforeRelist ?? 4;
    this.onWrite = options.onWrite ?? (() => {});
  }

  /**
   * Claims one free block of the pool for this node. Throws NoFreeBlockError (naming the pool) when
   * a fresh listing shows none free, ClusterUnavailableError when the store does not answer. The
   * caller records the returned block (durably) before handing out addresses from it. Blocks in
   * `avoid` (by first address) are never claimed, free or not.
   */
  async claimBlock(definition: ClusterPoolDefinition | CarvedPool, options: { avoid?: readonly bigint[] } = {}): Promise<ClusterBlock> {
    const pool = 'canonical' in definition ? definition : carvePool(definition);
    const avoid = new Set(options.avoid ?? []);
    const resolved = await this.resolveUnresolved(pool);
    if (resolved) return resolved;
    let view = this.views.get(pool.name);
    let fresh = false;
    if (!view || view.candidates.pool.hash !== pool.hash) {
      // First claim of the pool: try the node's own candidates without listing (in a sparse pool
      // the first is almost always free); list only after a few conflicts. 5,000 nodes starting
      // together would otherwise each read thousands of keys.
      view = this.viewOf(pool, []);
    }
    let conflicts = 0;
    let skipped = 0;
    for (;;) {
      const next = view.order.next();
      if (next.done || conflicts >= this.conflictsBeforeRelist) {
        if (next.done && fresh) throw new NoFreeBlockError(pool.name, view.candidates.totalBlocks, skipped);
        view = await this.relist(pool);
        fresh = true;
        conflicts = 0;
        skipped = 0;
        continue;
      }
      if (avoid.has(next.value.network)) {
        if (fresh) skipped += 1;
        continue;
      }
      const claimed = await this.tryCreate(pool, next.value);
      if (claimed) return claimed;
      this.stats.conflicts += 1;
      conflicts += 1;
      fresh = false;
    }
  }

  /** Releases a block this node owns, comparing on the revision it was claimed (or last confirmed) at. */
  async releaseBlock(block: OwnedBlock): Promise<ReleaseOutcome> {
    const key = this.blockKey(block.pool, block.cidr);
    this.onWrite('delete');
    let outcome;
    try {
      outcome = await this.store.compareAndDelete(key, block.revision);
    } catch (error) {
      if (!(error instanceof ClusterUnavailableError) || !error.ambiguous) throw error;
      // The delete may have committed: the key tells.
      const current = await this.store.get(key);
      if (current === undefined) return 'gone';
      if (current.revision !== block.revision) return 'notOwned';
      throw error;
    }
    if (outcome.ok) {
      this.stats.releases += 1;
      return 'released';
    }
    return outcome.current === undefined ? 'gone' : 'notOwned';
  }

  /** Compares what this node believes it owns in `pool` with what the store says. Read-only. */
  async reconcile(pool: string, believed: readonly OwnedBlock[]): Promise<ReconcileReport> {
    const { blocks, problems } = await this.listBlocks(pool);
    const byCidr = new Map(blocks.map((b) => [b.cidr, b]));
    const believedCidrs = new Set(believed.map((b) => b.cidr));
    const confirmed: ClusterBlock[] = [];
    const lost: ReconcileReport['lost'][number][] = [];
    for (const block of believed) {
      const now = byCidr.get(block.cidr);
      if (now && now.node === this.node && now.token === block.token) confirmed.push(now);
      else lost.push({ block, now });
    }
    const unknown = blocks.filter((b) => b.node === this.node && !believedCidrs.has(b.cidr));
    return { confirmed, lost, unknown, problems };
  }

  /** Every valid block of one pool (or of all pools), and a problem for every key that is not one. */
  async listBlocks(pool?: string): Promise<{ blocks: ClusterBlock[]; problems: ClusterDataError[] }> {
    const { records, problems } = decodeEntries(await this.store.list(this.keys.blocksPrefix(pool)), (entry) => this.decodeBlock(entry));
    return { blocks: records, problems };
  }

  /**
   * Operator action: releases every block of `node`. Refused (NodeAliveError) while that node's
   * liveness key exists, unless `force`. Each delete compares on the revision just read, so a
   * block re-claimed meanwhile is left alone.
   */
  async releaseNode(node: string, options: { force?: boolean } = {}): Promise<{ released: ClusterBlock[]; problems: ClusterDataError[] }> {
    if (!isNodeName(node)) throw new Error(`node name "${node}" is not valid`);
    if (!options.force && (await this.store.get(this.keys.node(node))) !== undefined) throw new NodeAliveError(node);
    const { blocks, problems } = await this.listBlocks();
    const released: ClusterBlock[] = [];
    for (const block of blocks.filter((b) => b.node === node)) {
      this.onWrite('delete');
      const outcome = await this.store.compareAndDelete(this.blockKey(block.pool, block.cidr), block.revision);
      if (outcome.ok) released.push(block);
    }
    this.views.clear();
    return { released, problems };
  }

  /** Decodes one block entry; ClusterDataError names the key and field when it is not a berth block. */
  decodeBlock(entry: StoredEntry): ClusterBlock {
    const tail = entry.key.startsWith(this.keys.blocksPrefix()) ? entry.key.slice(this.keys.blocksPrefix().length) : undefined;
    const parts = tail?.split('/');
    if (!parts || parts.length !== 2) throw new ClusterDataError(entry.key, 'not a berth block key (<prefix>/blocks/<pool>/<address>-<length>)');
    const [pool, segment] = parts as [string, string];
    const cidr = parseBlockKeySegment(segment);
    if (!cidr) throw new ClusterDataError(entry.key, `"${segment}" is not a canonical block (<address>-<length>, host bits zero)`);
    const record = decodeBlockRecord(entry.key, entry.value);
    return { ...record, pool, cidr: formatCidr(cidr.network, cidr.prefixLength, cidr.family), revision: entry.revision };
  }

  private blockKey(pool: string, cidrText: string): string {
    return `${this.keys.blocksPrefix(pool)}${cidrText.replace('/', '-')}`;
  }

  private async relist(pool: CarvedPool): Promise<PoolView> {
    // Every key at a block position counts as taken, whatever its value: a garbage value there
    // still makes create-if-absent fail, so offering the block again would only loop.
    const prefix = this.keys.blocksPrefix(pool.name);
    const taken: bigint[] = [];
    for (const key of await this.store.listKeys(prefix)) {
      const cidr = parseBlockKeySegment(key.slice(prefix.length));
      if (cidr) taken.push(cidr.network);
    }
    this.stats.lists += 1;
    return this.viewOf(pool, taken);
  }

  private viewOf(pool: CarvedPool, taken: readonly bigint[]): PoolView {
    const candidates = new BlockCandidates(pool, taken);
    const view = { candidates, order: candidates.order(this.node) };
    this.views.set(pool.name, view);
    return view;
  }

  /**
   * A claim of this pool whose reply and read-back were both lost is sent again with the same
   * value: it either committed back then (the store recognises the value) or commits now, or the
   * block went to another node meanwhile. Either way nothing is orphaned or guessed.
   */
  private async resolveUnresolved(pool: CarvedPool): Promise<ClusterBlock | undefined> {
    for (const [key, pending] of this.unresolved) {
      if (pending.pool !== pool.name) continue;
      const claimed = await this.tryCreate(pool, pending.cidr, pending.record);
      this.unresolved.delete(key);
      if (claimed) return claimed;
    }
    return undefined;
  }

  /** One create-if-absent; undefined when another node holds the block. */
  private async tryCreate(pool: CarvedPool, cidr: Cidr, reuse?: BlockRecord): Promise<ClusterBlock | undefined> {
    const key = this.keys.block(pool.name, cidr);
    const record: BlockRecord = reuse ?? { node: this.node, token: `${this.node}/${randomBytes(9).toString('base64url')}`, claimedAt: this.now().toISOString(), poolHash: pool.hash };
    const value = encodeRecord(record);
    const cidrText = formatCidr(cidr.network, cidr.prefixLength, cidr.family);
    // Repeating the same value is safe: create reports ok when the key already holds exactly it.
    for (let attempt = 0; ; attempt++) {
      this.onWrite('create');
      try {
        const outcome = await this.store.create(key, value);
        if (!outcome.ok) return undefined;
        this.stats.claims += 1;
        return { ...record, pool: pool.name, cidr: cidrText, revision: outcome.revision };
      } catch (error) {
        if (!(error instanceof ClusterUnavailableError) || !error.ambiguous) throw error;
        // The reply was lost: the key says whether our create committed. Never guess.
        let current;
        try {
          current = await this.store.get(key);
        } catch (readError) {
          this.unresolved.set(key, { pool: pool.name, cidr, record });
          throw readError;
        }
        if (current?.value === value) {
          this.stats.claims += 1;
          return { ...record, pool: pool.name, cidr: cidrText, revision: current.revision };
        }
        if (current !== undefined) return undefined;
        if (attempt >= 2) {
          this.unresolved.set(key, { pool: pool.name, cidr, record });
          throw error;
        }
      }
    }
  }
}
