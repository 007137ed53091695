/**
 * The optimised decoder as loadModel uses it: the real-architecture SAM ViT-B decoder (../shared/perf, read in
 * place) gives the same masks and scores with and without the optimiser; every fixture layout is optimised and
 * checked at load; a broken rewrite is caught by the probe check (one warning, the original graph runs);
 * --no-optimise runs the original graph; prompt chunks give the same outputs as one run.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecoder, PlainDecoder, SplitDecoder, type Decoder } from '../src/model/decoder.js';
import type { FeedSpec } from '../src/model/decoder-spec.js';
import { HF_SAM } from '../src/model/layouts/hugging-face.js';
import { parsePreprocessorConfig } from '../src/image/preprocess.js';
import { loadModel } from '../src/node/model-folder.js';
import { OnnxGraph } from '../src/model/optimise/graph.js';
import { optimiseDecoder, type OptimisedDecoder } from '../src/model/optimise/index.js';
import { nodeRuntime, sessionOptions } from '../src/node/session.js';
import { maxDiff, seededFloats, type Feeds } from './helpers/graph-runs.js';

const ROOT = path.resolve(new URL('..', import.meta.url).pathname);
const FIXTURES = path.join(ROOT, 'fixtures', 'models');
const VITB = path.resolve(ROOT, '../shared/perf/sam-vit-b-random-decoder');
const VITB_DECODER = path.join(VITB, 'prompt_encoder_mask_decoder.onnx');

const RUNTIME = nodeRuntime({ threads: 1 });

/** A decoder file as createDecoder reads it. */
function source(file: string, original: ort.InferenceSession): { file: string; bytes: () => Promise<Uint8Array>; original: ort.InferenceSession } {
  return { file, bytes: () => readFile(file), original };
}

async function session(file: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(file, sessionOptions({ threads: 2 }));
}

/** The fixture's feed spec, from its sessions' metadata. */
async function fixtureSpec(decoderFile: string, encoderFile: string, layout: 'hf-sam'): Promise<{ spec: FeedSpec; decoder: ort.InferenceSession }> {
  const decoder = await session(decoderFile);
  const encoder = await session(encoderFile);
  const pre = parsePreprocessorConfig({ size: { longest_edge: 1024 }, do_pad: true }, 'test transform');
  const spec = HF_SAM.bind({ encoder, decoder, encoderFile, decoderFile }, pre).feeds;
  await encoder.release();
  if (typeof spec === 'string') throw new Error(spec);
  return { spec, decoder };
}

async function decode(d: Decoder, image: Feeds, prompt: Feeds, outputs: string[]): Promise<Record<string, Float32Array>> {
  const out = await d.run({ ...(await d.prepare(image)), ...prompt }, outputs);
  return Object.fromEntries(outputs.map((o) => [o, out[o].data as Float32Array]));
}

