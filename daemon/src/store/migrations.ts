// Schema history. Each entry moves the database from version i to i + 1 (PRAGMA user_version);
// entries are append-only: never edit one that has shipped.
import type Database from 'better-sqlite3';
import { StoreOpenError } from './storeOpenError.ts';
export const migrations: readonly string[] = [
  // 1: leases keyed by address (the last line of defence against duplicates) and by attachment.
  `
  CREATE TABLE leases (
    id            INTEGER PRIMARY KEY,
    address_space TEXT    NOT NULL DEFAULT 'default',
    address       BLOB    NOT NULL,  -- 16-byte big-endian, sorts like the address
    address_text  TEXT    NOT NULL,  -- for people reading the database
    family        INTEGER NOT NULL CHECK (family IN (4, 6)),
    pool          TEXT    NOT NULL,
    container_id  TEXT    NOT NULL,
    ifname        TEXT    NOT NULL,
    network       TEXT    NOT NULL DEFAULT '',
    pod_namespace TEXT    NOT NULL DEFAULT '',
    pod_name      TEXT    NOT NULL DEFAULT '',
    pod_uid       TEXT    NOT NULL DEFAULT '',
    netns         TEXT    NOT NULL DEFAULT '',
    boot_id       TEXT    NOT NULL DEFAULT '',
    created_at_ms INTEGER NOT NULL,
    UNIQUE (address_space, address),
    UNIQUE (container_id, ifname, pool)
  );
  CREATE INDEX leases_by_pool ON leases (pool, address);
  CREATE INDEX leases_by_network ON leases (network);
  CREATE INDEX leases_by_netns ON leases (netns);
  CREATE TABLE pool_cursors (
    pool         TEXT PRIMARY KEY,
    last_address BLOB NOT NULL
  );
  `,
  // 2: network instances (address_space is the pool's network), cooling leases (reclaim delay)
  // kept in the same table so that UNIQUE (address_space, address) still covers every held
  // address, and prefix leases. The attachment key is unique among active leases only.
  `
  CREATE TABLE leases_v2 (
    id             INTEGER PRIMARY KEY,
    address_space  TEXT    NOT NULL DEFAULT 'default',  -- the pool's network instance
    address        BLOB    NOT NULL,  -- 16-byte big-endian, sorts like the address
    address_text   TEXT    NOT NULL,  -- for people reading the database
    family         INTEGER NOT NULL CHECK (family IN (4, 6)),
    pool           TEXT    NOT NULL,
    container_id   TEXT    NOT NULL,
    ifname         TEXT    NOT NULL,
    network        TEXT    NOT NULL DEFAULT '',  -- CNI network name
    pod_namespace  TEXT    NOT NULL DEFAULT '',
    pod_name       TEXT    NOT NULL DEFAULT '',
    pod_uid        TEXT    NOT NULL DEFAULT '',
    netns          TEXT    NOT NULL DEFAULT '',
    boot_id        TEXT    NOT NULL DEFAULT '',
    created_at_ms  INTEGER NOT NULL,
    state          TEXT    NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'cooling')),
    owner_key      TEXT    NOT NULL DEFAULT '',  -- who gets a cooling address back
    reusable_at_ms INTEGER NOT NULL DEFAULT 0,   -- cooling until then
    UNIQUE (address_space, address)
  );
  INSERT INTO leases_v2 (id, address_space, address, address_text, family, pool, container_id, ifname, network,
      pod_namespace, pod_name, pod_uid, netns, boot_id, created_at_ms)
    SELECT id, address_space, address, address_text, family, pool, container_id, ifname, network,
      pod_namespace, pod_name, pod_uid, netns, boot_id, created_at_ms FROM leases;
  DROP TABLE leases;
  ALTER TABLE leases_v2 RENAME TO leases;
  CREATE UNIQUE INDEX leases_by_attachment ON leases (container_id, ifname, pool) WHERE state = 'active';
  CREATE INDEX leases_by_pool ON leases (pool, address);
  CREATE INDEX leases_by_network ON leases (network);
  CREATE INDEX leases_by_netns ON leases (netns);
  CREATE INDEX leases_cooling_by_owner ON leases (pool, owner_key) WHERE state = 'cooling';
  CREATE INDEX leases_cooling_by_expiry ON leases (reusable_at_ms) WHERE state = 'cooling';
  CREATE TABLE prefix_leases (
    id             INTEGER PRIMARY KEY,
    address_space  TEXT    NOT NULL,  -- the pool's network instance
    pool           TEXT    NOT NULL,
    family         INTEGER NOT NULL CHECK (family IN (4, 6)),
    first_address  BLOB    NOT NULL,  -- 16-byte big-endian
    prefix_length  INTEGER NOT NULL,
    prefix_text    TEXT    NOT NULL,
    owner          TEXT    NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    state          TEXT    NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'cooling')),
    reusable_at_ms INTEGER NOT NULL DEFAULT 0,
    UNIQUE (address_space, first_address),
    UNIQUE (pool, owner)
  );
  `,
  // 3: prefix leases as served by AllocatePrefix. An owner holds one active prefix per pool, and
  // may get a new one while an older one still cools down; last_address makes the overlap check
  // one indexed lookup. No berthd wrote the version 2 table (prefix allocation arrives here),
  // so it is replaced rather than copied.
  `
  DROP TABLE prefix_leases;
  CREATE TABLE prefix_leases (
    id             INTEGER PRIMARY KEY,
    address_space  TEXT    NOT NULL,  -- the pool's network instance
    pool           TEXT    NOT NULL,
    family         INTEGER NOT NULL CHECK (family IN (4, 6)),
    first_address  BLOB    NOT NULL,  -- 16-byte big-endian
    last_address   BLOB    NOT NULL,  -- 16-byte big-endian
    prefix_length  INTEGER NOT NULL,
    prefix_text    TEXT    NOT NULL,  -- for people reading the database
    owner          TEXT    NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    state          TEXT    NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'cooling')),
    reusable_at_ms INTEGER NOT NULL DEFAULT 0,
    UNIQUE (address_space, first_address)
  );
  CREATE UNIQUE INDEX prefix_leases_by_owner ON prefix_leases (pool, owner) WHERE state = 'active';
  CREATE INDEX prefix_leases_cooling_by_owner ON prefix_leases (pool, owner) WHERE state = 'cooling';
  CREATE INDEX prefix_leases_cooling_by_expiry ON prefix_leases (reusable_at_ms) WHERE state = 'cooling';
  `,
  // 4: blocks of cluster pools this node owns, written before any address of a block is handed
  // out, so a restart serves them without the cluster store. A block an operator reclaimed while
  // this node still held leases in it is kept as 'lost': never allocated from, its leases reported.
  `
  CREATE TABLE cluster_blocks (
    address_space  TEXT    NOT NULL,  -- the pool's network instance
    first_address  BLOB    NOT NULL,  -- 16-byte big-endian
    pool           TEXT    NOT NULL,
    family         INTEGER NOT NULL CHECK (family IN (4, 6)),
    prefix_length  INTEGER NOT NULL,
    cidr_text      TEXT    NOT NULL,  -- for people reading the database
    token          TEXT    NOT NULL,  -- the claim token written in the cluster store
    revision       TEXT    NOT NULL,  -- the store's revision of the ownership key; a release compares on it
    claimed_at_ms  INTEGER NOT NULL,
    state          TEXT    NOT NULL DEFAULT 'owned' CHECK (state IN ('owned', 'lost')),
    lost_at_ms     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (address_space, first_address)
  );
  CREATE INDEX cluster_blocks_by_pool ON cluster_blocks (pool, first_address);
  `,
];

export const schemaVersion = migrations.length;

/** Brings an open database to the current schema, one transaction per step; refuses a newer one. */
export function migrate(db: Database.Database, path: string): void {
  const current = Number(db.pragma('user_version', { simple: true }));
  if (current > schemaVersion) {
    throw new StoreOpenError(path, `its schema version ${current} is newer than this berthd understands (${schemaVersion}); run the newer berthd or restore a backup made for this version`);
  }
  for (let version = current; version < schemaVersion; version++) {
    db.transaction(() => {
      db.exec(migrations[version]!);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}
