import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['daemon/src/**/*.test.ts', 'cni-shim/src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/support/buildOnce.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Cross-process tests start daemons and netns of their own; two workers match the 2-core machine.
    maxWorkers: 2,
  },
});