describe.skipIf(!existsSync(VITB_DECODER))('the real-architecture ViT-B decoder (../shared/perf)', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'sam-amg-optimise-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('gives the same masks and IoU scores on random embeddings, with every pass applied', async () => {
    const spec = {
      inputs: { input_points: [1, 'P', 1, 2], input_labels: [1, 'P', 1], image_embeddings: [1, 256, 64, 64], image_positional_embeddings: [1, 256, 64, 64] },
      imageInputs: ['image_embeddings', 'image_positional_embeddings'],
      outputs: ['iou_scores', 'pred_masks'],
    } as const;
    const bytes = await readFile(VITB_DECODER);
    const r = optimiseDecoder(bytes, spec);
    if ('skipped' in r) throw new Error(r.skipped);
    expect(r.passes.join('\n')).toMatch(/loops unrolled/);
    expect(r.passes.join('\n')).toMatch(/image side: \d+ nodes once per crop, 5 tensors handed over/);
    expect(r.passes.join('\n')).toMatch(/few-query attention reassociated: 4 products/);
    expect(r.passes.join('\n')).toMatch(/token-major upscaling: 2 ConvTranspose → MatMul/);
    expect(r.passes.join('\n')).toMatch(/LayerNorm fused: 1/);
    // The first upscaling product of keys2 = LN(LN(image + attention) + attention), split over those terms.
    expect(r.passes.join('\n')).toMatch(/linear map of LayerNorm split over its terms: 1 \(1 image-side node moved to the image side\)/);
    // The discarded mask token's hypernetwork MLP is gone: three of the four remain.
    const main = OnnxGraph.fromBytes(r.main);
    const mlps = [0, 1, 2, 3].map((i) => main.inits.has(`mask_decoder.output_hypernetworks_mlps.${i}.layers.0.weight`));
    expect(mlps).toEqual([false, true, true, true]);
    const original = await session(VITB_DECODER);
    const prefix = await ort.InferenceSession.create(r.prefix as Uint8Array, sessionOptions({ threads: 2 }));
    const perPrompt = await ort.InferenceSession.create(r.main, sessionOptions({ threads: 2 }));
    const split = new SplitDecoder(original.inputNames, prefix, perPrompt, r, { ...spec, probe: {}, outputAxes: { iou_scores: { axis: 1, tolerance: 1e-5 }, pred_masks: { axis: 1, tolerance: 1e-4 } } }, RUNTIME);
    const plain = new PlainDecoder(original);
    const image: Feeds = {
      image_embeddings: new ort.Tensor('float32', seededFloats(256 * 4096, 3), [1, 256, 64, 64]),
      image_positional_embeddings: new ort.Tensor('float32', seededFloats(256 * 4096, 4), [1, 256, 64, 64]),
    };
    const p = 3;
    const prompt: Feeds = {
      input_points: new ort.Tensor('float32', seededFloats(2 * p, 5, 512).map((v) => v + 512), [1, p, 1, 2]),
      input_labels: new ort.Tensor('int64', new BigInt64Array(p).fill(1n), [1, p, 1]),
    };
    const outputs = ['iou_scores', 'pred_masks'];
    const want = await decode(plain, image, prompt, outputs);
    const got = await decode(split, image, prompt, outputs);
    expect(maxDiff(want.pred_masks, got.pred_masks)).toBeLessThanOrEqual(1e-4);
    expect(maxDiff(want.iou_scores, got.iou_scores)).toBeLessThanOrEqual(1e-5);
    // Different prompts give different masks (the comparison is not between constants).
    expect(maxDiff(want.pred_masks.subarray(0, 65536), want.pred_masks.subarray(3 * 65536, 4 * 65536))).toBeGreaterThan(1e-3);
    await split.release();
    await plain.release();
  });

  it('is optimised when loaded from a model folder, and the probe check passes', async () => {
    const dir = path.join(tmp, 'vitb');
    await mkdir(path.join(dir, 'onnx'), { recursive: true });
    for (const f of ['config.json', 'preprocessor_config.json']) await writeFile(path.join(dir, f), await readFile(path.join(VITB, f)));
    await symlink(VITB_DECODER, path.join(dir, 'onnx', 'prompt_encoder_mask_decoder.onnx'));
    await symlink(path.join(FIXTURES, 'sam1-tiny', 'onnx', 'vision_encoder.onnx'), path.join(dir, 'onnx', 'vision_encoder.onnx'));
    const warnings: string[] = [];
    const m = await loadModel(dir, { threads: 2, onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual([]);
    expect(m.decoder.optimised).toBe(true);
    expect(m.decoder.passes.length).toBeGreaterThanOrEqual(4);
    await m.adapter.release();
  });
});

describe('every fixture layout goes through the optimiser', () => {
  const layouts: [string, RegExp][] = [
    ['sam1-tiny', /image side/],
    ['sam2-tiny', /outputs not read dropped: object_score_logits/],
    ['sam1-reference-export', /outputs not read dropped: masks/],
    ['sam2-samexporter', /image side/],
  ];
  for (const [name, pass] of layouts) {
    it(`${name}: optimised and checked at load; --no-optimise keeps the exported graph`, async () => {
      const warnings: string[] = [];
      const on = await loadModel(path.join(FIXTURES, name), { threads: 1, onWarning: (w) => warnings.push(w) });
      expect(warnings).toEqual([]);
      expect(on.decoder.optimised).toBe(true);
      expect(on.decoder.passes.join('\n')).toMatch(pass);
      await on.adapter.release();
      const off = await loadModel(path.join(FIXTURES, name), { threads: 1, optimise: false });
      expect(off.decoder).toEqual({ optimised: false, passes: [], notOptimised: 'turned off (--no-optimise)' });
      await off.adapter.release();
    });
  }
});

