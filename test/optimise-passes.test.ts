/**
 * The decoder graph optimiser's passes, one small graph each (built with onnx-proto), every result compared with the
 * original graph through ONNX Runtime at several prompt counts.
 */
import * as ort from 'onnxruntime-node';
import onnx from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { FLOAT, GraphBuilder, int, ints, float, type Dim } from '../fixtures/lib/onnx-builder.js';
import { attrInts, floatValues, OnnxGraph } from '../src/model/optimise/graph.js';
import { inferGraph } from '../src/model/optimise/infer.js';
import { num } from '../src/model/optimise/sym.js';
import { fastMoves } from '../src/model/optimise/transpose-moves.js';
import { optimiseDecoder, type DecoderSpec, type OptimisedDecoder } from '../src/model/optimise/index.js';
import { maxDiff, runGraph as run, runOptimised, seededFloats, seededNumbers, type Feeds } from './helpers/graph-runs.js';

const tensor = (dims: number[], seed: number): ort.Tensor => new ort.Tensor('float32', seededFloats(dims.reduce((a, b) => a * b, 1), seed), dims);

/** Optimises, then compares every output at each prompt count; returns the optimised result. */
async function checkSame(bytes: Uint8Array, spec: DecoderSpec, feedsAt: (p: number) => Feeds, counts: number[], tol = 1e-5): Promise<OptimisedDecoder> {
  const r = optimiseDecoder(bytes, spec);
  if ('skipped' in r) throw new Error(`not optimised: ${r.skipped}`);
  for (const p of counts) {
    const feeds = feedsAt(p);
    const want = await run(bytes, feeds, spec.outputs);
    const got = await runOptimised(r, feeds, spec.outputs);
    for (const o of spec.outputs) expect(maxDiff(want[o], got[o]), `${o} at P=${p}`).toBeLessThanOrEqual(tol);
  }
  return r;
}

const ops = (bytes: Uint8Array | undefined): string[] => (bytes ? OnnxGraph.fromBytes(bytes).nodes.map((n) => n.opType) : []);
const count = (list: string[], op: string): number => list.filter((o) => o === op).length;

/** The runtime prompt count P of `x` (axis `axis`) as a 1-element int64 vector, the way exports compute it. */
function promptCount(g: GraphBuilder, x: string, axis: number): string {
  return g.op('Unsqueeze', [g.op('Gather', [g.op('Shape', [x]), g.int64s([axis], [])], { axis: int(0) }), g.int64s([0])]);
}

