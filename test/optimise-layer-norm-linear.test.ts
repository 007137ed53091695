/**
 * The layer-norm-linear pass (src/model/optimise/layer-norm-linear.ts) on small graphs with SAM's pattern: a product
 * by a constant matrix of LN(LN(image + low-rank + bias) + low-rank + bias). Results are compared with the original
 * graph through ONNX Runtime at two prompt counts; graphs without the pattern are left alone.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { FLOAT, GraphBuilder, float, int } from '../fixtures/lib/onnx-builder.js';
import { OnnxGraph } from '../src/model/optimise/graph.js';
import { optimiseDecoder, type DecoderSpec } from '../src/model/optimise/index.js';
import { maxDiff, runGraph as run, runOptimised, seededNumbers, type Feeds } from './helpers/graph-runs.js';

const tensor = (dims: number[], seed: number, scale = 1, offset = 0): ort.Tensor =>
  new ort.Tensor('float32', Float32Array.from(seededNumbers(dims.reduce((a, b) => a * b, 1), seed), (v) => v * scale + offset), dims);

const N = 64;
const C = 128;
const R = 6;

/**
 * keys0 = emb + e (image side); keys1 = LN(keys0 + a1·m1 + b1); keys2 = LN(keys1 + a2·m2 + b2) (an output too);
 * u = keys2·Wu + bu; v = reshape(keys2, [-1, C])·Wv. `extra` adds a full per-prompt tensor x to keys1's input
 * (a term of no cheap kind); `rank` is the inner dim of the attention-like products.
 */
function build(opts: { extra?: boolean; rank?: number } = {}): Uint8Array {
  const r = opts.rank ?? R;
  const g = new GraphBuilder('ln-linear', 'optimiser test: linear map of a LayerNorm of cheap terms');
  const emb = g.input('emb', FLOAT, [1, N, C]);
  const a1 = g.input('a1', FLOAT, ['P', N, r]);
  const m1 = g.input('m1', FLOAT, ['P', r, C]);
  const a2 = g.input('a2', FLOAT, ['P', N, r]);
  const m2 = g.input('m2', FLOAT, ['P', r, C]);
  const vec = (seed: number, scale = 1, offset = 0): string => g.floats(seededNumbers(C, seed).map((v) => v * scale + offset), [C]);
  const ln = (x: string, seed: number): string =>
    g.op('LayerNormalization', [x, vec(seed, 0.5, 1), vec(seed + 1, 0.2)], { axis: int(-1), epsilon: float(1e-5) });
  const keys0 = g.op('Add', [emb, vec(1)]);
  let y1 = g.op('Add', [keys0, g.op('Add', [g.op('MatMul', [a1, m1]), vec(2)])]);
  if (opts.extra) y1 = g.op('Add', [y1, g.input('x', FLOAT, ['P', N, C])]);
  const keys1 = ln(y1, 3);
  const keys2 = g.op('LayerNormalization', [g.op('Add', [keys1, g.op('Add', [vec(5), g.op('MatMul', [a2, m2])])]), vec(6, 0.5, 1), vec(7, 0.2)], { axis: int(-1), epsilon: float(1e-5) }, 'k');
  g.op('Add', [g.op('MatMul', [keys2, g.floats(seededNumbers(C * C, 8), [C, C])]), g.floats(seededNumbers(C, 9), [C])], {}, 'u');
  g.op('MatMul', [g.op('Reshape', [keys2, g.int64s([-1, C])]), g.floats(seededNumbers(C * 96, 10), [C, 96])], {}, 'v');
  g.output('k', FLOAT, ['P', N, C]);
  g.output('u', FLOAT, ['P', N, C]);
  g.output('v', FLOAT, ['PN', 96]);
  return g.toBytes();
}

function specOf(opts: { extra?: boolean; rank?: number } = {}): DecoderSpec {
  const r = opts.rank ?? R;
  const inputs: Record<string, (number | 'P')[]> = { emb: [1, N, C], a1: ['P', N, r], m1: ['P', r, C], a2: ['P', N, r], m2: ['P', r, C] };
  if (opts.extra) inputs.x = ['P', N, C];
  return { inputs, imageInputs: ['emb'], outputs: ['k', 'u', 'v'] };
}

