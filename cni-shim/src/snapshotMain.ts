// The entry of dist/berth, a Node single executable built with a V8 startup snapshot. The build
// runs this file once: it loads the shim (and with it node:net and the streams), runs warmUp
// (ADD, DEL, a failure and VERSION over a local socket answering with recorded berthd responses,
// so that their functions, node's socket code included, are compiled and the HPACK tables built),
// and the heap as it is then becomes the snapshot. Each invocation starts from that heap and only
// runs runShim. Without it, an invocation compiled every function it called and loaded ~30 node
// modules, ~3-4 ms of a ~20 ms process. Nothing may carry over from the build: warmUp reads no
// environment but TMPDIR (for its scratch directory) and no stdin, and closes its sockets (node
// refuses to snapshot open handles), and V8 reseeds Math.random (the retry jitter) when a
// snapshot is deserialized.
import { setFlagsFromString, startupSnapshot } from 'node:v8';
import { runShim } from './shim.ts';
import { warmUp } from './warmUp.ts';

if (startupSnapshot.isBuildingSnapshot()) {
  // A failed warm-up rejects, and an unhandled rejection fails the build.
  void warmUp();
  startupSnapshot.setDeserializeMainFunction(() => {
    // V8 resets every snapshotted function to compile on its first call, and on x64 it batches
    // those first calls into Sparkplug (baseline) compiles: ~1 ms of an invocation that runs each
    // function a few times, which the interpreter runs sooner. Set here, not at build time: the
    // snapshot carries a hash of the V8 flags and is refused by a process whose flags differ.
    setFlagsFromString('--no-sparkplug');
    void runShim();
  });
} else {
  void runShim();
}
