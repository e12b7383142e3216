// The plugin's entry: scripts/build.mjs compiles it with Bun into the executable dist/berth.
import { runShim } from './shim.ts';

void runShim();
