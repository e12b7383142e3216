// The shim as a library, for the executable (seaMain.ts runs it) and for the build's code-cache
// training (scripts/shimCodeCache.mjs runs warmUp). The build wraps it in a function of
// (require, module, exports), so that both can run it from the same source text.
export { runShim } from './shim.ts';
export { warmUp } from './warmUp.ts';
