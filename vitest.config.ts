import { defineConfig } from 'vitest/config';

const ALL = ['daemon/src/**/*.test.ts', 'cni-shim/src/**/*.test.ts', 'test/**/*.test.ts'];
/**
 * Process storms, floods, the crash storm, the bench smoke run, etcd clusters and containerd:
 * files named *.serial.test.ts run one at a time, after every parallel file has finished, so
 * nothing else competes with them for the 2 cores and they compete with nothing.
 */
const SERIAL = '**/*.serial.test.ts';

export default defineConfig({
  test: {
    // Builds dist/ (daemon bundles and the plugin executable) once, before any file runs.
    globalSetup: ['test/support/buildOnce.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        // Cross-process tests start daemons and netns of their own; two workers match the 2-core machine.
        test: { name: 'parallel', include: ALL, exclude: [SERIAL, '**/node_modules/**'], maxWorkers: 2, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'serial', include: [SERIAL], exclude: ['**/node_modules/**'], fileParallelism: false, maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
