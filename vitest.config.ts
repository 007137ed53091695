import { configDefaults, defineConfig } from 'vitest/config';

// Robust on a loaded 2-core machine. vitest's workers report to the main process over an RPC whose calls time out
// after 60 s of the worker's own clock ("Timeout calling onTaskUpdate"); a worker whose event loop is blocked for
// longer — a spawnSync of the CLI, seconds of synchronous work that load stretches — fails the run even when every
// test passed. So tests run child processes asynchronously (test/cli-conventions.test.ts checks it), heavy checks
// use plain loops, and the generator gives the event loop a turn at least every 0.1 s of post-processing.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real-browser tests run on their own: npm run test:browser (vitest.browser.config.ts).
    exclude: [...configDefaults.exclude, 'test/browser/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
