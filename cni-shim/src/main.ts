// The plugin as a script (dist/berth-shim.cjs, `node dist/berth-shim.cjs`); the executable
// dist/berth runs the same runShim from a startup snapshot (snapshotMain.ts).
import { runShim } from './shim.ts';

void runShim();
