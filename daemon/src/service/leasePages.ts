// ListLeases a page at a time. The page token names the last lease returned (pool, address,
// row id), not an offset: a lease that exists throughout a listing is returned exactly once even
// while others are added or released between pages, and a page costs the same at the millionth
// lease as at the first.
import { InvalidArgumentError } from '../errors.ts';
import type { LeaseFilter, LeaseRecord } from '../store/leaseRecord.ts';
import type { LeasePageKey, LeaseStore } from '../store/leaseStore.ts';
import type { PoolCatalogue } from './poolCatalogue.ts';

/** Most leases in one reply: ~2.5 MB, under grpcurl's default 4 MB receive limit. */
export const MAX_LEASE_PAGE_SIZE = 10_000;

export interface LeasePage {
  readonly leases: LeaseRecord[];
  /** Empty when this was the last page. */
  readonly nextPageToken: string;
}

export function listLeasePage(
  deps: { readonly store: LeaseStore; readonly pools: PoolCatalogue },
  filter: LeaseFilter,
  pageSize: number,
  pageToken: string,
): LeasePage {
  if (filter.pool) deps.pools.resolve('address', filter.pool);
  const limit = pageSize <= 0 || pageSize > MAX_LEASE_PAGE_SIZE ? MAX_LEASE_PAGE_SIZE : pageSize;
  const after = pageToken === '' ? undefined : decodePageToken(pageToken);
  const page = deps.store.leasePage(filter, after, limit);
  return { leases: page.leases, nextPageToken: page.leases.length === limit && page.last ? encodePageToken(page.last) : '' };
}

const TOKEN_VERSION = 1;

export function encodePageToken(key: LeasePageKey): string {
  return Buffer.from(JSON.stringify([TOKEN_VERSION, key.pool, key.address.toString(16), key.id])).toString('base64url');
}

export function decodePageToken(token: string): LeasePageKey {
  const refuse = () => new InvalidArgumentError(`page_token: "${token.slice(0, 64)}" is not a next_page_token this berthd issued; start again with an empty page_token`);
  if (token.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(token)) throw refuse();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw refuse();
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) throw refuse();
  const [version, pool, addressHex, id] = parsed as unknown[];
  if (version !== TOKEN_VERSION || typeof pool !== 'string' || typeof addressHex !== 'string' || !/^[0-9a-f]{1,32}$/.test(addressHex)
    || typeof id !== 'number' || !Number.isSafeInteger(id)) {
    throw refuse();
  }
  return { pool, address: BigInt(`0x${addressHex}`), id };
}
