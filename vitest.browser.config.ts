/**
 * Tests in a real browser (headless Chromium through playwright-core, test/browser/chromium.ts). Run them with
 * `npm run test:browser`, which makes sure Chromium is installed first; `npm test` does not include them.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    globalSetup: ['test/browser/global-setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // One browser at a time: the test machines have two cores.
    poolOptions: { forks: { maxForks: 1, minForks: 1 } },
    fileParallelism: false,
  },
});
