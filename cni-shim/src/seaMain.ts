// The entry of dist/berth (a Node single executable): runs the shim library with the code cache
// the build trained on it (scripts/shimCodeCache.mjs). SEA's own code cache holds only top-level
// code, so every shim function would otherwise be compiled at run time, on every invocation.
import { getAsset } from 'node:sea';
import { Script } from 'node:vm';
import type * as ShimLibrary from './shimLibrary.ts';

type LibraryFunction = (require: NodeJS.Require, module: { exports: Partial<typeof ShimLibrary> }, exports: object) => void;

const library: { exports: Partial<typeof ShimLibrary> } = { exports: {} };
// A rejected cache (another V8 or other V8 flags) only costs the compile time back.
const script = new Script(getAsset('berth-shim-lib.cjs', 'utf8'), {
  filename: 'berth-shim-lib.cjs',
  cachedData: Buffer.from(getAsset('berth-shim-lib.cache')),
});
(script.runInThisContext() as LibraryFunction)(require, library, library.exports);
void library.exports.runShim?.();
