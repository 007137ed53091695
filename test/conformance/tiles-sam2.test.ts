/**
 * Tiled-mode conformance of SAM 2 (amg-reference.md, "Tiles"); SAM 1's tile groups, and the check that both
 * families' groups are there, are in tiles.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { groupRuns, listTileGroups, runGroup, runName } from './harness.js';

const runs = groupRuns(listTileGroups('sam2'));

describe('tiled conformance with the reference generators (SAM 2)', () => {
  it('has tile groups to run', () => {
    expect(runs.length).toBeGreaterThan(0);
  });
  for (const run of runs) {
    it(`${run.group.family}/${runName(run)} (${run.group.images.join(', ')})`, async () => {
      const rep = await runGroup(run);
      expect(rep.failures).toEqual([]);
      expect(rep.recall).toBeGreaterThanOrEqual(0.995);
      expect(rep.orderPairs).toBeGreaterThan(0);
    }, 1_800_000);
  }
});