/** Softmax-like attention rows (positive, each row summing to 1) and values with a mean well away from 0. */
function feedsAt(p: number, opts: { extra?: boolean; rank?: number } = {}): Feeds {
  const r = opts.rank ?? R;
  const rows = (seed: number): ort.Tensor => {
    const t = tensor([p, N, r], seed, 0.5, 0.5);
    const d = t.data as Float32Array;
    for (let i = 0; i < p * N; i++) {
      let s = 0;
      for (let j = 0; j < r; j++) s += d[i * r + j];
      for (let j = 0; j < r; j++) d[i * r + j] /= s;
    }
    return t;
  };
  const feeds: Feeds = { emb: tensor([1, N, C], 11, 2, 0.5), a1: rows(20 + p), m1: tensor([p, r, C], 30 + p, 3), a2: rows(40 + p), m2: tensor([p, r, C], 50 + p, 3) };
  if (opts.extra) feeds.x = tensor([p, N, C], 60 + p);
  return feeds;
}

/** Products by a constant 2-D matrix of `rows` × `cols` in a graph, by what they multiply (a graph input or not). */
function products(bytes: Uint8Array | undefined, rows: number, cols: number, ofInputs = false): number {
  if (!bytes) return 0;
  const g = OnnxGraph.fromBytes(bytes);
  const inputs = new Set(g.inputs.map((v) => v.name));
  return g.nodes.filter(
    (n) => ['MatMul', 'Gemm'].includes(n.opType) && inputs.has(n.inputs[0]) === ofInputs && n.inputs.some((i) => g.inits.get(i)?.dims?.map(Number).join() === `${rows},${cols}`),
  ).length;
}

describe('linear map of a LayerNorm of cheap terms', () => {
  it('splits both products over the terms, moves the image-side products to the image side, with the same outputs', async () => {
    const bytes = build();
    const spec = specOf();
    const r = optimiseDecoder(bytes, spec);
    if ('skipped' in r) throw new Error(r.skipped);
    expect(r.passes).toContain('linear map of LayerNorm split over its terms: 2 (4 image-side nodes moved to the image side)');
    // No [N, C] × [C, C'] product per prompt is left: only the [r, C] rows m1, m2 are multiplied by the weights
    // (each product by its own W_γ), and the image side computes keys0·W_γ once per crop (keys0 is handed over).
    expect(products(r.main, C, C) + products(r.main, C, 96)).toBe(0);
    expect(products(r.main, C, C, true) + products(r.main, C, 96, true)).toBe(4);
    expect(products(r.prefix, C, C) + products(r.prefix, C, 96)).toBe(2);
    const main = OnnxGraph.fromBytes(r.main);
    const norms = main.nodes.filter((n) => n.opType === 'LayerNormalization');
    expect(norms.map((n) => n.outputs.filter(Boolean).length)).toEqual([3, 3]);
    // The low-rank product of each: [P, N, 2·6 + 2 means + 2 scales] × [P, 16, C'].
    const inner = main.nodes.filter((n) => n.opType === 'Concat' && n.inputs.length === 6).length;
    expect(inner).toBe(2);
    for (const p of [1, 3]) {
      const feeds = feedsAt(p);
      const want = await run(bytes, feeds, spec.outputs);
      const got = await runOptimised(r, feeds, spec.outputs);
      expect(maxDiff(want.k, got.k), `k at P=${p}`).toBe(0);
      expect(maxDiff(want.u, got.u), `u at P=${p}`).toBeLessThanOrEqual(2e-5);
      expect(maxDiff(want.v, got.v), `v at P=${p}`).toBeLessThanOrEqual(2e-5);
      // Different prompts give different products (the comparison is not between constants).
      if (p === 3) expect(maxDiff(want.u.subarray(0, N * C), want.u.subarray(2 * N * C))).toBeGreaterThan(0.1);
    }
  });

  it('gives the same outputs without the pass', async () => {
    const bytes = build();
    const r = optimiseDecoder(bytes, specOf(), ['layer-norm-linear']);
    if ('skipped' in r) throw new Error(r.skipped);
    expect(r.passes.some((p) => p.startsWith('linear map'))).toBe(false);
    expect(products(r.main, C, C) + products(r.main, C, 96)).toBe(2);
  });

  it('leaves the products alone when a term is a full per-prompt tensor', () => {
    const r = optimiseDecoder(build({ extra: true }), specOf({ extra: true }));
    if ('skipped' in r) throw new Error(r.skipped);
    expect(r.passes.some((p) => p.startsWith('linear map'))).toBe(false);
    expect(products(r.main, C, C) + products(r.main, C, 96)).toBe(2);
  });

  it('leaves the products alone when the low-rank terms are not cheap enough', () => {
    const r = optimiseDecoder(build({ rank: 48 }), specOf({ rank: 48 }));
    if ('skipped' in r) throw new Error(r.skipped);
    expect(r.passes.some((p) => p.startsWith('linear map'))).toBe(false);
    expect(products(r.main, C, C) + products(r.main, C, 96)).toBe(2);
  });
});
