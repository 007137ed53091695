/**
 * points_per_batch never changes the records: byte for byte the same at 1, 5 and 64, with the conformance toys of
 * both families and with use_m2m (whose refinement decodes the candidates again in chunks of points_per_batch).
 *
 * This replaces rerunning whole conformance groups at points_per_batch 1 (minutes each): with the records
 * identical at every batch size, a group that conforms at its own batch size conforms at any other. A 9×9 grid
 * (81 prompts: 64 + 17, 16 × 5 + 1, 81 × 1) on a small photo crosses every batch and chunk boundary; one case adds
 * a crop layer, whose crops each batch their own grid. About 10 s of CPU in all, where the reruns took minutes.
 */
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { AmgOptions } from '../../src/amg/options.js';
import type { MaskRecord, RgbImage } from '../../src/base/types.js';
import { loadModel } from '../../src/node/model-folder.js';
import { MaskGenerator } from '../../src/node/mask-generator.js';
import { toCoco } from '../../src/rle/rle.js';
import { modelDir, SHARED } from './harness.js';

const BATCHES = [1, 5, 64];

/** A shared photo scaled to `width` (sharp's resize: the same pixels at every run). */
async function smallPhoto(name: string, width: number): Promise<RgbImage> {
  const { data, info } = await sharp(path.join(SHARED, 'images', name)).resize({ width }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

/** Every field of every record, the mask as its COCO RLE string: equal strings are byte-identical records. */
function serialise(records: MaskRecord[]): string {
  return JSON.stringify(records.map((r) => ({ ...r, segmentation: toCoco(r.segmentation) })));
}

/** The records of `image` at each batch size, one model load shared by the generators. */
async function recordsPerBatch(model: string, options: Partial<AmgOptions>, image: RgbImage): Promise<{ batch: number; records: MaskRecord[] }[]> {
  const loaded = await loadModel(model);
  const out: { batch: number; records: MaskRecord[] }[] = [];
  let last: MaskGenerator | undefined;
  try {
    for (const batch of BATCHES) {
      last = await MaskGenerator.fromModel(loaded, { ...options, pointsPerBatch: batch });
      expect(last.options.pointsPerBatch).toBe(batch);
      out.push({ batch, records: await last.generate(image) });
    }
  } finally {
    // The generators share the model's sessions: released once.
    if (last) await last.release();
    else await loaded.adapter.release();
  }
  return out;
}

const cases: { name: string; model: string; options: Partial<AmgOptions>; photo: string; width: number; min: number }[] = [
  {
    name: 'SAM 1 toy, permissive filters',
    model: modelDir('sam1'),
    options: { pointsPerSide: 9, predIouThresh: 0.5, stabilityScoreThresh: 0.8 },
    photo: 'dog.jpg',
    width: 160,
    min: 100,
  },
  {
    // Layer 1 batches its own 5×5 grid (downscale factor 2) in each of its four crops.
    name: 'SAM 1 toy, one crop layer',
    model: modelDir('sam1'),
    options: { pointsPerSide: 9, predIouThresh: 0.5, stabilityScoreThresh: 0.8, cropNLayers: 1, cropNPointsDownscaleFactor: 2 },
    photo: 'groceries.jpg',
    width: 160,
    min: 100,
  },
  { name: 'SAM 2 toy, defaults', model: modelDir('sam2'), options: { pointsPerSide: 9 }, photo: 'groceries.jpg', width: 240, min: 30 },
  {
    name: 'SAM 2 toy in samexporter layout, use_m2m',
    model: modelDir('sam2', { useM2m: true }),
    options: { pointsPerSide: 9, useM2m: true },
    photo: 'dog.jpg',
    width: 160,
    min: 30,
  },
];

describe('points_per_batch 1, 5 and 64 give byte-identical records', () => {
  for (const c of cases) {
    it(`${c.name} (${c.photo} at ${c.width} px wide, 9×9 grid)`, async () => {
      const image = await smallPhoto(c.photo, c.width);
      const runs = await recordsPerBatch(c.model, c.options, image);
      const [first, ...rest] = runs.map((r) => ({ batch: r.batch, count: r.records.length, text: serialise(r.records) }));
      // Enough records for the comparison to mean something.
      expect(first.count).toBeGreaterThanOrEqual(c.min);
      for (const r of rest) expect({ batch: r.batch, count: r.count, same: r.text === first.text }).toEqual({ batch: r.batch, count: first.count, same: true });
    });
  }
});
