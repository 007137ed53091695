/**
 * The image encoder optimiser on a cut-down SAM ViT built with the fixtures' builder: the same operator patterns as
 * the exported ViT-B (dynamic-batch shape arithmetic, a zero Pad whose amounts come from the input's shape, window
 * partition and unpartition, Q/K/V projection and head split, decomposed relative-position attention with Einsum,
 * LayerNorm, the erf GELU, one windowed and one global block), at 8×8 tokens of 16 channels. Every result is
 * compared with the original graph through ONNX Runtime; the probe check at load is tested with a broken optimiser.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { FLOAT, GraphBuilder, int, ints, float, str } from '../fixtures/lib/onnx-builder.js';
import { createEncoder, EMBEDDING_TOLERANCE } from '../src/model/encoder.js';
import { OnnxGraph } from '../src/model/optimise/graph.js';
import { inferGraph } from '../src/model/optimise/infer.js';
import { optimiseEncoder, type EncoderPassName, type EncoderSpec } from '../src/model/optimise/encoder.js';
import { num } from '../src/model/optimise/sym.js';
import { nodeRuntime } from '../src/node/session.js';
import { maxDiff, seededNumbers } from './helpers/graph-runs.js';

const C = 16;
const HEADS = 2;
const DEPTH = C / HEADS;
const SIDE = 8;
const WINDOW = 3;

/** A cut-down SAM ViT image encoder: patch embedding, a windowed block, a global block, channels-first output. */
function miniVit(): Uint8Array {
  const g = new GraphBuilder('mini-vit', 'optimiser test: a cut-down SAM ViT image encoder');
  let seed = 1;
  const w = (dims: number[], scale = 0.3): string => g.floats(seededNumbers(dims.reduce((a, b) => a * b, 1), seed++).map((v) => v * scale), dims);
  const scalar = (v: number): string => g.int64s([v], []);
  const x = g.input('pixel_values', FLOAT, ['batch_size', 3, 32, 32]);
  const patches = g.op('Conv', [x, w([C, 3, 4, 4]), w([C])], { kernel_shape: ints([4, 4]), strides: ints([4, 4]) });
  let t = g.op('Add', [g.op('Transpose', [patches], { perm: ints([0, 2, 3, 1]) }), w([1, SIDE, SIDE, C])]);
  // The batch size as the export reads it: Shape → Gather → Unsqueeze, for Reshape targets.
  const batch = (of: string): string => g.op('Unsqueeze', [g.op('Gather', [g.op('Shape', [of]), scalar(0)], { axis: int(0) }), g.int64s([0])]);
  const target = (of: string, rest: number[]): string => g.op('Concat', [batch(of), g.int64s(rest)], { axis: int(0) });
  const layerNorm = (v: string): string => g.op('LayerNormalization', [v, w([C], 1), w([C], 0.1)], { axis: int(-1), epsilon: float(1e-6) });

  const attention = (v: string, side: number): string => {
    const tokens = side * side;
    const qkv = g.op('Add', [w([3 * C]), g.op('MatMul', [v, w([C, 3 * C])])]);
    const split5 = g.op('Reshape', [qkv, g.int64s([-1, tokens, 3, HEADS, DEPTH])]);
    const heads = g.op('Reshape', [g.op('Transpose', [split5], { perm: ints([2, 0, 3, 1, 4]) }), g.int64s([3, -1, tokens, DEPTH])]);
    const [q, k, vv] = g.opN('Split', [heads, g.int64s([1, 1, 1])], 3, { axis: int(0) }).map((s) => g.op('Squeeze', [s, g.int64s([0])]));
    let att = g.op('MatMul', [g.op('Mul', [q, g.floats([DEPTH ** -0.5], [])]), g.op('Transpose', [k], { perm: ints([0, 2, 1]) })]);
    // Decomposed relative positions: tables gathered by (query − key) offsets, one Einsum per axis.
    const offsets = Array.from({ length: side * side }, (_, i) => Math.floor(i / side) - (i % side) + side - 1);
    const rh = g.op('Gather', [w([2 * side - 1, DEPTH]), g.int64s(offsets, [side, side])], { axis: int(0) });
    const rw = g.op('Gather', [w([2 * side - 1, DEPTH]), g.int64s(offsets, [side, side])], { axis: int(0) });
    const rq = g.op('Reshape', [q, g.int64s([-1, side, side, DEPTH])]);
    const relH = g.op('Einsum', [rq, rh], { equation: str('bhwc,hkc->bhwk') });
    const relW = g.op('Einsum', [rq, rw], { equation: str('bhwc,wkc->bhwk') });
    let att5 = g.op('Reshape', [att, g.int64s([-1, side, side, side, side])]);
    att5 = g.op('Add', [att5, g.op('Unsqueeze', [relH, g.int64s([4])])]);
    att5 = g.op('Add', [att5, g.op('Unsqueeze', [relW, g.int64s([3])])]);
    att = g.op('Softmax', [g.op('Reshape', [att5, g.int64s([-1, tokens, tokens])])], { axis: int(-1) });
    const o = g.op('MatMul', [att, vv]);
    const merged = g.op('Reshape', [g.op('Transpose', [g.op('Reshape', [o, g.int64s([-1, HEADS, side, side, DEPTH])])], { perm: ints([0, 2, 3, 1, 4]) }), g.int64s([-1, side, side, C])]);
    return g.op('Add', [g.op('MatMul', [merged, w([C, C])]), w([C])]);
  };

  const block = (v: string, window: number): string => {
    let a = layerNorm(v);
    if (window > 0) {
      // Pad amounts from the input's shape, written as the exporter writes F.pad: (begin, end) pairs per axis,
      // reshaped, reversed, transposed and flattened.
      const dim = (i: number): string => g.op('Gather', [g.op('Shape', [a]), scalar(i)], { axis: int(0) });
      const pad = (d: string): string => g.op('Unsqueeze', [g.op('Mod', [g.op('Sub', [scalar(window), g.op('Mod', [d, scalar(window)])]), scalar(window)]), g.int64s([0])]);
      const flat = g.op('Concat', [g.int64s([0, 0, 0]), pad(dim(2)), g.int64s([0]), pad(dim(1)), g.int64s([0, 0])], { axis: int(0) });
      const pairs = g.op('Slice', [g.op('Reshape', [flat, g.int64s([-1, 2])]), g.int64s([-1]), g.int64s([-(2 ** 62)]), g.int64s([0]), g.int64s([-1])]);
      const pads = g.op('Reshape', [g.op('Transpose', [pairs], { perm: ints([1, 0]) }), g.int64s([-1])]);
      const padded = g.op('Pad', [a, pads]);
      const n = Math.ceil(SIDE / window);
      const grid = g.op('Reshape', [padded, target(padded, [n, window, n, window, C])]);
      a = g.op('Reshape', [g.op('Transpose', [grid], { perm: ints([0, 1, 3, 2, 4, 5]) }), g.int64s([-1, window, window, C])]);
      a = attention(a, window);
      const back = g.op('Transpose', [g.op('Reshape', [a, g.int64s([-1, n, n, window, window, C])])], { perm: ints([0, 1, 3, 2, 4, 5]) });
      const full = g.op('Reshape', [back, g.int64s([-1, n * window, n * window, C])]);
      a = g.op('Slice', [full, g.int64s([0, 0]), g.int64s([SIDE, SIDE]), g.int64s([1, 2])]);
    } else {
      a = attention(a, SIDE);
    }
    const x1 = g.op('Add', [v, a]);
    const h = g.op('Add', [w([2 * C]), g.op('MatMul', [layerNorm(x1), w([C, 2 * C])])]);
    const gelu = g.op('Mul', [g.op('Mul', [h, g.op('Add', [g.op('Erf', [g.op('Div', [h, g.floats([Math.SQRT2], [])])]), g.floats([1], [])])]), g.floats([0.5], [])]);
    return g.op('Add', [x1, g.op('Add', [w([C]), g.op('MatMul', [gelu, w([2 * C, C])])])]);
  };

  t = block(t, WINDOW);
  t = block(t, 0);
  g.op('Transpose', [t], { perm: ints([0, 3, 1, 2]) }, 'image_embeddings');
  g.output('image_embeddings', FLOAT, ['batch_size', C, SIDE, SIDE]);
  return g.toBytes();
}