describe('static shapes: shape arithmetic folded, loops unrolled', () => {
  // y = reshape(x, [P, 4]) + loop result, where the loop runs 3 times: acc ← 2·acc + i, scanning acc.
  const T = onnx.onnx.TensorProto.DataType;
  const vi = (name: string, elemType: number, dims: Dim[]): onnx.onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  });
  const node = (opType: string, input: string[], output: string, attribute: onnx.onnx.IAttributeProto[] = []): onnx.onnx.INodeProto => ({
    name: output,
    opType,
    input,
    output: [output],
    attribute,
  });

  function build(): Uint8Array {
    const g = new GraphBuilder('loop', 'optimiser test: Shape plumbing and a Loop with a known trip count');
    const x = g.input('x', FLOAT, [1, 'P', 4]);
    const img = g.input('img', FLOAT, [1, 4]);
    const target = g.op('Concat', [promptCount(g, x, 1), g.int64s([4])], { axis: int(0) });
    g.op('Reshape', [x, target], {}, 'rows');
    g.op('Reshape', [img, g.int64s([4])], {}, 'init');
    g.int64s([3], []);
    const model = onnx.onnx.ModelProto.decode(g.toBytes());
    const graph = model.graph as onnx.onnx.GraphProto;
    const trips = graph.initializer[graph.initializer.length - 1].name;
    const body: onnx.onnx.IGraphProto = {
      name: 'body',
      input: [vi('iter', T.INT64, []), vi('cond_in', T.BOOL, []), vi('acc_in', T.FLOAT, [4])],
      output: [vi('cond_out', T.BOOL, []), vi('acc_out', T.FLOAT, [4]), vi('scan_out', T.FLOAT, [4])],
      initializer: [{ name: 'two', dataType: T.FLOAT, dims: [], floatData: [2] }],
      node: [
        node('Cast', ['iter'], 'iter_f', [{ name: 'to', type: onnx.onnx.AttributeProto.AttributeType.INT, i: T.FLOAT }]),
        node('Mul', ['acc_in', 'two'], 'doubled'),
        node('Add', ['doubled', 'iter_f'], 'acc_out'),
        node('Identity', ['cond_in'], 'cond_out'),
        node('Identity', ['acc_in'], 'scan_out'),
      ],
    };
    graph.node.push(
      { name: 'loop', opType: 'Loop', input: [trips, '', 'init'], output: ['acc_final', 'scans'], attribute: [{ name: 'body', type: onnx.onnx.AttributeProto.AttributeType.GRAPH, g: body }] } as onnx.onnx.NodeProto,
      node('Add', ['rows', 'acc_final'], 'y') as onnx.onnx.NodeProto,
      node('ReduceSum', ['scans'], 'z', [{ name: 'keepdims', type: onnx.onnx.AttributeProto.AttributeType.INT, i: 0 }]) as onnx.onnx.NodeProto,
    );
    graph.output = [vi('y', T.FLOAT, ['P', 4]) as onnx.onnx.ValueInfoProto, vi('z', T.FLOAT, []) as onnx.onnx.ValueInfoProto];
    return onnx.onnx.ModelProto.encode(model).finish();
  }

  it('computes the same outputs with no Loop, Shape or Gather left in the per-prompt graph', async () => {
    const bytes = build();
    const spec: DecoderSpec = { inputs: { x: [1, 'P', 4], img: [1, 4] }, imageInputs: ['img'], outputs: ['y', 'z'] };
    const r = await checkSame(bytes, spec, (p) => ({ x: tensor([1, p, 4], p), img: tensor([1, 4], 7) }), [1, 3]);
    expect(r.passes[0]).toMatch(/loops unrolled/);
    const main = ops(r.main);
    const prefix = ops(r.prefix);
    expect(main.filter((o) => ['Loop', 'Gather', 'Concat'].includes(o))).toEqual([]);
    // The loop only reads the image-side input: all of it runs once per crop.
    expect(count(prefix, 'Mul')).toBe(3);
    expect(r.boundary.length).toBe(2);
  });
});

describe('image side: prompt-independent work once per crop, broadcasts pushed down', () => {
  // A miniature two-way attention: image tokens (an Expand of the embedding to P copies, flattened and projected)
  // attended by a per-prompt query; a learned token broadcast to P and concatenated with the query.
  function build(): Uint8Array {
    const g = new GraphBuilder('mini', 'optimiser test: image-side hoisting');
    const emb = g.input('emb', FLOAT, [1, 8, 4, 4]);
    const pts = g.input('pts', FLOAT, [1, 'P', 2]);
    const p = promptCount(g, pts, 1);
    const src = g.op('Expand', [emb, g.op('Concat', [p, g.int64s([8, 4, 4])], { axis: int(0) })]);
    const flat = g.op('Reshape', [src, g.op('Concat', [p, g.int64s([8, 16])], { axis: int(0) })]);
    const tokens = g.op('Transpose', [flat], { perm: ints([0, 2, 1]) });
    const w = (r: number, c: number, seed: number): string => g.floats(seededNumbers(r * c, seed), [r, c]);
    const k = g.op('Add', [g.op('MatMul', [tokens, w(8, 8, 1)]), g.floats(seededNumbers(8, 2), [8])]);
    const kn = g.op('LayerNormalization', [k, g.floats(new Array(8).fill(1.5)), g.floats(new Array(8).fill(0.1))], { axis: int(-1), epsilon: float(1e-5) });
    const q = g.op('MatMul', [g.op('Reshape', [pts, g.int64s([-1, 1, 2])]), w(2, 8, 3)]);
    const att = g.op('Softmax', [g.op('MatMul', [q, g.op('Transpose', [kn], { perm: ints([0, 2, 1]) })])], { axis: int(-1) });
    g.op('MatMul', [att, tokens], {}, 'y');
    const tok = g.op('Expand', [g.floats(seededNumbers(8, 4), [1, 1, 8]), g.op('Concat', [p, g.int64s([1, 8])], { axis: int(0) })]);
    g.op('Concat', [tok, q], { axis: int(1) }, 'z');
    g.output('y', FLOAT, ['P', 1, 8]);
    g.output('z', FLOAT, ['P', 2, 8]);
    return g.toBytes();
  }

  it('moves the projections and the LayerNorm to the image side and computes the same outputs', async () => {
    const bytes = build();
    const spec: DecoderSpec = { inputs: { emb: [1, 8, 4, 4], pts: [1, 'P', 2] }, imageInputs: ['emb'], outputs: ['y', 'z'] };
    const r = await checkSame(bytes, spec, (p) => ({ emb: tensor([1, 8, 4, 4], 11), pts: tensor([1, p, 2], 20 + p) }), [1, 4]);
    const prefix = ops(r.prefix);
    const main = ops(r.main);
    expect(count(prefix, 'LayerNormalization')).toBe(1);
    expect(count(main, 'LayerNormalization')).toBe(0);
    // The key projection (MatMul + bias, one Gemm) runs on the image side too.
    expect(count(prefix, 'Gemm')).toBe(1);
    // Only the learned token is broadcast per prompt (it is concatenated with a per-prompt tensor).
    expect(count(main, 'Expand')).toBe(1);
    expect(r.passthrough).toEqual([]);
  });
});

