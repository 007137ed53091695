/**
 * The bench's real-decoder row: a model folder with the cost-realistic encoder (fixtures/cost-realistic.ts) and the
 * real-architecture SAM ViT-B prompt encoder + mask decoder of ../shared/perf, and the ONNX Runtime floor for it:
 * the same encoder and decoder files run alone, with sam-amg's session options, on the same image and prompts
 * (one encoder run, then the decoder calls of the unoptimised graph, points-per-batch prompts each).
 */
import { existsSync } from 'node:fs';
import { copyFile, readFile, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { writeCostRealisticModel } from '../fixtures/cost-realistic.js';
import { buildLayerGrids } from '../src/amg/point-grid.js';
import type { RgbImage } from '../src/base/types.js';
import { parsePreprocessorConfig, preprocess } from '../src/image/preprocess.js';
import { createDecoder, PlainDecoder } from '../src/model/decoder.js';
import { HF_SAM } from '../src/model/layouts/hugging-face.js';
import { nodeRuntime, type RuntimeOptions } from '../src/node/session.js';

/** The real-architecture decoder folder (HF SAM 1 layout, the .onnx at its top or under onnx/). */
export function vitbDecoderDir(root: string): string {
  return path.join(root, '..', 'shared', 'perf', 'sam-vit-b-random-decoder');
}

function decoderFile(dir: string): string | undefined {
  return [path.join(dir, 'onnx', 'prompt_encoder_mask_decoder.onnx'), path.join(dir, 'prompt_encoder_mask_decoder.onnx')].find((f) => existsSync(f));
}

/**
 * Writes `dir` as a model folder: the cost-realistic encoder, the real decoder linked in place, the decoder
 * folder's config files. Returns a label for the report.
 */
export async function writeVitbModel(root: string, dir: string): Promise<string> {
  const src = vitbDecoderDir(root);
  const decoder = decoderFile(src);
  if (!decoder) throw new Error(`bench: no prompt_encoder_mask_decoder.onnx in ${src}`);
  const info = await writeCostRealisticModel(dir);
  const target = path.join(dir, 'onnx', 'prompt_encoder_mask_decoder.onnx');
  await rm(target, { force: true });
  await symlink(decoder, target);
  for (const f of ['config.json', 'preprocessor_config.json']) {
    if (existsSync(path.join(src, f))) await copyFile(path.join(src, f), path.join(dir, f));
  }
  return `cost-realistic encoder (${info.encoderGflop.toFixed(0)} GFLOP/run) + real ViT-B decoder (../shared/perf)`;
}

/** What ONNX Runtime alone takes for an image's encoder run and decoder calls. */
export interface FloorResult {
  encoderS: number;
  decoderS: number;
  /** encoderS + decoderS. */
  totalS: number;
  prompts: number;
  calls: number;
}

/**
 * The floor for one image at `pointsPerSide` (one crop layer): the encoder once, then the unoptimised decoder on
 * the point grid in calls of `pointsPerBatch` prompts, timed as ONNX Runtime runs (no post-processing at all).
 */
export async function measureFloor(
  dir: string,
  image: RgbImage,
  opts: RuntimeOptions & { pointsPerSide: number; pointsPerBatch: number },
): Promise<FloorResult> {
  const spec = parsePreprocessorConfig(JSON.parse(await readFile(path.join(dir, 'preprocessor_config.json'), 'utf8')), 'preprocessor_config.json');
  const runtime = nodeRuntime(opts);
  const encoderFile = path.join(dir, 'onnx', 'vision_encoder.onnx');
  const encoder = await runtime.createSession(encoderFile, encoderFile);
  const decoder = await runtime.createSession(path.join(dir, 'onnx', 'prompt_encoder_mask_decoder.onnx'), 'decoder');
  try {
    const pre = preprocess(image, spec);
    const side = spec.mode === 'square' ? spec.size : spec.padSize;
    let t = performance.now();
    const enc = await encoder.run({ [encoder.inputNames[0]]: new ort.Tensor('float32', pre.pixels, [1, 3, side, side]) });
    const encoderS = (performance.now() - t) / 1000;
    const grid = buildLayerGrids(opts.pointsPerSide, 0, 1)[0];
    const n = grid.length / 2;
    let decoderS = 0;
    let calls = 0;
    for (let start = 0; start < n; start += opts.pointsPerBatch) {
      const count = Math.min(opts.pointsPerBatch, n - start);
      const coords = new Float32Array(2 * count);
      for (let i = 0; i < count; i++) {
        coords[2 * i] = grid[2 * (start + i)] * image.width * pre.scaleX;
        coords[2 * i + 1] = grid[2 * (start + i) + 1] * image.height * pre.scaleY;
      }
      const feeds: Record<string, ort.Tensor> = {
        image_embeddings: enc.image_embeddings,
        image_positional_embeddings: enc.image_positional_embeddings,
        input_points: new ort.Tensor('float32', coords, [1, count, 1, 2]),
        input_labels: new ort.Tensor('int64', new BigInt64Array(count).fill(1n), [1, count, 1]),
      };
      t = performance.now();
      await decoder.run(feeds, ['iou_scores', 'pred_masks']);
      decoderS += (performance.now() - t) / 1000;
      calls++;
    }
    return { encoderS, decoderS, totalS: encoderS + decoderS, prompts: n, calls };
  } finally {
    await encoder.release();
    await decoder.release();
  }
}

/** Per-prompt decoder time of the optimised and the exported graph, measured alternately on the same batch. */
export interface DecoderAB {
  rounds: number;
  prompts: number;
  optimisedMs: number;
  unoptimisedMs: number;
}

/**
 * The decoder alone, optimised (image-side part included) and as exported, alternating `rounds` times on one
 * batch of the image's prompts after a warm-up round: on a machine shared with other work this ratio is steadier
 * than one taken from two runs minutes apart.
 */
export async function measureDecoderAB(
  dir: string,
  image: RgbImage,
  opts: RuntimeOptions & { pointsPerSide: number; pointsPerBatch: number; rounds: number },
): Promise<DecoderAB> {
  const spec = parsePreprocessorConfig(JSON.parse(await readFile(path.join(dir, 'preprocessor_config.json'), 'utf8')), 'preprocessor_config.json');
  const decoderPath = path.join(dir, 'onnx', 'prompt_encoder_mask_decoder.onnx');
  const runtime = nodeRuntime(opts);
  const encoderFile = path.join(dir, 'onnx', 'vision_encoder.onnx');
  const encoder = await runtime.createSession(encoderFile, encoderFile);
  const plain = new PlainDecoder(await runtime.createSession(decoderPath, decoderPath));
  const original = await runtime.createSession(decoderPath, decoderPath);
  const feeds = HF_SAM.bind({ encoder, decoder: original, encoderFile, decoderFile: decoderPath }, spec).feeds;
  const optimised = await createDecoder({ file: decoderPath, bytes: () => readFile(decoderPath), original }, feeds, runtime, {});
  try {
    if (optimised.passes.length === 0) throw new Error(`bench: the decoder was not optimised (${optimised.notOptimised})`);
    const pre = preprocess(image, spec);
    const side = spec.mode === 'square' ? spec.size : spec.padSize;
    const enc = await encoder.run({ [encoder.inputNames[0]]: new ort.Tensor('float32', pre.pixels, [1, 3, side, side]) });
    const features = { image_embeddings: enc.image_embeddings, image_positional_embeddings: enc.image_positional_embeddings };
    const grid = buildLayerGrids(opts.pointsPerSide, 0, 1)[0];
    const count = Math.min(opts.pointsPerBatch, grid.length / 2);
    const coords = new Float32Array(2 * count);
    for (let i = 0; i < count; i++) {
      coords[2 * i] = grid[2 * i] * image.width * pre.scaleX;
      coords[2 * i + 1] = grid[2 * i + 1] * image.height * pre.scaleY;
    }
    const prompt = {
      input_points: new ort.Tensor('float32', coords, [1, count, 1, 2]),
      input_labels: new ort.Tensor('int64', new BigInt64Array(count).fill(1n), [1, count, 1]),
    };
    const outputs = ['iou_scores', 'pred_masks'];
    let optimisedS = 0;
    let unoptimisedS = 0;
    for (let round = 0; round <= opts.rounds; round++) {
      let t = performance.now();
      await plain.run({ ...features, ...prompt }, outputs);
      const u = (performance.now() - t) / 1000;
      t = performance.now();
      await optimised.run({ ...(await optimised.prepare(features)), ...prompt }, outputs);
      const o = (performance.now() - t) / 1000;
      if (round > 0) {
        unoptimisedS += u;
        optimisedS += o;
      }
    }
    const per = (s: number): number => (s / opts.rounds / count) * 1000;
    return { rounds: opts.rounds, prompts: count, optimisedMs: per(optimisedS), unoptimisedMs: per(unoptimisedS) };
  } finally {
    await encoder.release();
    await plain.release();
    await optimised.release();
  }
}