const SPEC: EncoderSpec = { input: 'pixel_values', dims: [1, 3, 32, 32] };
/** Small enough thresholds that the global block's [2, 64, 64] scores (32 KB) are split into 4 blocks of 16 rows. */
const SMALL = { minBytes: 16 * 1024, blockBytes: 8 * 1024 };
/** Smaller blocks than 8 rows (the rows split as [8, 8]: 8 rows is one block row) also split the 2 heads. */
const TINY = { minBytes: 16 * 1024, blockBytes: 2 * 1024 };

const image = (): ort.Tensor => new ort.Tensor('float32', Float32Array.from(seededNumbers(3 * 32 * 32, 99).map((v) => 2 * v)), [1, 3, 32, 32]);

async function embeddings(bytes: Uint8Array): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
  try {
    return (await s.run({ pixel_values: image() })).image_embeddings.data as Float32Array;
  } finally {
    await s.release();
  }
}

function optimised(skip: EncoderPassName[] = []): { model: Uint8Array; passes: readonly string[] } {
  const r = optimiseEncoder(miniVit(), SPEC, skip, SMALL);
  if ('skipped' in r) throw new Error(r.skipped);
  return r;
}

describe('the encoder optimiser on a cut-down SAM ViT', () => {
  const original = miniVit();

  it('applies every pass and gives the same embeddings', async () => {
    const r = optimised();
    expect(r.passes).toEqual([
      expect.stringMatching(/^static shapes: \d+ → \d+ nodes$/),
      'attention in row blocks: 1 score matrix',
      'windowed projections without padding rows: 2',
      'Einsum as MatMul: 4',
      // All 8 weight products but the windowed Q/K/V one, whose bias is added after the padding.
      'MatMul + bias as Gemm: 7',
    ]);
    // Asked for the passes only, the optimiser does not write the graph.
    expect(optimiseEncoder(original, SPEC, [], SMALL, false)).toEqual({ model: new Uint8Array(0), passes: r.passes });
    const want = await embeddings(original);
    expect(maxDiff(want, await embeddings(r.model))).toBeLessThan(1e-5);
    // Each pass alone is exact too.
    const all: EncoderPassName[] = ['row-chunks', 'window-rows', 'einsum', 'matmul-bias'];
    for (const only of all) {
      const skip = all.filter((p) => p !== only);
      expect(maxDiff(want, await embeddings(optimised(skip).model))).toBeLessThan(1e-5);
    }
  });

  it('splits the global attention into row blocks and leaves the small windowed one alone', () => {
    const g = OnnxGraph.fromBytes(optimised().model);
    const info = inferGraph(g, new Map([['pixel_values', SPEC.dims.map(num)]]));
    const dims = (t: string): string | undefined => info.get(t)?.shape?.map((d) => d.c).join('×');
    // 1 windowed softmax over [18 windows × heads, 9, 9] + 4 blocks of the global one.
    const scores = g.nodes.filter((n) => n.opType === 'Softmax').map((n) => dims(n.outputs[0]));
    expect(scores.sort()).toEqual(['18×9×9', '2×16×64', '2×16×64', '2×16×64', '2×16×64']);
    const concat = g.nodes.filter((n) => n.opType === 'Concat' && n.inputs.every((i) => info.get(i)?.elem === 1));
    expect(concat.map((n) => [n.inputs.map(dims), dims(n.outputs[0])])).toEqual([[['2×16×8', '2×16×8', '2×16×8', '2×16×8'], '2×64×8']]);
  });

  it('splits the heads too when the rows cannot be split finely enough, with the same embeddings', async () => {
    const r = optimiseEncoder(miniVit(), SPEC, [], TINY);
    if ('skipped' in r) throw new Error(r.skipped);
    expect(maxDiff(await embeddings(miniVit()), await embeddings(r.model))).toBeLessThan(1e-5);
    const g = OnnxGraph.fromBytes(r.model);
    const info = inferGraph(g, new Map([['pixel_values', SPEC.dims.map(num)]]));
    const dims = (t: string): string | undefined => info.get(t)?.shape?.map((d) => d.c).join('×');
    // 8 row blocks (one row of the 8×8 grid each) × 2 heads; the blocks joined per head, then the heads.
    const scores = g.nodes.filter((n) => n.opType === 'Softmax').map((n) => dims(n.outputs[0]));
    expect(scores.filter((s) => s === '1×8×64').length).toBe(16);
    const concat = g.nodes.filter((n) => n.opType === 'Concat' && n.inputs.every((i) => info.get(i)?.elem === 1));
    expect(concat.map((n) => [n.inputs.length, dims(n.outputs[0])])).toEqual([[8, '1×64×8'], [8, '1×64×8'], [2, '2×64×8']]);
  });

  it('projects the 64 tokens of the windowed block, not the 81 rows of its padded windows', () => {
    const g = OnnxGraph.fromBytes(optimised().model);
    const info = inferGraph(g, new Map([['pixel_values', SPEC.dims.map(num)]]));
    // Every product by a weight matrix (projections, MLP) reads 64 rows: the 8×8 tokens of one image.
    const rows = g.nodes
      .filter((n) => (n.opType === 'MatMul' || n.opType === 'Gemm') && g.inits.has(n.inputs[1]))
      .map((n) => (info.get(n.inputs[0])?.shape ?? []).slice(0, -1).reduce((a, d) => a * d.c, 1));
    expect(rows).toEqual(new Array(8).fill(64));
    // The padding comes after the Q/K/V product, the crop before the output projection.
    const made = new Map(g.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
    const pad = g.nodes.find((n) => n.opType === 'Pad');
    expect(made.get(pad?.inputs[0] ?? '')?.opType).toBe('MatMul');
  });

  it('leaves an encoder alone when only shape arithmetic would change', () => {
    const g = new GraphBuilder('plain', 'optimiser test: nothing to do');
    const x = g.input('pixel_values', FLOAT, ['batch_size', 3, 32, 32]);
    const n = g.op('Gather', [g.op('Shape', [x]), g.int64s([0], [])], { axis: int(0) });
    g.op('Reshape', [x, g.op('Concat', [g.op('Unsqueeze', [n, g.int64s([0])]), g.int64s([-1])], { axis: int(0) })], {}, 'image_embeddings');
    g.output('image_embeddings', FLOAT, ['batch_size', 3072]);
    expect(optimiseEncoder(g.toBytes(), SPEC)).toEqual({ skipped: 'only shape arithmetic to fold' });
    expect(optimiseEncoder(g.toBytes(), { input: 'pixels', dims: [1, 3, 32, 32] })).toEqual({ skipped: "the graph's inputs are pixel_values, not pixels alone" });
    expect(optimiseEncoder(g.toBytes(), { input: 'pixel_values', dims: [1, 3, 64, 64] })).toEqual({ skipped: 'pixel_values is [batch_size, 3, 32, 32], not [1, 3, 64, 64]' });
  });
});

describe('the encoder probe check at load', () => {
  const runtime = nodeRuntime({ threads: 1 });
  const bytes = miniVit();
  const source = async () => ({
    file: 'mini/vision_encoder.onnx',
    bytes: async () => bytes,
    model: async () => bytes,
    original: await runtime.createSession(bytes, 'mini/vision_encoder.onnx'),
  });
  const small = (b: Uint8Array, spec: EncoderSpec, serialise = true) => optimiseEncoder(b, spec, [], SMALL, serialise);

  it('uses the optimised graph when its embeddings match', async () => {
    const warnings: string[] = [];
    const e = await createEncoder(await source(), SPEC, runtime, { onWarning: (m) => warnings.push(m) }, small);
    try {
      expect(warnings).toEqual([]);
      expect(e.passes).toContain('attention in row blocks: 1 score matrix');
      const got = (await e.session.run({ pixel_values: image() })).image_embeddings.data as Float32Array;
      expect(maxDiff(await embeddings(bytes), got)).toBeLessThan(1e-5);
    } finally {
      await e.session.release();
    }
  });

  it('warns once, naming the file and the output, and runs the original graph when the embeddings differ', async () => {
    // A rewrite that scales the embeddings by 1 + 1e-3: a difference beyond the tolerance.
    const broken = (b: Uint8Array, spec: EncoderSpec, serialise: boolean) => {
      const r = small(b, spec);
      if ('skipped' in r || !serialise) return r;
      const g = OnnxGraph.fromBytes(r.model);
      const out = g.nodes.find((n) => n.outputs[0] === 'image_embeddings') as OnnxGraph['nodes'][number];
      out.outputs[0] = 'unscaled';
      g.add('Mul', ['unscaled', g.float32(new Float32Array([1.001]), [])], [], ['image_embeddings']);
      return { model: g.toBytes(), passes: r.passes };
    };
    const warnings: string[] = [];
    const e = await createEncoder(await source(), SPEC, runtime, { onWarning: (m) => warnings.push(m) }, broken);
    try {
      expect(warnings.length).toBe(1);
      expect(warnings[0]).toMatch(/^mini\/vision_encoder\.onnx: the optimised encoder graph differs from the original \(max \|Δ\| .* on image_embeddings, more than 0\.0001\); using the original graph$/);
      expect(EMBEDDING_TOLERANCE).toBe(1e-4);
      expect(e).toMatchObject({ passes: [], notOptimised: 'probe check failed on image_embeddings' });
      const got = (await e.session.run({ pixel_values: image() })).image_embeddings.data as Float32Array;
      expect(maxDiff(await embeddings(bytes), got)).toBe(0);
    } finally {
      await e.session.release();
    }
  });

  it('runs the exported graph as it is with optimise: false', async () => {
    const s = await source();
    const e = await createEncoder(s, SPEC, runtime, { optimise: false }, small);
    expect(e).toEqual({ session: s.original, passes: [], notOptimised: 'turned off (--no-optimise)' });
    await e.session.release();
  });
});