describe('image side: the index-based repeat_interleave', () => {
  it('computes the image-side projection once when P copies are gathered from a batch of one', async () => {
    const g = new GraphBuilder('gather', 'optimiser test: Gather along an axis of size 1');
    const img = g.input('img', FLOAT, [1, 6, 8]);
    const pts = g.input('pts', FLOAT, ['P', 6, 8]);
    const prompts = g.op('Gather', [g.op('Shape', [pts]), g.int64s([0], [])], { axis: int(0) });
    const zeros = g.op('Mul', [g.op('Range', [g.int64s([0], []), prompts, g.int64s([1], [])]), g.int64s([0], [])]);
    const copies = g.op('Gather', [img, zeros], { axis: int(0) });
    const projected = g.op('MatMul', [copies, g.floats(seededNumbers(64, 5), [8, 8])]);
    g.op('Add', [projected, pts], {}, 'y');
    g.output('y', FLOAT, ['P', 6, 8]);
    const spec: DecoderSpec = { inputs: { img: [1, 6, 8], pts: ['P', 6, 8] }, imageInputs: ['img'], outputs: ['y'] };
    const r = await checkSame(g.toBytes(), spec, (p) => ({ img: tensor([1, 6, 8], 3), pts: tensor([p, 6, 8], 4 + p) }), [1, 4]);
    expect(count(ops(r.prefix), 'MatMul')).toBe(1);
    expect(ops(r.main)).not.toContain('MatMul');
    expect(ops(r.main)).not.toContain('Gather');
  });
});

describe('unused rows: slices moved up', () => {
  // Four rows from four weight matrices, stacked, projected, and rows 1..3 kept: row 0 is never needed.
  function build(): Uint8Array {
    const g = new GraphBuilder('rows', 'optimiser test: slice pull-up');
    const h = g.input('h', FLOAT, [1, 'P', 8]);
    const rows = [0, 1, 2, 3].map((i) => g.op('Unsqueeze', [g.op('MatMul', [h, g.floats(seededNumbers(64, 30 + i), [8, 8])]), g.int64s([2])]));
    const cat = g.op('Concat', rows, { axis: int(2) });
    const m = g.op('MatMul', [cat, g.floats(seededNumbers(128, 40), [8, 16])]);
    g.op('Slice', [m, g.int64s([1]), g.int64s([2 ** 62]), g.int64s([2])], {}, 'out');
    g.output('out', FLOAT, [1, 'P', 3, 16]);
    return g.toBytes();
  }

  it('computes only the kept rows', async () => {
    const bytes = build();
    const spec: DecoderSpec = { inputs: { h: [1, 'P', 8] }, imageInputs: [], outputs: ['out'] };
    const r = await checkSame(bytes, spec, (p) => ({ h: tensor([1, p, 8], 50 + p) }), [1, 5]);
    const main = ops(r.main);
    expect(count(main, 'Slice')).toBe(0);
    expect(count(main, 'MatMul')).toBe(4);
    expect(r.prefix).toBeUndefined();
  });
});

