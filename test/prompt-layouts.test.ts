/**
 * Box prompts in every layout: the tensors each adapter feeds its decoder for a box (Hugging Face SAM 1: the corners
 * as points with labels 2 and 3; Hugging Face SAM 2: `input_boxes` and the padding point; the reference export and
 * samexporter: the corners with labels 2 and 3, no padding point), mapped like prompt points; box masks end to end
 * through the single-decoder exports with prompt-aware models (fixtures/lib/box-echo.ts); and the decoder optimiser's
 * box specialisation and probe check.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boxEchoModels } from '../fixtures/lib/box-echo.js';
import { writeModelFolder } from '../fixtures/lib/model-folder.js';
import type { RgbImage } from '../src/base/types.js';
import { parsePreprocessorConfig } from '../src/image/preprocess.js';
import { createDecoder, PlainDecoder, probeDifference, SplitDecoder, type Decoder } from '../src/model/decoder.js';
import type { FeedSpec } from '../src/model/decoder-spec.js';
import { HF_SAM } from '../src/model/layouts/hugging-face.js';
import { detectLayout } from '../src/model/load.js';
import { intAttr, OnnxGraph } from '../src/model/optimise/graph.js';
import { optimiseDecoder, type OptimisedDecoder } from '../src/model/optimise/index.js';
import type { Feeds } from '../src/model/runtime.js';
import { loadModel } from '../src/node/model-folder.js';
import { nodeRuntime } from '../src/node/session.js';
import { BoxSegmenter } from '../src/prompt/box-segmenter.js';

const ROOT = path.resolve(new URL('..', import.meta.url).pathname);
const FIXTURES = path.join(ROOT, 'fixtures', 'models');
const VITB_DECODER = path.resolve(ROOT, '../shared/perf/sam-vit-b-random-decoder/prompt_encoder_mask_decoder.onnx');
const RUNTIME = nodeRuntime({ threads: 1 });

/** A 320×240 image: SAM 1 scales it by 3.2 (to 1024×768), SAM 2 stretches it to 1024×1024. */
const IMAGE: RgbImage = { data: new Uint8Array(320 * 240 * 3).fill(90), width: 320, height: 240 };
/** Two boxes, x0, y0, x1, y1 in image pixels. */
const BOXES = Float64Array.of(40, 30, 160, 110, 0.5, 10.25, 33.8, 15.35);

/** The exported graph, recording every feed it is run with. */
class RecordingDecoder extends PlainDecoder {
  readonly runs: Feeds[] = [];
  override run(feeds: Feeds, outputs: readonly string[]): Promise<Feeds> {
    this.runs.push(feeds);
    return super.run(feeds, outputs);
  }
}

/** A fixture folder's adapter over a recording decoder (the layout's own bind and create, as loadModel does). */
async function recordingAdapter(name: string, encoderRel: string, decoderRel: string) {
  const dir = path.join(FIXTURES, name);
  const encoderFile = path.join(dir, encoderRel);
  const decoderFile = path.join(dir, decoderRel);
  const encoder = await RUNTIME.createSession(encoderFile, encoderFile);
  const decoder = await RUNTIME.createSession(decoderFile, decoderFile);
  const pre = parsePreprocessorConfig(JSON.parse(readFileSync(path.join(dir, 'preprocessor_config.json'), 'utf8')), 'preprocessor_config.json');
  const layout = detectLayout(decoderFile, decoder);
  const bound = layout.bind({ encoder, decoder, encoderFile, decoderFile }, pre);
  const recording = new RecordingDecoder(decoder);
  return { adapter: bound.create(recording, RUNTIME), recording, layout: layout.name };
}

/** A feed's element type, dims and values. */
function tensor(t: Tensor): { type: string; dims: number[]; data: number[] } {
  const data = t.data as ArrayLike<number | bigint>;
  return { type: t.type, dims: [...t.dims], data: Array.from(data, (v) => Number(v)) };
}

const f32 = Math.fround;
/** SAM 1: x · new_w / w on the ResizeLongestSide size (1024 × 768 here). */
const sam1 = (v: number, axis: 0 | 1): number => f32(v * (axis === 0 ? 1024 / 320 : 768 / 240));
/** SAM 2: x / w · 1024 in float32. */
const sam2 = (v: number, axis: 0 | 1): number => f32(f32(f32(v) / (axis === 0 ? 320 : 240)) * 1024);
const corners = (map: (v: number, axis: 0 | 1) => number): number[] => Array.from(BOXES, (v, i) => map(v, (i % 2) as 0 | 1));

