/**
 * SAM 2 conformance: the reference SAM 2 generator's own outputs, matched mask for mask. Every run checks the same
 * limits (harness.ts LIMITS); no group has an exception.
 */
import { describe, expect, it } from 'vitest';
import { groupRuns, listGroups, runGroup, runName } from './harness.js';

const runs = groupRuns(listGroups('sam2'));

describe('SAM 2 conformance with the reference generator', () => {
  it('finds the five settings groups; default and m2m also run with points_per_batch 1', () => {
    expect(runs.map(runName)).toEqual([
      'default',
      'default batch 1',
      'min-area-100',
      'crop-layers-1',
      'mask-threshold-min-area',
      'm2m',
      'm2m batch 1',
    ]);
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
