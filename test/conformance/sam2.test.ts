/**
 * SAM 2 conformance: the reference SAM 2 generator's own outputs, matched mask for mask.
 */
import { describe, expect, it } from 'vitest';
import { listGroups, modelDir, runGroup } from './harness.js';

const groups = listGroups('sam2');

describe('SAM 2 conformance with the reference generator', () => {
  it('finds the three settings groups', () => {
    expect(groups.map((g) => g.name)).toEqual(['default', 'min-area-100', 'crop-layers-1']);
  });
  for (const group of groups) {
    it(`${group.name} (${group.images.join(', ')})`, async () => {
      const rep = await runGroup(group, modelDir('sam2'));
      expect(rep.failures).toEqual([]);
    }, 900_000);
  }
});
