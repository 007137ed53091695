/**
 * `npm run bench:boxes`: boxes per second of box-prompted segmentation (`sam-amg segment`, BoxSegmenter) on the
 * real-architecture SAM ViT-B decoder of ../shared/perf with the cost-realistic encoder (bench/vitb.ts), the
 * decoder optimiser on and off in one process, alternated so that both see the same machine load:
 *
 *   decoder   ms per box of one decoder call of --batch boxes (the boxes as corner points with labels 2 and 3),
 *             optimised and as exported, alternating --rounds times after a warm-up round;
 *   segment   a whole BoxSegmenter.segment() of --boxes boxes on the image (one encoder run, the decoder batches,
 *             post-processing), alternating --segment-rounds times; boxes/s with and without the encoder run.
 *
 * Usage: npm run bench:boxes -- [--image truck.jpg] [--boxes n (default 128)] [--batch n (default 64)]
 *        [--rounds n (default 3)] [--segment-rounds n (default 1)] [--threads n] [--json]
 * The generated model folder goes to a temporary folder and is deleted afterwards.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BoxXYWH, RgbImage } from '../src/base/types.js';
import { decodeImage } from '../src/node/decode.js';
import { loadModel } from '../src/node/model-folder.js';
import { defaultThreads } from '../src/node/session.js';
import { BoxSegmenter } from '../src/prompt/box-segmenter.js';
import { flag, num, opt } from './args.js';
import { writeVitbModel } from './vitb.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

/** `n` boxes spread over the image, 5–40 % of its sides, deterministic. */
export function benchBoxes(image: { width: number; height: number }, n: number): BoxXYWH[] {
  const boxes: BoxXYWH[] = [];
  for (let i = 0; i < n; i++) {
    const fw = 0.05 + 0.35 * (((i * 37) % 101) / 100);
    const fh = 0.05 + 0.35 * (((i * 53) % 97) / 96);
    const w = Math.round(fw * image.width);
    const h = Math.round(fh * image.height);
    const x = Math.round((((i * 61) % 89) / 88) * (image.width - w));
    const y = Math.round((((i * 29) % 83) / 82) * (image.height - h));
    boxes.push([x, y, w, h]);
  }
  return boxes;
}

interface Variant {
  name: 'optimised' | 'exported';
  seg: BoxSegmenter;
  passes: readonly string[];
}

async function main(): Promise<void> {
  const threads = num('--threads') ?? defaultThreads();
  const nBoxes = num('--boxes') ?? 128;
  const batch = num('--batch') ?? 64;
  const rounds = num('--rounds') ?? 3;
  const segmentRounds = num('--segment-rounds') ?? 1;
  const imageName = opt('--image') ?? 'truck.jpg';
  const image: RgbImage = await decodeImage(path.join(root, '..', 'shared', 'images', imageName));
  const boxes = benchBoxes(image, nBoxes);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sam-amg-bench-boxes-'));
  try {
    const label = await writeVitbModel(root, dir);
    const variants: Variant[] = [];
    for (const optimise of [true, false]) {
      const model = await loadModel(dir, { threads, optimise });
      const seg = await BoxSegmenter.fromModel(model, { boxesPerBatch: batch });
      variants.push({ name: optimise ? 'optimised' : 'exported', seg, passes: model.decoder.passes });
    }
    try {
      const [opt0] = variants;
      if (opt0.passes.length === 0) throw new Error('bench: the decoder was not optimised');
      console.log(`model: ${label}; ${threads} threads; image ${imageName} ${image.width}x${image.height}`);
      console.log(`decoder optimiser passes: ${opt0.passes.join('; ')}`);

      // The decoder alone: one call of `batch` boxes on one encoded image, alternating.
      const crops = await Promise.all(variants.map((v) => v.seg.adapter.encode(image)));
      const count = Math.min(batch, boxes.length);
      const xyxy = new Float64Array(4 * count);
      boxes.slice(0, count).forEach((b, i) => xyxy.set([b[0], b[1], b[0] + b[2], b[1] + b[3]], 4 * i));
      const decodeS = [0, 0];
      for (let round = 0; round <= rounds; round++) {
        for (const [k, v] of variants.entries()) {
          const decodeBoxes = v.seg.adapter.decodeBoxes;
          if (!decodeBoxes) throw new Error('bench: the layout takes no boxes');
          const t = performance.now();
          await decodeBoxes.call(v.seg.adapter, crops[k], xyxy, count);
          if (round > 0) decodeS[k] += (performance.now() - t) / 1000;
        }
      }
      const msPerBox = decodeS.map((s) => (s / rounds / count) * 1000);

      // Whole segment() calls of all the boxes (encoder, decoder batches, post-processing), alternating.
      const wall = [0, 0];
      const encoder = [0, 0];
      for (let round = 0; round < segmentRounds; round++) {
        for (const [k, v] of variants.entries()) {
          let encoderMs = 0;
          const t = performance.now();
          const masks = await v.seg.segment(image, boxes, { onProgress: (p) => (encoderMs = p.encoderMs) });
          wall[k] += (performance.now() - t) / 1000;
          encoder[k] += encoderMs / 1000;
          if (masks.length !== boxes.length) throw new Error(`bench: ${masks.length} masks for ${boxes.length} boxes`);
        }
      }
      const rows = variants.map((v, k) => ({
        variant: v.name,
        decoder_ms_per_box: msPerBox[k],
        decoder_boxes_per_s: 1000 / msPerBox[k],
        segment_s: wall[k] / segmentRounds,
        encoder_s: encoder[k] / segmentRounds,
        boxes_per_s: (boxes.length * segmentRounds) / wall[k],
        boxes_per_s_after_encoder: (boxes.length * segmentRounds) / (wall[k] - encoder[k]),
      }));
      console.log(`decoder alone: ${count} boxes per call, ${rounds} alternating rounds after a warm-up`);
      console.log(`segment(): ${boxes.length} boxes, one encoder run, ${batch} boxes per decoder call, ${segmentRounds} round(s)`);
      console.log('variant    decoder ms/box  decoder boxes/s  segment s  encoder s  boxes/s  boxes/s after encoder');
      for (const r of rows) {
        console.log(
          `${r.variant.padEnd(9)}  ${r.decoder_ms_per_box.toFixed(1).padStart(14)}  ${r.decoder_boxes_per_s.toFixed(1).padStart(15)}  ${r.segment_s.toFixed(2).padStart(9)}  ${r.encoder_s.toFixed(2).padStart(9)}  ${r.boxes_per_s.toFixed(1).padStart(7)}  ${r.boxes_per_s_after_encoder.toFixed(1).padStart(21)}`,
        );
      }
      console.log(`optimised / exported decoder time per box: ${(msPerBox[0] / msPerBox[1]).toFixed(3)}`);
      if (flag('--json')) console.log(JSON.stringify({ image: imageName, threads, boxes: boxes.length, batch, rounds, rows }));
    } finally {
      for (const v of variants) await v.seg.release();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