describe('the feeds of a box prompt in every layout', () => {
  it('hf-sam: the corners as two points with labels 2 and 3 (int64), no box input', async () => {
    const { adapter, recording, layout } = await recordingAdapter('sam1-tiny', 'onnx/vision_encoder.onnx', 'onnx/prompt_encoder_mask_decoder.onnx');
    expect(layout).toBe('hf-sam');
    const crop = await adapter.encode(IMAGE);
    const out = await adapter.decodeBoxes?.(crop, BOXES, 2);
    expect([out?.count, out?.masksPerPrompt, out?.logits.length]).toEqual([2, 3, 2 * 3 * 65536]);
    const feeds = recording.runs[0];
    expect(Object.keys(feeds).sort()).toEqual(['image_embeddings', 'image_positional_embeddings', 'input_labels', 'input_points']);
    expect(tensor(feeds.input_points)).toEqual({ type: 'float32', dims: [1, 2, 2, 2], data: corners(sam1) });
    expect(tensor(feeds.input_labels)).toEqual({ type: 'int64', dims: [1, 2, 2], data: [2, 3, 2, 3] });
    // Point prompts as before: one positive point each.
    await adapter.decode(crop, Float64Array.of(100, 50), 1);
    expect(tensor(recording.runs[1].input_labels)).toEqual({ type: 'int64', dims: [1, 1, 1], data: [1] });
    expect(tensor(recording.runs[1].input_points).data).toEqual([sam1(100, 0), sam1(50, 1)]);
    await adapter.release();
  });

  it('hf-sam2: input_boxes [1, P, 4] and the padding point (0, 0) with label −1 per box', async () => {
    const { adapter, recording, layout } = await recordingAdapter('sam2-tiny', 'onnx/vision_encoder.onnx', 'onnx/prompt_encoder_mask_decoder.onnx');
    expect(layout).toBe('hf-sam2');
    const crop = await adapter.encode(IMAGE);
    const out = await adapter.decodeBoxes?.(crop, BOXES, 2);
    expect([out?.count, out?.masksPerPrompt]).toEqual([2, 3]);
    const feeds = recording.runs[0];
    expect(tensor(feeds.input_boxes)).toEqual({ type: 'float32', dims: [1, 2, 4], data: corners(sam2) });
    expect(tensor(feeds.input_points)).toEqual({ type: 'float32', dims: [1, 2, 1, 2], data: [0, 0, 0, 0] });
    expect(tensor(feeds.input_labels)).toEqual({ type: 'int64', dims: [1, 2, 1], data: [-1, -1] });
    await adapter.decode(crop, Float64Array.of(100, 50), 1);
    expect(tensor(recording.runs[1].input_boxes)).toEqual({ type: 'float32', dims: [1, 0, 4], data: [] });
    expect(tensor(recording.runs[1].input_labels).data).toEqual([1]);
    await adapter.release();
  });

  it('reference-export: one call per box with its corners, labels 2 and 3, no padding point', async () => {
    const { adapter, recording, layout } = await recordingAdapter('sam1-reference-export', 'onnx/vision_encoder.onnx', 'onnx/decoder.onnx');
    expect(layout).toBe('reference-export');
    const crop = await adapter.encode(IMAGE);
    const out = await adapter.decodeBoxes?.(crop, BOXES, 2);
    expect([out?.count, out?.masksPerPrompt]).toEqual([2, 3]);
    expect(recording.runs).toHaveLength(2);
    const all = corners(sam1);
    recording.runs.forEach((feeds, i) => {
      expect(tensor(feeds.point_coords)).toEqual({ type: 'float32', dims: [1, 2, 2], data: all.slice(4 * i, 4 * i + 4) });
      expect(tensor(feeds.point_labels)).toEqual({ type: 'float32', dims: [1, 2], data: [2, 3] });
      expect(tensor(feeds.has_mask_input).data).toEqual([0]);
      expect(tensor(feeds.orig_im_size).data).toEqual([240, 320]);
    });
    // A point prompt keeps its padding point.
    await adapter.decode(crop, Float64Array.of(100, 50), 1);
    expect(tensor(recording.runs[2].point_coords).data).toEqual([sam1(100, 0), sam1(50, 1), 0, 0]);
    expect(tensor(recording.runs[2].point_labels).data).toEqual([1, -1]);
    await expect(adapter.decodeBoxes?.(crop, BOXES, 2, { maskInput: new Float32Array(2 * 65536) })).rejects.toThrow(/box prompts take no mask input/);
    await adapter.release();
  });

  it('samexporter-sam2: one row per box with its corners, labels 2 and 3 (the export adds the padding point)', async () => {
    const { adapter, recording, layout } = await recordingAdapter('sam2-samexporter', 'onnx/encoder.onnx', 'onnx/decoder.onnx');
    expect(layout).toBe('samexporter-sam2');
    const crop = await adapter.encode(IMAGE);
    const out = await adapter.decodeBoxes?.(crop, BOXES, 2);
    expect([out?.count, out?.masksPerPrompt]).toEqual([2, 3]);
    const feeds = recording.runs[0];
    expect(tensor(feeds.point_coords)).toEqual({ type: 'float32', dims: [2, 2, 2], data: corners(sam2) });
    expect(tensor(feeds.point_labels)).toEqual({ type: 'float32', dims: [2, 2], data: [2, 3, 2, 3] });
    expect(tensor(feeds.has_mask_input).data).toEqual([0, 0]);
    expect(feeds.mask_input.dims).toEqual([2, 1, 256, 256]);
    await adapter.decode(crop, Float64Array.of(100, 50), 1);
    expect(tensor(recording.runs[1].point_labels)).toEqual({ type: 'float32', dims: [1, 1], data: [1] });
    await adapter.release();
  });
});