describe('the probe check', () => {
  const decoderFile = path.join(FIXTURES, 'sam1-tiny', 'onnx', 'prompt_encoder_mask_decoder.onnx');
  const encoderFile = path.join(FIXTURES, 'sam1-tiny', 'onnx', 'vision_encoder.onnx');

  /** The real optimiser, with pred_masks then shifted by `delta` (a deliberately wrong rewrite). */
  const broken =
    (delta: number) =>
    (bytes: Uint8Array, spec: FeedSpec): OptimisedDecoder | { skipped: string } => {
      const r = optimiseDecoder(bytes, spec);
      if ('skipped' in r) return r;
      const g = OnnxGraph.fromBytes(r.main);
      const last = g.nodes.find((n) => n.outputs.includes('pred_masks'));
      if (!last) throw new Error('no pred_masks producer');
      last.outputs = last.outputs.map((o) => (o === 'pred_masks' ? 'unshifted' : o));
      g.add('Add', ['unshifted', g.float32(new Float32Array([delta]), [])], [], ['pred_masks']);
      return { ...r, main: g.toBytes() };
    };

  it('catches a rewrite that changes the logits: one warning naming the file and the output, the original graph runs', async () => {
    const { spec, decoder } = await fixtureSpec(decoderFile, encoderFile, 'hf-sam');
    const warnings: string[] = [];
    const d = await createDecoder(source(decoderFile, decoder), spec, RUNTIME, { onWarning: (w) => warnings.push(w) }, broken(1e-3));
    expect(d).toBeInstanceOf(PlainDecoder);
    expect(d.session).toBe(decoder);
    expect(d.notOptimised).toBe('probe check failed on pred_masks');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(decoderFile);
    expect(warnings[0]).toMatch(/max \|Δ\| 1\.00e-3 on pred_masks, more than 0\.0001\); using the original graph/);
    await d.release();
  });

  it('accepts a difference within the tolerance', async () => {
    const { spec, decoder } = await fixtureSpec(decoderFile, encoderFile, 'hf-sam');
    const warnings: string[] = [];
    const d = await createDecoder(source(decoderFile, decoder), spec, RUNTIME, { onWarning: (w) => warnings.push(w) }, broken(5e-5));
    expect(d).toBeInstanceOf(SplitDecoder);
    expect(warnings).toEqual([]);
    await d.release();
  });

  it('falls back with a warning when the optimiser throws', async () => {
    const { spec, decoder } = await fixtureSpec(decoderFile, encoderFile, 'hf-sam');
    const warnings: string[] = [];
    const d = await createDecoder(source(decoderFile, decoder), spec, RUNTIME, { onWarning: (w) => warnings.push(w) }, () => {
      throw new Error('boom');
    });
    expect(d).toBeInstanceOf(PlainDecoder);
    expect(warnings).toEqual([`${decoderFile}: the decoder graph optimiser failed (boom); using the original graph`]);
    await d.release();
  });
});

describe('prompt chunks', () => {
  it('give the same outputs as one run of all prompts', async () => {
    const decoderFile = path.join(FIXTURES, 'sam1-tiny', 'onnx', 'prompt_encoder_mask_decoder.onnx');
    const { spec, decoder } = await fixtureSpec(decoderFile, path.join(FIXTURES, 'sam1-tiny', 'onnx', 'vision_encoder.onnx'), 'hf-sam');
    const r = optimiseDecoder(await readFile(decoderFile), spec);
    if ('skipped' in r) throw new Error(r.skipped);
    const make = async (chunk: number): Promise<SplitDecoder> =>
      new SplitDecoder(
        decoder.inputNames,
        await ort.InferenceSession.create(r.prefix as Uint8Array),
        await ort.InferenceSession.create(r.main),
        r,
        spec,
        RUNTIME,
        chunk,
      );
    const whole = await make(100);
    const chunked = await make(2);
    const image: Feeds = {
      image_embeddings: new ort.Tensor('float32', seededFloats(256 * 4096, 8), [1, 256, 64, 64]),
      image_positional_embeddings: new ort.Tensor('float32', new Float32Array(256 * 4096), [1, 256, 64, 64]),
    };
    const p = 5;
    const prompt: Feeds = {
      input_points: new ort.Tensor('float32', seededFloats(2 * p, 9, 500).map((v) => v + 500), [1, p, 1, 2]),
      input_labels: new ort.Tensor('int64', new BigInt64Array(p).fill(1n), [1, p, 1]),
    };
    const a = await decode(whole, image, prompt, ['iou_scores', 'pred_masks']);
    const b = await decode(chunked, image, prompt, ['iou_scores', 'pred_masks']);
    expect(b.pred_masks.length).toBe(p * 3 * 256 * 256);
    expect(maxDiff(a.pred_masks, b.pred_masks)).toBe(0);
    expect(maxDiff(a.iou_scores, b.iou_scores)).toBe(0);
    await whole.release();
    await chunked.release();
    await decoder.release();
  });
});
