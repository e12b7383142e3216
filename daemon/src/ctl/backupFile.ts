// The backup file of `berthctl export` / `berthctl import`, written and read a line at a time so
// that a million leases never sit in memory at once. The file is one JSON document (jq reads
// it), laid out with one lease per line:
//
//   {"format":"berth-leases/v1","exportedAtUnixMs":1764590000000,"leases":[
//   {"pool":"pod-v4","address":"10.244.0.12",...},
//   {"pool":"pod-v4","address":"10.244.0.13",...}
//   ],"prefixes":[
//   {"pool":"node-blocks","prefix":"10.96.1.0/24",...}
//   ]}
//
// A file cut short is not valid JSON and is refused whole. Exports of earlier berthctl versions
// (the same document, pretty-printed) are read with JSON.parse.
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

export const EXPORT_FORMAT = 'berth-leases/v1';
const LEASES_START = '"leases":[';
const PREFIXES_START = '],"prefixes":[';
const END = ']}';

/** The file is not a berthctl export, or is damaged (cut short, edited). */
export class BackupFileError extends Error {}

/** Where the export goes: a sink that waits when its reader is slow. */
export interface TextSink {
  write(text: string): Promise<void>;
}

/** Writes an export: header, then lease pages as they come, then prefixes. */
export async function writeExport(
  sink: TextSink, leasePages: AsyncIterable<readonly object[]>, listPrefixes: () => Promise<readonly object[]>,
): Promise<{ leases: number; prefixes: number }> {
  await sink.write(`${JSON.stringify({ format: EXPORT_FORMAT, exportedAtUnixMs: Date.now() }).slice(0, -1)},${LEASES_START}\n`);
  let leases = 0;
  for await (const page of leasePages) {
    if (page.length === 0) continue;
    await sink.write(`${leases > 0 ? ',\n' : ''}${page.map((lease) => JSON.stringify(lease)).join(',\n')}`);
    leases += page.length;
  }
  await sink.write(`${leases > 0 ? '\n' : ''}${PREFIXES_START}\n`);
  const prefixes = await listPrefixes();
  if (prefixes.length > 0) await sink.write(`${prefixes.map((prefix) => JSON.stringify(prefix)).join(',\n')}\n`);
  await sink.write(`${END}\n`);
  return { leases, prefixes: prefixes.length };
}

/**
 * Runs `write` against a temporary file beside `path` (random name, created exclusively, so no
 * symlink or earlier file is followed), fsyncs it and renames it over `path`, then fsyncs the
 * directory: `path` is either the old file or the whole new one, even after a power cut.
 */
export async function writeFileAtomically<T>(path: string, write: (sink: TextSink) => Promise<T>): Promise<T> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${randomBytes(8).toString('hex')}`);
  const file = await open(tmp, 'wx', 0o600);
  let result: T;
  try {
    result = await write({ write: async (text) => { await file.write(text); } });
    await file.sync();
  } catch (error) {
    await file.close();
    await rm(tmp, { force: true });
    throw error;
  }
  await file.close();
  await rename(tmp, path);
  const directory = await open(dirname(path), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
  return result;
}

/** What a chunk of an import carries: at most this many entries, and about this many bytes of JSON. */
const CHUNK_ENTRIES = 2000;
const CHUNK_JSON_BYTES = 512 * 1024;

export interface BackupChunk {
  leases: unknown[];
  prefixes: unknown[];
}

/**
 * Reads an export in chunks small enough for one gRPC message each (protobuf is smaller than the
 * JSON measured here, and the daemon takes up to 1 MiB per message).
 */
export async function* readExportChunks(path: string): AsyncGenerator<BackupChunk> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity })[Symbol.asyncIterator]();
  let first: IteratorResult<string>;
  try {
    first = await lines.next();
  } catch (error) {
    throw new BackupFileError(`cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (first.done || !first.value.startsWith('{') || !first.value.endsWith(LEASES_START)) {
    await lines.return?.();
    yield* wholeDocumentChunks(path);
    return;
  }
  checkHeader(parseOrRefuse(`${first.value}${END}`, path, 1), path);
  let section: 'leases' | 'prefixes' | 'end' = 'leases';
  let chunk: BackupChunk = { leases: [], prefixes: [] };
  let bytes = 0;
  let lineNumber = 1;
  for await (const line of { [Symbol.asyncIterator]: () => lines }) {
    lineNumber++;
    if (section === 'end') {
      if (line.trim() !== '') throw new BackupFileError(`${path} line ${lineNumber}: text after the end of the export`);
      continue;
    }
    if (line === PREFIXES_START && section === 'leases') { section = 'prefixes'; continue; }
    if (line === END && section === 'prefixes') { section = 'end'; continue; }
    const entry = parseOrRefuse(line.endsWith(',') ? line.slice(0, -1) : line, path, lineNumber);
    chunk[section].push(entry);
    bytes += line.length;
    if (chunk.leases.length + chunk.prefixes.length >= CHUNK_ENTRIES || bytes >= CHUNK_JSON_BYTES) {
      yield chunk;
      chunk = { leases: [], prefixes: [] };
      bytes = 0;
    }
  }
  if (section !== 'end') throw new BackupFileError(`${path} ends early (after line ${lineNumber}): the export is incomplete; nothing was imported`);
  if (chunk.leases.length + chunk.prefixes.length > 0) yield chunk;
}

/** An export laid out some other way (pretty-printed by an earlier berthctl, or by jq). */
async function* wholeDocumentChunks(path: string): AsyncGenerator<BackupChunk> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new BackupFileError(`cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = checkHeader(parseOrRefuse(text, path), path);
  const leases = parsed.leases as unknown[];
  const prefixes = (parsed.prefixes ?? []) as unknown[];
  for (let i = 0; i < leases.length; i += CHUNK_ENTRIES) yield { leases: leases.slice(i, i + CHUNK_ENTRIES), prefixes: [] };
  for (let i = 0; i < prefixes.length; i += CHUNK_ENTRIES) yield { leases: [], prefixes: prefixes.slice(i, i + CHUNK_ENTRIES) };
}

function parseOrRefuse(text: string, path: string, line?: number): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new BackupFileError(`${path}${line === undefined ? '' : ` line ${line}`}: not JSON (${error instanceof Error ? error.message : String(error)}); nothing was imported`);
  }
}

function checkHeader(value: unknown, path: string): { leases: unknown; prefixes?: unknown } {
  const parsed = value as { format?: unknown; leases?: unknown; prefixes?: unknown } | null;
  // Exports written before prefix pools existed have no "prefixes".
  if (parsed === null || typeof parsed !== 'object' || parsed.format !== EXPORT_FORMAT || !Array.isArray(parsed.leases)
    || (parsed.prefixes !== undefined && !Array.isArray(parsed.prefixes))) {
    throw new BackupFileError(`${path} is not a berthctl export (format "${EXPORT_FORMAT}")`);
  }
  return parsed as { leases: unknown; prefixes?: unknown };
}
