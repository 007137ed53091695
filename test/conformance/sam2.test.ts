/**
 * SAM 2 conformance: the reference SAM 2 generator's own outputs, matched mask for mask. Every run checks the same
 * limits (harness.ts LIMITS); no group has an exception.
 */
import { describe, expect, it } from 'vitest';
import { listGroups, runGroup, runName, type GroupRun } from './harness.js';

// Each group once, at its own points_per_batch: that batching changes no record, m2m's refinement chunks included,
// is checked byte for byte by batch-independence.test.ts (`npm run conformance` still reruns default and m2m at
// points_per_batch 1).
const runs: GroupRun[] = listGroups('sam2').map((group) => ({ group }));

describe('SAM 2 conformance with the reference generator', () => {
  it('finds the five settings groups', () => {
    expect(runs.map(runName)).toEqual(['default', 'min-area-100', 'crop-layers-1', 'mask-threshold-min-area', 'm2m']);
    expect(runs.find((r) => r.group.name === 'm2m')?.group.model).toMatch(/sam2-toy-m2m$/);
  });
  for (const run of runs) {
    it(`${runName(run)} (${run.group.images.join(', ')})`, async () => {
      const rep = await runGroup(run);
      expect(rep.failures).toEqual([]);
      expect(rep.recall).toBeGreaterThanOrEqual(0.995);
      expect(rep.orderPairs).toBeGreaterThan(0);
    }, 1_800_000);
  }
});
