// The entry of dist/berth, a Node single executable built with a V8 startup snapshot. The build
// runs this file once: it loads the shim (and with it node:net and the streams), runs warmUp
// (ADD, DEL, a failure and VERSION over a local socket answering with recorded berthd responses,
// so that their functions, node's socket code included, are compiled and the HPACK tables built),
// and the heap as it is then becomes the snapshot. Each invocation starts from that heap and only
// runs runShim. Without it, an invocation compiled every function it called and loaded ~30 node
// modules, ~3-4 ms of a ~20 ms process. Nothing may carry over from the build: warmUp reads no
// environment or stdin and closes its sockets (node refuses to snapshot open handles), and V8
// reseeds Math.random (the retry jitter) when a snapshot is deserialized.
import { startupSnapshot } from 'node:v8';
import { runShim } from './shim.ts';
import { warmUp } from './warmUp.ts';

if (startupSnapshot.isBuildingSnapshot()) {
  // A failed warm-up rejects, and an unhandled rejection fails the build.
  void warmUp();
  startupSnapshot.setDeserializeMainFunction(() => void runShim());
} else {
  void runShim();
}
