// The plugin as a script (dist/berth-shim.cjs, `node dist/berth-shim.cjs`); the executable
// dist/berth runs the same code through seaMain.ts.
import { runShim } from './shim.ts';

void runShim();