describe('box masks end to end through the single-decoder exports (prompt-aware box-echo models)', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'sam-amg-box-echo-'));
    for (const folder of boxEchoModels()) await writeModelFolder(tmp, folder);
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  for (const [name, layout] of [
    ['box-echo-reference-export', 'reference-export'],
    ['box-echo-samexporter', 'samexporter-sam2'],
  ] as const) {
    it(`${layout}: the mask of a box is the box; a point prompt (label 1) gives no mask`, async () => {
      const seg = await BoxSegmenter.fromModel(loadModel(path.join(tmp, name), { threads: 1 }), { boxesPerBatch: 2 });
      try {
        expect(seg.adapter.layout).toBe(layout);
        const masks = await seg.segment(IMAGE, [
          [40, 30, 120, 80],
          [300, 200, 40, 60],
          [10, 10, 0, 30],
        ]);
        expect(masks.map((m) => [m.area, ...m.bbox])).toEqual([
          [9600, 40, 30, 119, 79],
          // Reaching outside the image: the part inside.
          [800, 300, 200, 19, 39],
          // Zero width: prompted as given, nothing above the threshold.
          [0, 0, 0, 0, 0],
        ]);
        expect(masks.map((m) => m.predictedIou)).toEqual([f32(0.95), f32(0.95), f32(0.95)]);
        const crop = await seg.adapter.encode(IMAGE);
        const points = await seg.adapter.decode(crop, Float64Array.of(100, 70), 1);
        expect(points.logits.subarray(0, 65536).every((v) => v < 0)).toBe(true);
      } finally {
        await seg.release();
      }
    });
  }
});

