/**
 * Box-prompt conformance: the reference predictors' own records (SamPredictor, SAM2ImagePredictor) on the shared
 * detection file, paired detection by detection. Every run checks the same limits as the automatic groups
 * (harness.ts LIMITS); batching must not change a record.
 */
import { describe, expect, it } from 'vitest';
import { LIMITS } from './harness.js';
import { listPromptGroups, promptRunName, promptRuns, runPromptGroup } from './prompt-harness.js';

const groups = listPromptGroups();
const runs = promptRuns(groups);

describe('box-prompt conformance with the reference predictors', () => {
  it('finds the boxes group of each family with its prompt-aware toy, each also run with 1 and 5 boxes per batch', () => {
    const names = runs.map((r) => `${r.group.family} ${promptRunName(r)}`);
    for (const family of ['sam1', 'sam2']) {
      expect(names).toEqual(expect.arrayContaining([`${family} boxes`, `${family} boxes batch 1`, `${family} boxes batch 5`]));
    }
    for (const g of groups) {
      expect(g.model).toMatch(new RegExp(`${g.family}-toy-prompts$`));
      expect(g.detections).toMatch(/prompts\/[^/]+\.json$/);
    }
  });
  for (const run of runs) {
    it(`${run.group.family} ${promptRunName(run)}`, async () => {
      const rep = await runPromptGroup(run);
      expect(rep.failures).toEqual([]);
      expect(rep.expected).toBeGreaterThan(0);
      // One record per detection.
      expect(rep.actual).toBe(rep.expected);
      expect(rep.recall).toBeGreaterThanOrEqual(LIMITS.minRecall);
    }, 600_000);
  }
});
