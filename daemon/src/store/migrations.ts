// Schema history. Each entry moves the database from version i to i + 1 (PRAGMA user_version);
// entries are append-only: never edit one that has shipped.
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
];

export const schemaVersion = migrations.length;