/** Every Transpose of a graph in order: its input dims at prompt count `p`, and its perm. */
function transposes(bytes: Uint8Array, inputs: Record<string, (number | 'P')[]>, p: number): { dims: number[]; perm: number[] }[] {
  const g = OnnxGraph.fromBytes(bytes);
  const info = inferGraph(g, new Map(Object.entries(inputs).map(([k, dims]) => [k, dims.map((d) => num(d === 'P' ? p : d))])));
  return g.nodes
    .filter((n) => n.opType === 'Transpose')
    .map((n) => ({ dims: (info.get(n.inputs[0])?.shape ?? []).map((d) => d.c), perm: attrInts(n, 'perm') ?? [] }));
}

/**
 * Whether ONNX Runtime runs a float Transpose on its fast path: two adjacent groups of axes swap places, and the
 * axes after them hold 1 or 2 floats.
 */
function fastMove(dims: number[], perm: number[]): boolean {
  const n = perm.length;
  const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
  for (let c = 2; c <= n; c++) {
    const inner = dims.slice(c).reduce((x, y) => x * y, 1);
    if (inner > 2) continue;
    for (let b = 1; b < c; b++) {
      for (let a = 0; a < b; a++) {
        if ([...range(0, a), ...range(b, c), ...range(a, b), ...range(c, n)].every((x, i) => x === perm[i])) return true;
      }
    }
  }
  return false;
}

describe('layout changes as single-axis moves', () => {
  it('plans the SAM mask layout change (token-major, 8 axes, innermost moving) as three fast moves', () => {
    // [P, h, w, dh1, dw1, dh2, dw2, mask] → [P, mask, h, dh1, dh2, w, dw1, dw2]
    expect(fastMoves([16, 64, 64, 2, 2, 2, 2, 3], [0, 7, 1, 3, 5, 2, 4, 6], 4)).toEqual([
      { a: 1, b: 7, c: 8 },
      { a: 3, b: 4, c: 7 },
      { a: 4, b: 5, c: 7 },
    ]);
    // An innermost run of 2 floats: two moves.
    expect(fastMoves([3, 4, 5, 2], [2, 1, 0, 3], 4)).toHaveLength(2);
  });

  it('keeps one Transpose where that is a fast path already or no short plan exists', () => {
    // A single axis moves: one Transpose, whatever its block.
    expect(fastMoves([2, 5, 7], [0, 2, 1], 4)).toBeUndefined();
    expect(fastMoves([4, 5, 6, 3], [1, 2, 0, 3], 4)).toBeUndefined();
    // The innermost run (3 floats) stays innermost: copied as blocks.
    expect(fastMoves([3, 4, 5, 3], [2, 1, 0, 3], 4)).toBeUndefined();
    // The same shape in bytes: a run of 3 bytes has no fast path, one of 2 bytes does.
    expect(fastMoves([3, 4, 5, 2], [2, 1, 0, 3], 1)).toHaveLength(2);
    // Reversing 6 axes needs more than three moves.
    expect(fastMoves([2, 2, 2, 2, 2, 2], [5, 4, 3, 2, 1, 0], 4)).toBeUndefined();
    // A symbolic size inside every candidate block.
    expect(fastMoves([4, 5, 6, undefined], [2, 1, 0, 3], 4)).toBeUndefined();
  });
});

