import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MaskRecord } from '../src/base/types.js';
import { readMaskSet } from '../src/output/read.js';
import { IMAGE_EXTENSIONS } from '../src/node/decode.js';
import { cocoDocument, serializeCoco, type ImageResult, type RunInfo } from '../src/output/index.js';
import { MergeError, mergeSets } from '../src/output/merge.js';
import { listInputs } from '../src/run/inputs.js';
import { parseShard, resolveShard, shardItems, shardRange } from '../src/run/shard.js';
import { encodeRowMajor, rleArea } from '../src/rle/rle.js';
import { cli, FAST, makeImages, TINY_MODEL } from './helpers/scale.js';

let dir: string;
beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'sam-amg-shard-'));
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('shard partition', () => {
  it('for N = 1, 2, 3, 7 the shards partition the sorted inputs exactly, in order, in blocks differing by ≤ 1', () => {
    for (const n of [0, 1, 2, 5, 6, 9, 10, 23]) {
      const list = Array.from({ length: n }, (_, i) => `img-${String(i).padStart(3, '0')}.jpg`);
      for (const N of [1, 2, 3, 7]) {
        const parts = Array.from({ length: N }, (_, k) => shardItems(list, { index: k, count: N }));
        expect(parts.flat()).toEqual(list); // every item once, in sorted order
        const sizes = parts.map((p) => p.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        // Deterministic: the same inputs give the same shards, whoever computes them.
        expect(Array.from({ length: N }, (_, k) => shardItems([...list], { index: k, count: N }))).toEqual(parts);
      }
    }
    expect(shardRange(10, { index: 0, count: 3 })).toEqual([0, 3]);
    expect(shardRange(10, { index: 1, count: 3 })).toEqual([3, 6]);
    expect(shardRange(10, { index: 2, count: 3 })).toEqual([6, 10]);
    expect(shardRange(2, { index: 5, count: 7 })).toEqual([1, 1]);
  });

  it('partitions a real folder listing for N = 1, 2, 3, 7', async () => {
    const imgDir = path.join(dir, 'listing');
    const rels = await makeImages(imgDir, 9);
    const listing = await listInputs([imgDir], { extensions: IMAGE_EXTENSIONS });
    expect(listing.items.map((i) => i.relPath)).toEqual(rels);
    for (const N of [1, 2, 3, 7]) {
      const seen = Array.from({ length: N }, (_, k) => shardItems(listing.items, { index: k, count: N }).map((i) => i.relPath));
      expect(seen.flat()).toEqual(rels);
      expect(new Set(seen.flat()).size).toBe(rels.length);
    }
  });

  it('parses --shard and the Slurm / Kubernetes environment', () => {
    expect(parseShard('2/5')).toEqual({ index: 2, count: 5 });
    for (const bad of ['5/5', '1/0', '-1/3', 'a/b', '3', '1/2/3']) expect(() => parseShard(bad)).toThrow(/--shard/u);
    expect(resolveShard(undefined, undefined, {})).toBeUndefined();
    expect(resolveShard('1/4', undefined, { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '9' })).toMatchObject({ index: 1, count: 4 });
    expect(resolveShard(undefined, undefined, { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '3' })).toMatchObject({ index: 2, count: 3 });
    // A resubmitted single task (sbatch --array=2) has SLURM_ARRAY_TASK_COUNT=1: the explicit count wins.
    expect(() => resolveShard(undefined, undefined, { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '1' })).toThrow(/index < 1/u);
    expect(resolveShard(undefined, 3, { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '1' })).toMatchObject({ index: 2, count: 3 });
    expect(resolveShard(undefined, undefined, { SLURM_ARRAY_TASK_ID: '2', SAM_AMG_SHARD_COUNT: '4' })).toMatchObject({ index: 2, count: 4 });
    expect(resolveShard('auto', 4, { JOB_COMPLETION_INDEX: '3' })).toMatchObject({ index: 3, count: 4 });
    expect(() => resolveShard(undefined, undefined, { JOB_COMPLETION_INDEX: '0' })).toThrow(/--shard-count/u);
    expect(() => resolveShard(undefined, 2, { JOB_COMPLETION_INDEX: '2' })).toThrow(/0 ≤ index < 2/u);
    expect(resolveShard('none', undefined, { JOB_COMPLETION_INDEX: '1', SLURM_ARRAY_TASK_ID: '1' })).toBeUndefined();
    expect(() => resolveShard(undefined, 3, {})).toThrow(/needs a shard index/u);
    expect(() => resolveShard('1/4', 3, {})).toThrow(/--shard-count says 3/u);
  });
});

describe('merge', () => {
  it('merge of shard outputs equals the single run byte for byte (N = 1, 2, 3, 7) and keeps info.shard out of it', async () => {
    const imgDir = path.join(dir, 'images');
    await makeImages(imgDir, 5);
    const single = path.join(dir, 'single.json');
    expect((await cli([imgDir, '--model', TINY_MODEL, ...FAST, '--shard', 'none', '--out', single])).code).toBe(0);
    const singleBytes = await fsp.readFile(single);
    expect(JSON.parse(singleBytes.toString()).info.shard).toBeUndefined();
    for (const N of [1, 2, 3, 7]) {
      const outs: string[] = [];
      for (let k = 0; k < N; k++) {
        const out = path.join(dir, `n${N}-shard-${k}.json`);
        const run = await cli([imgDir, '--model', TINY_MODEL, ...FAST, '--shard', `${k}/${N}`, '--out', out]);
        expect(run.code, run.stderr).toBe(0);
        outs.push(out);
      }
      const first = JSON.parse(await fsp.readFile(outs[0], 'utf8'));
      expect(first.info.shard).toEqual({ index: 0, count: N, images: Math.floor(5 / N), total: 5 });
      const merged = path.join(dir, `merged-${N}.json`);
      // Inputs in any order.
      const run = await cli(['merge', merged, ...outs.reverse()]);
      expect(run.code, run.stderr).toBe(0);
      expect((await fsp.readFile(merged)).equals(singleBytes)).toBe(true);
      expect((await cli(['compare', single, merged])).code).toBe(0);
    }
  });

  it('refuses mismatched options, naming the option', async () => {
    const imgDir = path.join(dir, 'images');
    const a = path.join(dir, 'opt-a.json');
    const b = path.join(dir, 'opt-b.json');
    expect((await cli([imgDir, '--model', TINY_MODEL, ...FAST, '--shard', '3/4', '--out', a])).code).toBe(0);
    expect((await cli([imgDir, '--model', TINY_MODEL, ...FAST, '--shard', '2/4', '--pred-iou-thresh', '0.8', '--out', b])).code).toBe(0);
    const run = await cli(['merge', path.join(dir, 'never.json'), a, b]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/different options \(pred_iou_thresh\): 0\.88 vs 0\.8/u);
    await expect(fsp.stat(path.join(dir, 'never.json'))).rejects.toThrow();
  });

  describe('refusals on hand-made shard files', () => {
    const rec = (x: number): MaskRecord => {
      const m = new Uint8Array(8 * 8);
      m[x] = 1;
      const seg = encodeRowMajor(m, 8, 8);
      return { segmentation: seg, area: rleArea(seg), bbox: [x, 0, 0, 0], predictedIou: 0.9, pointCoords: [x, 0], stabilityScore: 0.96, cropBox: [0, 0, 8, 8] };
    };
    const info = (shard: RunInfo['shard'], over: Partial<RunInfo> = {}): RunInfo => ({
      version: '0.1.0',
      date: null,
      model: 'm',
      modelSha256: 'aa',
      options: { points_per_side: 4 },
      shard,
      ...over,
    });
    const img = (name: string): ImageResult => ({ relPath: name, width: 8, height: 8, records: [rec(1), rec(2)] });
    const file = async (name: string, results: ImageResult[], i: RunInfo): Promise<string> => {
      const p = path.join(dir, name);
      await fsp.writeFile(p, serializeCoco(cocoDocument(results, i)));
      return p;
    };
    const sets = async (...paths: string[]) => Promise.all(paths.map((p) => readMaskSet(p)));

    it('names a missing shard, an incomplete shard, a duplicate, overlaps and model differences', async () => {
      const s0 = await file('h0.json', [img('a.png'), img('b.png')], info({ index: 0, count: 3, images: 2, total: 5 }));
      const s1 = await file('h1.json', [img('c.png')], info({ index: 1, count: 3, images: 1, total: 5 }));
      const s2 = await file('h2.json', [img('d.png'), img('e.png')], info({ index: 2, count: 3, images: 2, total: 5 }));
      expect(mergeSets(await sets(s2, s0, s1)).images.map((i) => i.file_name)).toEqual(['a.png', 'b.png', 'c.png', 'd.png', 'e.png']);
      expect(() => mergeSets([])).toThrow(MergeError);
      const missing = await cli(['merge', path.join(dir, 'x.json'), s0, s2]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/missing shard 1 of 3/u);
      const partial = await file('h2-partial.json', [img('d.png')], info({ index: 2, count: 3, images: 2, total: 5 }));
      await sets(s0, s1, partial).then((x) => expect(() => mergeSets(x)).toThrow(/incomplete shard 2 of 3 .*accounts for 1 of its 2 images/u));
      // A failed image is accounted for by info.errors.
      const failed = await file('h2-failed.json', [img('d.png')], info({ index: 2, count: 3, images: 2, total: 5 }, { errors: [{ file: 'e.png', stage: 'decode', message: 'bad' }] }));
      expect(mergeSets(await sets(s0, s1, failed)).info?.errors).toEqual([{ file: 'e.png', stage: 'decode', message: 'bad' }]);
      await sets(s0, s1, s1).then((x) => expect(() => mergeSets(x)).toThrow(/shard 1 of 3 is given twice/u));
      const overlap = await file('h1-overlap.json', [img('b.png')], info({ index: 1, count: 3, images: 1, total: 5 }));
      await sets(s0, overlap, s2).then((x) => expect(() => mergeSets(x)).toThrow(/in more than one input: b\.png/u));
      const otherModel = await file('h1-model.json', [img('c.png')], info({ index: 1, count: 3, images: 1, total: 5 }, { modelSha256: 'bb' }));
      await sets(s0, otherModel, s2).then((x) => expect(() => mergeSets(x)).toThrow(/different models/u));
      const otherCount = await file('h1-count.json', [img('c.png')], info({ index: 1, count: 4, images: 1, total: 5 }));
      await sets(s0, otherCount, s2).then((x) => expect(() => mergeSets(x)).toThrow(/shard 0 of 3 but .* shard 1 of 4/u));
      const whole = await file('whole.json', [img('z.png')], info(undefined));
      await sets(s0, s1, s2, whole).then((x) => expect(() => mergeSets(x)).toThrow(/shard outputs with whole-run outputs/u));
    });
  });
});
