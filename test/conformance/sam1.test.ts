/**
 * SAM 1 conformance: the reference generator's own outputs, matched mask for mask. Every run checks the same
 * limits (harness.ts LIMITS); no group has an exception.
 */
import { describe, expect, it } from 'vitest';
import { compareGroup, generateShared, listGroups, modelDir, runName, type GroupRecords, type GroupRun, type SharedRecords } from './harness.js';

// Each group once, at its own points_per_batch: that batching changes no record is checked byte for byte by
// batch-independence.test.ts (`npm run conformance` still reruns default at points_per_batch 1).
const runs: GroupRun[] = listGroups('sam1').map((group) => ({ group }));

// The groups run photo by photo side by side, sharing the decoder's outputs where they ask the same of it
// (harness.ts generateShared); started by the first test that needs records.
let shared: SharedRecords | undefined;
const generated = (): SharedRecords => (shared ??= generateShared(runs));

describe('SAM 1 conformance with the reference generator', () => {
  it('finds the five settings groups', () => {
    expect(runs.map(runName)).toEqual(['default', 'permissive', 'pps7-batch5', 'min-area-100', 'crop-layers-1']);
  });
  for (const run of runs) {
    // Generous timeout: the permissive group takes minutes on a loaded 2-core machine.
    it(`${runName(run)} (${run.group.images.join(', ')})`, async () => {
      const rep = compareGroup(run.group, await (generated().records.get(run) as Promise<GroupRecords>));
      expect(rep.failures).toEqual([]);
      expect(rep.recall).toBeGreaterThanOrEqual(0.995);
      expect(rep.orderPairs).toBeGreaterThan(0);
    }, 1_800_000);
  }
  it('shares the whole-image batches of the 32×32 grid between the groups of each photo', async () => {
    const counts = (await generated().counts).get(modelDir('sam1'));
    // default, permissive, min-area-100 and crop-layers-1's layer 0 ask the same 16 batches of 64 prompts of a
    // photo they have in common (pps7-batch5 has its own grid): truck 3 groups, dog 4, groceries 3, cars 2, so
    // 16 × (2 + 3 + 2 + 1) batches come from the cache. Every call was foreseen and the cache never overflowed.
    expect(counts).toMatchObject({ fromCache: 128, unplanned: 0, maskPrompt: 0, overCapacity: 0 });
  }, 1_800_000);
});