describe('token-major upscaling', () => {
  // SAM's output upscaling in miniature: tokens [P, 16, 8] → NCHW [P, 8, 4, 4] → ConvTranspose(k2 s2) →
  // LayerNorm2d as element-wise operators → GELU (erf form) → ConvTranspose(k2 s2) → GELU → hypernetwork product.
  function build(): Uint8Array {
    const g = new GraphBuilder('upscale', 'optimiser test: token-major upscaling');
    const keys = g.input('keys', FLOAT, ['P', 16, 8]);
    const hyper = g.input('hyper', FLOAT, ['P', 3, 4]);
    const p = promptCount(g, keys, 0);
    const nchw = g.op('Reshape', [g.op('Transpose', [keys], { perm: ints([0, 2, 1]) }), g.op('Concat', [p, g.int64s([8, 4, 4])], { axis: int(0) })]);
    const convT = (x: string, cin: number, cout: number, seed: number): string =>
      g.op('ConvTranspose', [x, g.floats(seededNumbers(cin * cout * 4, seed), [cin, cout, 2, 2]), g.floats(seededNumbers(cout, seed + 1), [cout])], {
        kernel_shape: ints([2, 2]),
        strides: ints([2, 2]),
      });
    const gelu = (x: string): string => {
      const e = g.op('Erf', [g.op('Div', [x, g.floats([Math.SQRT2], [])])]);
      return g.op('Mul', [g.op('Mul', [x, g.op('Add', [e, g.floats([1], [])])]), g.floats([0.5], [])]);
    };
    const c0 = convT(nchw, 8, 6, 60);
    const mean = g.op('ReduceMean', [c0], { axes: ints([1]), keepdims: int(1) });
    const d = g.op('Sub', [c0, mean]);
    const v = g.op('ReduceMean', [g.op('Pow', [d, g.floats([2], [])])], { axes: ints([1]), keepdims: int(1) });
    const n = g.op('Div', [d, g.op('Sqrt', [g.op('Add', [v, g.floats([1e-6], [])])])]);
    const ln = g.op('Add', [g.op('Mul', [g.floats(seededNumbers(6, 70), [6, 1, 1]), n]), g.floats(seededNumbers(6, 71), [6, 1, 1])]);
    const up = gelu(convT(gelu(ln), 6, 4, 80));
    const flat = g.op('Reshape', [up, g.op('Concat', [p, g.int64s([4, 256])], { axis: int(0) })]);
    const masks = g.op('MatMul', [hyper, flat]);
    g.op('Reshape', [masks, g.op('Concat', [p, g.int64s([3, 16, 16])], { axis: int(0) })], {}, 'masks');
    g.output('masks', FLOAT, ['P', 3, 16, 16]);
    return g.toBytes();
  }

  it('replaces both ConvTransposes by MatMuls and the LayerNorm by one node, with the same masks', async () => {
    const bytes = build();
    const spec: DecoderSpec = { inputs: { keys: ['P', 16, 8], hyper: ['P', 3, 4] }, imageInputs: [], outputs: ['masks'] };
    const r = await checkSame(bytes, spec, (p) => ({ keys: tensor([p, 16, 8], 90 + p), hyper: tensor([p, 3, 4], 95 + p) }), [1, 3], 1e-5);
    const main = ops(r.main);
    expect(count(main, 'ConvTranspose')).toBe(0);
    expect(count(main, 'LayerNormalization')).toBe(1);
    expect(count(main, 'ReduceMean')).toBe(0);
    // One layout change at the end (the masks back to [P, 3, 16, 16]), as three single-axis moves with inner blocks
    // of 1 or 2 floats, plus the hypernetwork weights' [P, 3, 4] → [P, 4, 3]; none on the 4- and 6-channel maps.
    expect(count(main, 'Transpose')).toBe(4);
    const moves = transposes(r.main, { keys: ['P', 16, 8], hyper: ['P', 3, 4] }, 5);
    expect(moves.map((t) => [t.dims, t.perm])).toEqual([
      [[5, 3, 4], [0, 2, 1]],
      [[5, 256, 3], [0, 2, 1]],
      [[60, 4, 8, 2], [0, 2, 1, 3]],
      [[120, 2, 8, 2], [0, 2, 1, 3]],
    ]);
    for (const t of moves) expect(fastMove(t.dims, t.perm), `${t.dims} ${t.perm}`).toBe(true);
    expect(r.passes.some((s) => s.includes('2 ConvTranspose → MatMul'))).toBe(true);
  });
});

