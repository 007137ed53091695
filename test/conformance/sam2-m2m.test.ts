/**
 * SAM 2 conformance of the use_m2m groups (the SAM 2 toy in samexporter's layout, whose decoder takes a mask
 * prompt): the reference generator's own outputs, matched mask for mask with the same limits as every other group
 * (harness.ts LIMITS). They share no decoder call with the other SAM 2 groups (another model), so they run apart
 * from sam2.test.ts, on the other fork.
 */
import { describe, expect, it } from 'vitest';
import { listGroups, modelDir, runGroup, runName, type GroupRun } from './harness.js';

// Once, at the group's own points_per_batch: batching changes no record, the refinement chunks included
// (batch-independence.test.ts).
const runs: GroupRun[] = listGroups('sam2')
  .filter((group) => group.model === modelDir('sam2', { useM2m: true }))
  .map((group) => ({ group }));

describe('SAM 2 use_m2m conformance with the reference generator', () => {
  it('finds the m2m group', () => {
    expect(runs.map(runName)).toEqual(['m2m']);
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
