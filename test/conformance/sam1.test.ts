/**
 * SAM 1 conformance: the reference generator's own outputs, matched mask for mask.
 */
import { describe, expect, it } from 'vitest';
import { listGroups, modelDir, runGroup } from './harness.js';

const groups = listGroups('sam1');

describe('SAM 1 conformance with the reference generator', () => {
  it('finds the five settings groups', () => {
    expect(groups.map((g) => g.name)).toEqual(['default', 'permissive', 'pps7-batch5', 'min-area-100', 'crop-layers-1']);
  });
  for (const group of groups) {
    it(`${group.name} (${group.images.join(', ')})`, async () => {
      const rep = await runGroup(group, modelDir('sam1'));
      expect(rep.failures).toEqual([]);
      expect(rep.recall).toBeGreaterThanOrEqual(0.995);
    }, 900_000);
  }
  it('default group with points_per_batch 1 gives the same records', async () => {
    const group = groups.find((g) => g.name === 'default');
    expect(group).toBeDefined();
    const rep = await runGroup(group!, modelDir('sam1'), { pointsPerBatch: 1 });
    expect(rep.failures).toEqual([]);
  }, 900_000);
});