describe('few-query attention', () => {
  // 3 queries in 2 heads of depth 8 attend over 64 projected tokens of 16 channels; a second attention with as many
  // queries as tokens is left alone (reassociating would cost more there).
  function build(): Uint8Array {
    const g = new GraphBuilder('attention', 'optimiser test: few-query attention');
    const x = g.input('x', FLOAT, ['P', 64, 16]);
    const q = g.input('q', FLOAT, ['P', 2, 3, 8]);
    const p = promptCount(g, x, 0);
    const heads = (t: string, perm: number[]): string =>
      g.op('Transpose', [g.op('Reshape', [t, g.op('Concat', [p, g.int64s([-1, 2, 8])], { axis: int(0) })])], { perm: ints(perm) });
    const proj = (seed: number): string => g.op('Add', [g.op('MatMul', [x, g.floats(seededNumbers(16 * 16, seed), [16, 16])]), g.floats(seededNumbers(16, seed + 1), [16])]);
    const scores = g.op('MatMul', [q, heads(proj(1), [0, 2, 3, 1])]);
    const att = g.op('Softmax', [g.op('Div', [scores, g.floats([Math.sqrt(8)], [])])], { axis: int(-1) });
    g.op('MatMul', [att, heads(proj(3), [0, 2, 1, 3])], {}, 'out');
    g.output('out', FLOAT, ['P', 2, 3, 8]);
    // Self-attention of the 64 tokens: 64 queries, not fewer than the depth.
    const qq = heads(proj(5), [0, 2, 1, 3]);
    const self = g.op('Softmax', [g.op('MatMul', [qq, heads(proj(7), [0, 2, 3, 1])])], { axis: int(-1) });
    g.op('MatMul', [self, heads(proj(9), [0, 2, 1, 3])], {}, 'self');
    g.output('self', FLOAT, ['P', 2, 64, 8]);
    return g.toBytes();
  }

  it('multiplies the queries by the key and value weights first, with the same outputs', async () => {
    const bytes = build();
    const spec: DecoderSpec = { inputs: { x: ['P', 64, 16], q: ['P', 2, 3, 8] }, imageInputs: [], outputs: ['out', 'self'] };
    const r = await checkSame(bytes, spec, (p) => ({ x: tensor([p, 64, 16], 100 + p), q: tensor([p, 2, 3, 8], 110 + p) }), [1, 2], 1e-5);
    expect(r.passes).toContain('few-query attention reassociated: 2 products');
    // The few-query attention's two projections of the 64 tokens are gone; the self-attention keeps its three.
    const main = OnnxGraph.fromBytes(r.main);
    const tokenProjections = main.nodes.filter((n) => n.inputs[0] === 'x' && (n.opType === 'MatMul' || n.opType === 'Reshape'));
    expect(tokenProjections.length).toBe(3);
  });
});

