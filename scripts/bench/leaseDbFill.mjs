// Pre-fills lease databases directly with SQLite, before the daemon that will own them starts
// (berthd holds its database with an exclusive lock). The schema is the daemon's own: a template
// database is created by starting berthd once on an empty file, then copied.
import Database from 'better-sqlite3';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBerthd } from './berthdProcess.mjs';

/** Creates an empty, migrated lease database at `path` by letting berthd create it. */
export async function createTemplateDb(dir, configPath) {
  const dbPath = join(dir, 'template.db');
  const daemon = await startBerthd({ dir, socketPath: join(dir, 'template.sock'), dbPath, configPath });
  await daemon.stop();
  // Fold any WAL into the main file, so that copying the one file copies the schema even when
  // the daemon did not get to checkpoint on its way out (a slow stop ends in SIGKILL).
  const db = new Database(dbPath);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.pragma('journal_mode = DELETE');
  db.close();
  return dbPath;
}

/**
 * Copies the template to `dbPath` and inserts `count` leases in `pool`, one every `step`
 * addresses from `first` (step 2 leaves a free address between any two leases: one held run per
 * lease, the worst case for the daemon's in-memory index of held addresses).
 */
export function fillLeaseDb(templatePath, dbPath, { pool, family, first, count, step = 2n, network = 'benchnet' }) {
  copyFileSync(templatePath, dbPath);
  const db = new Database(dbPath);
  // Setup only: the fill need not survive a power cut, the daemon's own writes are what we measure.
  db.pragma('journal_mode = DELETE');
  db.pragma('synchronous = OFF');
  const insert = db.prepare(`INSERT INTO leases (address_space, address, address_text, family, pool, container_id, ifname,
      network, pod_namespace, pod_name, pod_uid, netns, boot_id, created_at_ms)
    VALUES ('default', ?, ?, ?, ?, ?, 'eth0', ?, 'bench', ?, ?, '', ?, ?)`);
  const bootId = currentBootId();
  const now = Date.now();
  const format = family === 4 ? formatIpv4 : formatIpv6;
  db.transaction(() => {
    let address = first;
    for (let i = 0; i < count; i++, address += step) {
      insert.run(addressKey(address), format(address), family, pool, `prefill-${pool}-${i}`, network, `pod-${i}`,
        `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`, bootId, now);
    }
  })();
  db.pragma('journal_mode = WAL');
  db.close();
}

/** The daemon's key: 16-byte big-endian, IPv4 in the low 4 bytes. */
function addressKey(value) {
  const key = Buffer.alloc(16);
  key.writeBigUInt64BE(value >> 64n, 0);
  key.writeBigUInt64BE(value & 0xffff_ffff_ffff_ffffn, 8);
  return key;
}

export function parseIpv4(text) {
  return text.split('.').reduce((sum, octet) => (sum << 8n) | BigInt(Number(octet)), 0n);
}

function formatIpv4(value) {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
}

/** RFC 5952 text (longest zero run compressed, lowercase). */
function formatIpv6(value) {
  const groups = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  let best = { at: -1, length: 1 };
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { at: i, length: j - i };
    i = j;
  }
  const hex = groups.map((group) => group.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.length).join(':')}`;
}

export function parseIpv6Prefix(text) {
  // Only what the bench pools use: "fd00:b::" (a prefix, then zeros).
  const [head] = text.split('::');
  const groups = head.split(':').map((group) => BigInt(parseInt(group, 16)));
  return groups.reduce((sum, group, i) => sum | (group << BigInt(112 - 16 * i)), 0n);
}

function currentBootId() {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}
