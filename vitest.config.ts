import { configDefaults, defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The files that take longest (over 10 s of CPU each on the 2-core machine), longest first: the pool starts them
 * before everything else, so that the two forks end together instead of one running a long file alone at the end.
 * Without a results cache (a fresh clone) vitest would start the largest files first, and the conformance files
 * are small ones. Only an ordering hint: a file missing here or no longer long costs a few seconds at most.
 */
const LONG_FIRST = [
  'test/conformance/sam2.test.ts',
  'test/conformance/sam1.test.ts',
  'test/conformance/tiles-sam2.test.ts',
  'test/conformance/sam2-m2m.test.ts',
  'test/conformance/tiles.test.ts',
  'test/e2e-scenes.test.ts',
  'test/postprocess-exact.test.ts',
  'test/postprocess-evaluators.test.ts',
  'test/cli.test.ts',
  'test/sam2-e2e.test.ts',
  'test/segment-cli.test.ts',
  'test/conformance/batch-independence.test.ts',
  'test/geojson-geo.test.ts',
  'test/conformance/shared-decodes.test.ts',
  'test/batch-resume.test.ts',
];

class LongFilesFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification): number => {
      const i = LONG_FIRST.findIndex((name) => f.moduleId.endsWith(name));
      return i < 0 ? LONG_FIRST.length : i;
    };
    // Array.prototype.sort is stable: the rest keeps vitest's own order.
    return sorted.sort((a, b) => rank(a) - rank(b));
  }
}

// Robust on a loaded 2-core machine. vitest's workers report to the main process over an RPC whose calls time out
// after 60 s of the worker's own clock ("Timeout calling onTaskUpdate"); a worker whose event loop is blocked for
// longer — a spawnSync of the CLI, seconds of synchronous work that load stretches — fails the run even when every
// test passed. So tests run child processes asynchronously (test/cli-conventions.test.ts checks it), heavy checks
// use plain loops, and the generator gives the event loop a turn at least every 0.1 s of post-processing.
//
// Two projects share one pool of two forks (one per core): `conformance` (test/conformance: the records of the
// reference generators, minutes of model runs) and `unit` (everything else). `npx vitest run --project unit` skips
// the long one. Each fork runs ONNX Runtime with one intra-op thread (test/helpers/worker-threads.ts).
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // isolate: false: a fork runs file after file in one process instead of a fresh process per file, which costs
    // about 0.4 s of CPU (node, the transform, the imports): over some 75 files a twentieth of the suite's work.
    // The files leave no state behind: spies are restored in the test that makes them or in an afterEach,
    // temporary folders are their own, in-process CLI runs (model-cli) restore what they patch. Without isolation
    // vitest runs the projects one after the other (conformance first, its files being first in the order below),
    // each with both forks.
    poolOptions: { forks: { maxForks: 2, minForks: 1, isolate: false } },
    setupFiles: ['test/helpers/worker-threads.ts'],
    sequence: { sequencer: LongFilesFirst },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          // Real-browser tests run on their own: npm run test:browser (vitest.browser.config.ts).
          exclude: [...configDefaults.exclude, 'test/browser/**', 'test/conformance/**'],
          // bin/sam-amg.js runs from dist/: compiled here when src/ is newer (a single file run after an edit).
          globalSetup: ['test/helpers/global-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'conformance',
          include: ['test/conformance/**/*.test.ts'],
        },
      },
    ],
  },
});
