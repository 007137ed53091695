/**
 * The decoder sharing of the conformance runs (shared-decodes.ts, harness.ts generateShared) changes no record:
 * groups run side by side with shared decoder outputs give byte for byte the records of separate runs, and the
 * cache hands out copies, lets go what a consumer skips and never waits forever.
 */
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { AmgOptions } from '../../src/amg/options.js';
import type { MaskRecord, RgbImage } from '../../src/base/types.js';
import type { DecodedBatch } from '../../src/model/adapter.js';
import { MaskGenerator } from '../../src/node/mask-generator.js';
import { toCoco } from '../../src/rle/rle.js';
import { generateShared, modelDir, SHARED, type Family, type Group, type GroupRun } from './harness.js';
import { DecodeShare } from './shared-decodes.js';

/** Shared photos scaled down (sharp's resize: the same pixels at every run). */
const small = new Map<string, Promise<RgbImage>>();
function smallPhoto(name: string): Promise<RgbImage> {
  let p = small.get(name);
  if (!p) {
    p = sharp(path.join(SHARED, 'images', name))
      .resize({ width: 160 })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true })
      .then(({ data, info }) => ({ data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height }));
    small.set(name, p);
  }
  return p;
}

function serialise(records: MaskRecord[]): string {
  return JSON.stringify(records.map((r) => ({ ...r, segmentation: toCoco(r.segmentation) })));
}

const PERMISSIVE = { pointsPerSide: 9, pointsPerBatch: 5, predIouThresh: 0.5, stabilityScoreThresh: 0.8 };
function group(family: Family, name: string, options: Partial<AmgOptions>, images: string[]): Group {
  return { family, name, file: '', model: modelDir(family, options), options, images, extraBatches: [] };
}

describe('decoder outputs shared between conformance groups', () => {
  it('give byte for byte the records of separate runs (SAM 1 and SAM 2, a crop layer, another batch size)', async () => {
    const groups = [
      group('sam1', 'permissive', PERMISSIVE, ['dog.jpg', 'groceries.jpg']),
      group('sam1', 'min-area', { ...PERMISSIVE, minMaskRegionArea: 20 }, ['dog.jpg']),
      group('sam1', 'crop-layer', { ...PERMISSIVE, cropNLayers: 1, cropNPointsDownscaleFactor: 2 }, ['dog.jpg']),
      group('sam1', 'strict', { pointsPerSide: 9, pointsPerBatch: 5 }, ['dog.jpg']),
      group('sam2', 'defaults', { pointsPerSide: 9, pointsPerBatch: 5 }, ['groceries.jpg']),
      group('sam2', 'min-area', { pointsPerSide: 9, pointsPerBatch: 5, minMaskRegionArea: 20 }, ['groceries.jpg']),
    ];
    // The last run asks for other batches of the same prompts: its own calls.
    const runs: GroupRun[] = [...groups.map((g) => ({ group: g })), { group: groups[3], pointsPerBatch: 7 }];
    const shared = generateShared(runs, smallPhoto);
    let total = 0;
    for (const run of runs) {
      const { records } = await (shared.records.get(run) as Promise<{ records: Map<string, MaskRecord[]> }>);
      const gen = await MaskGenerator.load(run.group.model, { ...run.group.options, ...(run.pointsPerBatch ? { pointsPerBatch: run.pointsPerBatch } : {}) });
      try {
        for (const name of run.group.images) {
          const alone = await gen.generate(await smallPhoto(name));
          const got = records.get(name) as MaskRecord[];
          total += got.length;
          expect({ run: run.group.name, name, count: got.length, same: serialise(got) === serialise(alone) }).toEqual({ run: run.group.name, name, count: alone.length, same: true });
        }
      } finally {
        await gen.release();
      }
    }
    expect(total).toBeGreaterThan(200);
    const counts = await shared.counts;
    // 81 prompts in 17 batches of 5 per crop. SAM 1: four groups ask for the whole of dog (the crop layer's crops
    // are its own), groceries has one; SAM 2: two groups on groceries.
    expect(counts.get(modelDir('sam1'))).toMatchObject({ fromCache: 17 * 3, unplanned: 0, maskPrompt: 0, overCapacity: 0 });
    expect(counts.get(modelDir('sam2'))).toMatchObject({ fromCache: 17, unplanned: 0, maskPrompt: 0, overCapacity: 0 });
  }, 600_000);

  const batch = (v: number): DecodedBatch => ({ count: 1, masksPerPrompt: 1, iou: Float32Array.of(v), logits: Float32Array.of(v, v) });

  it('computes a planned call once, hands every consumer its own copy, and lets go of calls a consumer skips', async () => {
    const share = new DecodeShare(2);
    const a = share.consumer(['k1', 'k2', 'k3']);
    const b = share.consumer(['k1', 'k2', 'k3']);
    let runs = 0;
    const compute = (v: number) => async (): Promise<DecodedBatch> => (runs++, batch(v));
    const a1 = await share.decode(a, 'k1', false, compute(1));
    const b1 = await share.decode(b, 'k1', false, compute(99));
    expect([runs, Array.from(b1.logits)]).toEqual([1, [1, 1]]);
    expect(b1.logits).not.toBe(a1.logits);
    // b skips k2 (its plan was off): the cached k2 is let go when b asks for k3.
    await share.decode(a, 'k2', false, compute(2));
    expect(share.counts.peak).toBe(1);
    await share.decode(b, 'k3', false, compute(3));
    const a3 = await share.decode(a, 'k3', false, compute(98));
    expect(Array.from(a3.iou)).toEqual([3]);
    // A call nobody planned, and one with a mask prompt, are computed as they are.
    await share.decode(a, 'other', false, compute(4));
    await share.decode(b, 'k1', true, compute(5));
    expect(share.counts).toMatchObject({ computed: 4, fromCache: 2, unplanned: 1, maskPrompt: 1, overCapacity: 0 });
    expect(runs).toBe(5);
  });

  it('lets a consumer run at most `capacity` batches ahead, and never waits forever', async () => {
    const share = new DecodeShare(1);
    const fast = share.consumer(['k1', 'k2', 'k3']);
    const slow = share.consumer(['k1', 'k2', 'k3']);
    await share.decode(fast, 'k1', false, async () => batch(1));
    let second = false;
    const k2 = share.decode(fast, 'k2', false, async () => batch(2)).then((r) => ((second = true), r));
    await new Promise((r) => setTimeout(r, 10));
    // The cache is full (k1 waits for slow): fast waits.
    expect(second).toBe(false);
    await share.decode(slow, 'k1', false, async () => batch(-1));
    expect(Array.from((await k2).iou)).toEqual([2]);
    // slow skips k2 (let go: nobody waits for it) and asks for k3.
    await share.decode(slow, 'k3', false, async () => batch(3));
    share.finish(fast);
    share.finish(slow);
    // Two consumers whose calls come in each other's reverse order, with a full cache: y waits for room, then x
    // would too; x goes ahead instead, and y finds its call cached.
    const x = share.consumer(['x1', 'x2']);
    const y = share.consumer(['x2', 'x1']);
    await share.decode(x, 'x1', false, async () => batch(5));
    const stuck = share.decode(y, 'x2', false, async () => batch(-2));
    await share.decode(x, 'x2', false, async () => batch(6));
    expect(Array.from((await stuck).iou)).toEqual([6]);
    expect(share.counts.overCapacity).toBe(1);
  });
});
