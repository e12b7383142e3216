#!/usr/bin/env node
// `npm run generate`: everything generated from proto/berth/ipam/v1/ipam.proto for the CNI plugin.
//   cni-shim/src/gen/   message types (protoc-gen-es, run by buf; both from npm, no download)
//   cni-shim/src/ipamSchema.ts   the field table of protobufCodec.ts (scripts/generateIpamSchema.mjs)
// The build does not run this: the generated files are committed, and `--check` (which the test
// suite runs) generates both afresh into a temp dir and exits 1, naming them, when the committed
// ones differ.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ipamSchemaSource, PROTO_FILE, SCHEMA_FILE, writeIpamSchema } from './generateIpamSchema.mjs';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
export const GENERATED_DIR = 'cni-shim/src/gen';

/** Runs buf generate in `root` (buf.yaml, buf.gen.yaml, proto/ and node_modules/ there), its outputs under `outDir`. */
function bufGenerate(root, outDir = root) {
  execFileSync(join(root, 'node_modules/.bin/buf'), ['generate', '--template', 'buf.gen.yaml', '-o', outDir], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}

function filesUnder(dir) {
  let entries;
  try { entries = readdirSync(dir); } catch { return []; }
  return entries.flatMap((name) => (statSync(join(dir, name)).isDirectory() ? filesUnder(join(dir, name)) : [join(dir, name)]));
}

/** The generated files of the tree at `root` that differ from a fresh generation, by path (empty: up to date). */
export function staleGeneratedFiles(root = repoRoot) {
  const fresh = mkdtempSync(join(tmpdir(), 'berth-generate-'));
  try {
    bufGenerate(root, fresh);
    const paths = new Set([...filesUnder(join(root, GENERATED_DIR)).map((p) => relative(root, p)), ...filesUnder(join(fresh, GENERATED_DIR)).map((p) => relative(fresh, p))]);
    const stale = [...paths].filter((path) => readOrNull(join(root, path)) !== readOrNull(join(fresh, path)));
    if (readOrNull(join(root, SCHEMA_FILE)) !== ipamSchemaSource(join(root, PROTO_FILE))) stale.push(SCHEMA_FILE);
    return stale.sort();
  } finally {
    rmSync(fresh, { recursive: true, force: true });
  }
}

function readOrNull(path) {
  try { return readFileSync(path, 'utf8'); } catch { return null; }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--check')) {
    // --root: check another tree laid out like this one (the test suite's proof that --check can fail).
    const rootArg = process.argv.indexOf('--root');
    const stale = staleGeneratedFiles(rootArg === -1 ? repoRoot : process.argv[rootArg + 1]);
    process.stdout.write(stale.length === 0 ? 'generated files are up to date with the proto\n' : `out of date with the proto (run npm run generate): ${stale.join(', ')}\n`);
    process.exitCode = stale.length === 0 ? 0 : 1;
  } else {
    rmSync(join(repoRoot, GENERATED_DIR), { recursive: true, force: true });
    bufGenerate(repoRoot);
    writeIpamSchema();
    process.stdout.write(`generated ${GENERATED_DIR} and ${SCHEMA_FILE} from the proto\n`);
  }
}
