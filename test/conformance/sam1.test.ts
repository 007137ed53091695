/**
 * SAM 1 conformance: the reference generator's own outputs, matched mask for mask. Every run checks the same
 * limits (harness.ts LIMITS); no group has an exception.
 */
import { describe, expect, it } from 'vitest';
import { listGroups, runGroup, runName, type GroupRun } from './harness.js';

// Each group once, at its own points_per_batch: that batching changes no record is checked byte for byte by
// batch-independence.test.ts (`npm run conformance` still reruns default at points_per_batch 1).
const runs: GroupRun[] = listGroups('sam1').map((group) => ({ group }));

describe('SAM 1 conformance with the reference generator', () => {
  it('finds the five settings groups', () => {
    expect(runs.map(runName)).toEqual(['default', 'permissive', 'pps7-batch5', 'min-area-100', 'crop-layers-1']);
  });
  for (const run of runs) {
    // Generous timeout: the permissive group takes minutes on a loaded 2-core machine.
    it(`${runName(run)} (${run.group.images.join(', ')})`, async () => {
      const rep = await runGroup(run);
      expect(rep.failures).toEqual([]);
      expect(rep.recall).toBeGreaterThanOrEqual(0.995);
      expect(rep.orderPairs).toBeGreaterThan(0);
    }, 1_800_000);
  }
});