describe('few-key attention', () => {
  // 64 projected tokens (2 heads of depth 8) attend over 3 keys; the per-head outputs are joined and projected.
  function build(): Uint8Array {
    const g = new GraphBuilder('few-keys', 'optimiser test: few-key attention');
    const x = g.input('x', FLOAT, ['P', 64, 16]);
    const kt = g.input('kt', FLOAT, ['P', 2, 8, 3]);
    const v = g.input('v', FLOAT, ['P', 2, 3, 8]);
    const p = promptCount(g, x, 0);
    const proj = g.op('Add', [g.op('MatMul', [x, g.floats(seededNumbers(16 * 16, 21), [16, 16])]), g.floats(seededNumbers(16, 22), [16])]);
    const q = g.op('Transpose', [g.op('Reshape', [proj, g.op('Concat', [p, g.int64s([-1, 2, 8])], { axis: int(0) })])], { perm: ints([0, 2, 1, 3]) });
    const att = g.op('Softmax', [g.op('Div', [g.op('MatMul', [q, kt]), g.floats([Math.sqrt(8)], [])])], { axis: int(-1) });
    const heads = g.op('Transpose', [g.op('MatMul', [att, v])], { perm: ints([0, 2, 1, 3]) });
    const joined = g.op('Reshape', [heads, g.op('Concat', [p, g.int64s([64, 16])], { axis: int(0) })]);
    g.op('Add', [g.op('MatMul', [joined, g.floats(seededNumbers(16 * 24, 23), [16, 24])]), g.floats(seededNumbers(24, 24), [24])], {}, 'out');
    g.output('out', FLOAT, ['P', 64, 24]);
    return g.toBytes();
  }

  it('multiplies the keys by the query weights and the values by the output weights first, with the same outputs', async () => {
    const spec: DecoderSpec = { inputs: { x: ['P', 64, 16], kt: ['P', 2, 8, 3], v: ['P', 2, 3, 8] }, imageInputs: [], outputs: ['out'] };
    const feeds = (p: number): Feeds => ({ x: tensor([p, 64, 16], 200 + p), kt: tensor([p, 2, 8, 3], 210 + p), v: tensor([p, 2, 3, 8], 220 + p) });
    const r = await checkSame(build(), spec, feeds, [1, 3], 1e-5);
    expect(r.passes).toContain('few-key attention reassociated: 2 products');
    const main = OnnxGraph.fromBytes(r.main);
    // The [16, 16] query projection and the [16, 24] output projection of the 64 tokens are gone (the weights only
    // multiply the 3 keys and values, laid out per head), and so are the head transposes around the softmax: x is
    // multiplied by [16, 6] (2 heads × 3 keys) and the attention rows by [6, 24] per prompt.
    const weights = main.nodes.flatMap((n) => n.inputs.filter((i) => main.inits.get(i)?.dims?.length === 3).map((i) => main.inits.get(i)?.dims?.join('×')));
    expect(weights.sort()).toEqual(['2×16×8', '2×1×8', '2×8×24']);
    expect(main.nodes.some((n) => ['MatMul', 'Gemm'].includes(n.opType) && n.inputs.some((i) => ['16,16', '16,24'].includes(String(main.inits.get(i)?.dims))))).toBe(false);
    // One transpose left: the keys' bias row [P, 2, 1, 3] to token-major.
    expect(count(ops(r.main), 'Transpose')).toBe(2);
    // The output bias is added to the [P, 6, 24] rows (halved: each token's softmax rows sum to 1 in each of the 2
    // heads), not to the [P, 64, 24] output: the output comes straight from the attention product.
    const adds = main.nodes.filter((n) => n.opType === 'Add');
    expect(adds).toHaveLength(2); // this bias, and the queries' bias row over the keys
    const half = adds.map((n) => main.inits.get(n.inputs[1])).find((t) => t?.dims?.join() === '24');
    expect(half && floatValues(half)).toEqual(Float32Array.from(seededNumbers(24, 24), (b) => b / 2));
    expect(main.nodes.find((n) => n.outputs.includes('out'))?.opType).toBe('MatMul');
  });
});

describe('nothing to do', () => {
  it('leaves a graph alone when no pass applies', () => {
    const g = new GraphBuilder('plain', 'optimiser test: nothing to do');
    const x = g.input('x', FLOAT, ['P', 4] as Dim[]);
    g.op('Relu', [x], {}, 'y');
    g.output('y', FLOAT, ['P', 4]);
    const r = optimiseDecoder(g.toBytes(), { inputs: { x: ['P', 4] }, imageInputs: [], outputs: ['y'] });
    expect(r).toEqual({ skipped: 'no pass found anything to do' });
  });

  it('says why when an input has no shape', () => {
    const g = new GraphBuilder('plain', 'optimiser test: missing shape');
    const x = g.input('x', FLOAT, ['P', 4]);
    g.op('Relu', [x], {}, 'y');
    g.output('y', FLOAT, ['P', 4]);
    expect(optimiseDecoder(g.toBytes(), { inputs: {}, imageInputs: [], outputs: ['y'] })).toEqual({ skipped: 'no shape given for input x' });
  });
});