/** The real optimiser, then `delta` added to `output` wherever a label 2 is fed (a rewrite wrong for boxes only). */
function wrongForBoxes(output: string, labels: string, delta: number, only?: (spec: FeedSpec) => boolean) {
  return (bytes: Uint8Array, spec: FeedSpec): OptimisedDecoder | { skipped: string } => {
    const r = optimiseDecoder(bytes, spec);
    if ('skipped' in r || (only && !only(spec))) return r;
    const g = OnnxGraph.fromBytes(r.main);
    const last = g.nodes.find((n) => n.outputs.includes(output));
    if (!last) throw new Error(`no ${output} producer`);
    last.outputs = last.outputs.map((o) => (o === output ? 'unshifted' : o));
    // The fixtures ignore their labels, so the optimised graph may have dropped the input: read it again.
    if (!g.inputs.some((v) => v.name === labels)) g.inputs.push({ name: labels, elemType: 1, dims: (spec.inputs[labels] as number[]).slice() });
    // Explicit names: the re-read graph's fresh names would restart and collide with the optimiser's.
    const first = g.nodes.length;
    const f = g.add('Cast', [labels], [intAttr('to', 1)], ['test::labels']);
    const two = g.add('Cast', [g.add('Equal', [f, g.float32(Float32Array.of(2), [])], [], ['test::is2'])], [intAttr('to', 1)], ['test::is2f']);
    const any = g.add('ReduceMax', [two], [intAttr('keepdims', 0)], ['test::any2']);
    g.add('Add', ['unshifted', g.add('Mul', [any, g.float32(Float32Array.of(delta), [])], [], ['test::shift'])], [], [output]);
    g.nodes.slice(first).forEach((n, i) => (n.name = `test::node_${i}`));
    return { ...r, main: g.toBytes() };
  };
}

async function decoderOf(dir: string, encoderRel: string, decoderRel: string): Promise<{ spec: FeedSpec; decoder: InferenceSession; file: string }> {
  const decoderFile = path.join(FIXTURES, dir, decoderRel);
  const encoderFile = path.join(FIXTURES, dir, encoderRel);
  const decoder = await RUNTIME.createSession(decoderFile, decoderFile);
  const encoder = await RUNTIME.createSession(encoderFile, encoderFile);
  const pre = parsePreprocessorConfig(JSON.parse(readFileSync(path.join(FIXTURES, dir, 'preprocessor_config.json'), 'utf8')), 'preprocessor_config.json');
  const spec = detectLayout(decoderFile, decoder).bind({ encoder, decoder, encoderFile, decoderFile }, pre).feeds;
  await encoder.release();
  if (typeof spec === 'string') throw new Error(spec);
  return { spec, decoder, file: decoderFile };
}

describe('the decoder optimiser and box prompts', () => {
  it('reference-export (same shapes for points and boxes): a graph wrong for labels 2 and 3 fails the load-time probe, the original runs', async () => {
    const { spec, decoder, file } = await decoderOf('sam1-reference-export', 'onnx/vision_encoder.onnx', 'onnx/decoder.onnx');
    expect(spec.boxes && typeof spec.boxes !== 'string' ? spec.boxes.probe.point_labels : undefined).toBe('box-labels');
    const warnings: string[] = [];
    const source = { file, bytes: () => readFile(file), original: decoder };
    const d = await createDecoder(source, spec, RUNTIME, { onWarning: (w) => warnings.push(w) }, wrongForBoxes('low_res_masks', 'point_labels', 1e-3));
    expect(d).toBeInstanceOf(PlainDecoder);
    expect(d.notOptimised).toBe('probe check failed on low_res_masks with box prompts');
    expect(warnings).toEqual([
      `${file}: the optimised decoder graph differs from the original with box prompts (max |Δ| 1.00e-3 on low_res_masks, more than 0.0001); using the original graph`,
    ]);
    expect(await d.forBoxes()).toBe(d);
    await d.release();
  });

  it('hf-sam (boxes feed other shapes): the box specialisation is made on first use; when wrong for boxes, box prompts run the original graph', async () => {
    const { spec, decoder, file } = await decoderOf('sam1-tiny', 'onnx/vision_encoder.onnx', 'onnx/prompt_encoder_mask_decoder.onnx');
    const boxSpec = spec.boxes as FeedSpec;
    expect(boxSpec.inputs.input_points).toEqual([1, 'P', 2, 2]);
    const isBoxSpec = (s: FeedSpec): boolean => s.inputs.input_points[2] === 2;
    const warnings: string[] = [];
    const source = { file, bytes: () => readFile(file), original: decoder };
    const d = await createDecoder(source, spec, RUNTIME, { onWarning: (w) => warnings.push(w) }, wrongForBoxes('pred_masks', 'input_labels', 1e-3, isBoxSpec));
    expect(d).toBeInstanceOf(SplitDecoder);
    expect(warnings).toEqual([]);
    const boxes = await d.forBoxes();
    expect(boxes).toBeInstanceOf(PlainDecoder);
    expect(boxes.notOptimised).toBe('probe check failed on pred_masks');
    expect(warnings).toEqual([
      `${file}: the optimised decoder graph for box prompts differs from the original (max |Δ| 1.00e-3 on pred_masks, more than 0.0001); using the original graph`,
    ]);
    // Made once, released with the point decoder.
    expect(await d.forBoxes()).toBe(boxes);
    await d.release();
  });

  it('hf-sam: a sound box specialisation is a graph of its own, checked and used', async () => {
    const { spec, decoder, file } = await decoderOf('sam1-tiny', 'onnx/vision_encoder.onnx', 'onnx/prompt_encoder_mask_decoder.onnx');
    const warnings: string[] = [];
    const d = await createDecoder({ file, bytes: () => readFile(file), original: decoder }, spec, RUNTIME, { onWarning: (w) => warnings.push(w) });
    const boxes = await d.forBoxes();
    expect(boxes).toBeInstanceOf(SplitDecoder);
    expect(boxes).not.toBe(d);
    expect(boxes.passes.join('\n')).toMatch(/image side/);
    expect(boxes.session).not.toBe(d.session);
    expect(warnings).toEqual([]);
    await d.release();
  });
});

