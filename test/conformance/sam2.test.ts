/**
 * SAM 2 conformance: the reference SAM 2 generator's own outputs, matched mask for mask. Every run checks the same
 * limits (harness.ts LIMITS); no group has an exception.
 */
import { describe, expect, it } from 'vitest';
import { compareGroup, generateShared, listGroups, modelDir, runName, type GroupRecords, type GroupRun, type SharedRecords } from './harness.js';

// Each group once, at its own points_per_batch: that batching changes no record, m2m's refinement chunks included,
// is checked byte for byte by batch-independence.test.ts (`npm run conformance` still reruns default and m2m at
// points_per_batch 1).
// use_m2m's groups run another model (nothing to share with these) in sam2-m2m.test.ts, which the other fork runs.
const all: GroupRun[] = listGroups('sam2').map((group) => ({ group }));
const runs = all.filter((r) => r.group.model !== modelDir('sam2', { useM2m: true }));

// The groups run photo by photo side by side, sharing the decoder's outputs where they ask the same of it
// (harness.ts generateShared); started by the first test that needs records.
let shared: SharedRecords | undefined;
const generated = (): SharedRecords => (shared ??= generateShared(runs));

describe('SAM 2 conformance with the reference generator', () => {
  it('finds the five settings groups', () => {
    expect(all.map(runName)).toEqual(['default', 'min-area-100', 'crop-layers-1', 'mask-threshold-min-area', 'm2m']);
    expect(all.find((r) => r.group.name === 'm2m')?.group.model).toMatch(/sam2-toy-m2m$/);
    expect(runs.map(runName)).toEqual(['default', 'min-area-100', 'crop-layers-1', 'mask-threshold-min-area']);
  });
  for (const run of runs) {
    it(`${runName(run)} (${run.group.images.join(', ')})`, async () => {
      const rep = compareGroup(run.group, await (generated().records.get(run) as Promise<GroupRecords>));
      expect(rep.failures).toEqual([]);
      expect(rep.recall).toBeGreaterThanOrEqual(0.995);
      expect(rep.orderPairs).toBeGreaterThan(0);
    }, 1_800_000);
  }
  it('shares the whole-image batches of the 32×32 grid between the groups of each photo', async () => {
    const counts = await generated().counts;
    // default, min-area-100, crop-layers-1's layer 0 and mask-threshold-min-area ask the same 16 batches of 64
    // prompts of a photo they have in common: dog 4 groups, groceries 3 (truck and cars only default), so
    // 16 × (3 + 2) batches come from the cache. Every call was foreseen and the cache never overflowed.
    expect([...counts.keys()]).toEqual([modelDir('sam2')]);
    expect(counts.get(modelDir('sam2'))).toMatchObject({ fromCache: 80, unplanned: 0, maskPrompt: 0, overCapacity: 0 });
  }, 1_800_000);
});
