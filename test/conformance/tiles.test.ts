/**
 * Tiled-mode conformance (amg-reference.md, "Tiles"): the reference generators with their crop pyramid replaced by
 * the tile grid, matched mask for mask with the same limits as every other group (harness.ts LIMITS). SAM 1's tile
 * groups run here, SAM 2's in tiles-sam2.test.ts: two files of about a minute each, which the two forks run side
 * by side instead of one after the other.
 */
import { describe, expect, it } from 'vitest';
import { groupRuns, listTileGroups, runGroup, runName } from './harness.js';

const runs = groupRuns(listTileGroups('sam1'));

describe('tiled conformance with the reference generators (SAM 1)', () => {
  it('finds the SAM 1 and SAM 2 tile groups (tile 512, overlap 64)', () => {
    const all = [...groupRuns(listTileGroups('sam1')), ...groupRuns(listTileGroups('sam2'))];
    expect(all.map((r) => `${r.group.family}/${runName(r)}`)).toEqual(['sam1/tiles-512', 'sam2/tiles-512']);
    for (const r of all) expect([r.group.options.tile, r.group.options.tileOverlap]).toEqual([512, 64]);
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