describe.skipIf(!existsSync(VITB_DECODER))('the real-architecture ViT-B decoder (../shared/perf) with box prompts', () => {
  it('optimised for boxes, it gives the original graph\'s masks and IoUs for corners with labels 2 and 3, and the labels matter', async () => {
    const encoderFile = path.join(FIXTURES, 'sam1-tiny', 'onnx', 'vision_encoder.onnx');
    const encoder = await RUNTIME.createSession(encoderFile, encoderFile);
    const original = await RUNTIME.createSession(VITB_DECODER, VITB_DECODER);
    const pre = parsePreprocessorConfig({ size: { longest_edge: 1024 }, do_pad: true }, 'test transform');
    const spec = HF_SAM.bind({ encoder, decoder: original, encoderFile, decoderFile: VITB_DECODER }, pre).feeds;
    await encoder.release();
    if (typeof spec === 'string' || !spec.boxes || typeof spec.boxes === 'string') throw new Error('no box spec');
    const boxSpec = spec.boxes;
    const r = optimiseDecoder(await readFile(VITB_DECODER), boxSpec);
    if ('skipped' in r) throw new Error(r.skipped);
    expect(r.passes.join('\n')).toMatch(/image side: \d+ nodes once per crop/);
    const split = new SplitDecoder(
      original.inputNames,
      await RUNTIME.createSession(r.prefix as Uint8Array, 'prefix'),
      await RUNTIME.createSession(r.main, 'main'),
      r,
      boxSpec,
      RUNTIME,
    );
    const plain: Decoder = new PlainDecoder(original);
    const types = new Map(original.inputMetadata.map((m) => [m.name, m.isTensor ? m.type : 'float32']));
    for (const count of [1, 3]) expect(await probeDifference(plain, split, boxSpec, types, RUNTIME, count, 0)).toBeUndefined();
    // The same corners read as two positive points give other masks: the probe exercises the box labels.
    const asPoints = { ...boxSpec, probe: { ...boxSpec.probe, input_labels: 'labels' as const } };
    const boxRun = await runProbe(plain, boxSpec, types);
    const pointRun = await runProbe(plain, asPoints, types);
    let delta = 0;
    for (let i = 0; i < boxRun.length; i++) delta = Math.max(delta, Math.abs(boxRun[i] - pointRun[i]));
    expect(delta).toBeGreaterThan(1e-2);
    await split.release();
    await plain.release();
  }, 120_000);
});

/** pred_masks of one probe batch (3 prompts) through `d`. */
async function runProbe(d: Decoder, spec: FeedSpec, types: ReadonlyMap<string, string>): Promise<Float32Array> {
  let out: Float32Array | undefined;
  const capture: Decoder = {
    inputNames: d.inputNames,
    session: d.session,
    passes: d.passes,
    prepare: (image) => d.prepare(image),
    run: async (feeds, outputs) => {
      const r = await d.run(feeds, outputs);
      out = (r.pred_masks.data as Float32Array).slice();
      return r;
    },
    forBoxes: () => d.forBoxes(),
    release: async () => undefined,
  };
  await probeDifference(capture, capture, spec, types, RUNTIME, 3, 0);
  if (!out) throw new Error('no run');
  return out;
}
