/**
 * Attention with few queries over many projected keys and values (SAM's token → image attention: 7 tokens over
 * 4096 image tokens) computes the projections in the other order: with K = X·Wk + bk split into H heads of D,
 *
 *   Q·Kᵀ = (Q·Wkᵀ)·Xᵀ + Q·bkᵀ        and        A·V = (A·X)·Wv + rowsum(A)·bv   (per head),
 *
 * so the [N, C] × [C, H·D] projections of the N image tokens (per prompt) become products of the T queries with
 * the weights and with X: cheaper whenever T < D (and the key and value projections of the image tokens, with
 * their head transposes, disappear). The result differs from the original by rounding only.
 */
import { attrInts, DT, floatValues, intsAttr, tensorDims, type OnnxGraph, type OnnxNode } from './graph.js';
import { inferGraph, type InfoMap } from './infer.js';
import { consumers, producers } from './static-shapes.js';
import { isNum, type Sym } from './sym.js';

/** A head-split projection: head h, channel d of token n is X[n] · W[:, h·D + d] + b[h·D + d]. */
interface Projection {
  x: string;
  w: Float32Array;
  b: Float32Array;
  c: number;
  heads: number;
  depth: number;
  /** N, the number of projected tokens. */
  tokens: number;
}

/** Rewrites every score and value product of such attentions; returns how many products changed. */
export function reassociateFewQueryAttention(g: OnnxGraph, inputs: ReadonlyMap<string, Sym[]>): number {
  // Unsqueeze and ReduceSum take their axes as inputs from opset 13 on, as written here.
  if (g.opset < 13) return 0;
  const info = inferGraph(g, inputs);
  const users = consumers(g);
  const made = producers(g);
  const outputs = new Set(g.outputs.map((o) => o.name));
  const replace = new Map<OnnxNode, OnnxNode[]>();
  for (const m of g.nodes) {
    if (m.opType !== 'MatMul' || m.domain !== '') continue;
    const left = info.get(m.inputs[0])?.shape;
    if (!left || left.length !== 4 || !left.slice(1).every(isNum)) continue;
    const [, h, t, inner] = left.map((d) => d.c);
    const k = projection(g, m.inputs[1], [0, 2, 3, 1], info, made, users, outputs);
    if (k && k.heads === h && k.depth === inner && cheaper(t, k.tokens, k.depth)) {
      replace.set(m, scores(g, m, k));
      continue;
    }
    const v = projection(g, m.inputs[1], [0, 2, 1, 3], info, made, users, outputs);
    if (v && v.heads === h && cheaper(t, v.tokens, v.depth)) replace.set(m, values(g, m, v));
  }
  if (replace.size === 0) return 0;
  g.nodes = g.nodes.flatMap((n) => replace.get(n) ?? [n]);
  return replace.size;
}

/**
 * Whether T queries over N tokens with heads of depth D cost less reassociated: per head and input channel the
 * projection costs N·D multiply-adds, the reassociated products T·D + T·N.
 */
function cheaper(t: number, n: number, d: number): boolean {
  return t * d + t * n < n * d;
}

/**
 * `name` as Transpose(perm)(Reshape([B, N, H, D])(X·W + b)) with W [C, H·D] and b [H·D] constants, each step read
 * only by the next; undefined otherwise.
 */
function projection(
  g: OnnxGraph,
  name: string,
  perm: readonly number[],
  info: InfoMap,
  made: Map<string, OnnxNode>,
  users: Map<string, OnnxNode[]>,
  outputs: Set<string>,
): Projection | undefined {
  const only = (t: string): OnnxNode | undefined => {
    const p = made.get(t);
    return p && p.domain === '' && !outputs.has(t) && users.get(t)?.length === 1 ? p : undefined;
  };
  const tr = only(name);
  if (!tr || tr.opType !== 'Transpose') return undefined;
  const trPerm = attrInts(tr, 'perm');
  if (!trPerm || trPerm.join() !== perm.join()) return undefined;
  const rs = only(tr.inputs[0]);
  if (!rs || rs.opType !== 'Reshape') return undefined;
  const split = info.get(rs.outputs[0])?.shape;
  const flat = info.get(rs.inputs[0])?.shape;
  if (!split || !flat || split.length !== 4 || flat.length !== 3 || !isNum(split[2]) || !isNum(split[3])) return undefined;
  if (split[0].c !== flat[0].c || split[0].k !== flat[0].k || split[1].c !== flat[1].c || split[1].k !== flat[1].k) return undefined;
  const add = only(rs.inputs[0]);
  if (!add || add.opType !== 'Add') return undefined;
  const mmIndex = add.inputs.findIndex((i) => made.get(i)?.opType === 'MatMul');
  if (mmIndex < 0) return undefined;
  const mm = only(add.inputs[mmIndex]);
  const bias = g.inits.get(add.inputs[1 - mmIndex]);
  const weight = mm && g.inits.get(mm.inputs[1]);
  if (!mm || mm.opType !== 'MatMul' || !bias || !weight || weight.dataType !== DT.FLOAT || bias.dataType !== DT.FLOAT) return undefined;
  const [c, hd] = tensorDims(weight);
  const heads = split[2].c;
  const depth = split[3].c;
  const x = info.get(mm.inputs[0])?.shape;
  if (tensorDims(weight).length !== 2 || hd !== heads * depth || tensorDims(bias).join() !== String(hd) || !x || x.length !== 3) return undefined;
  if (!isNum(x[1])) return undefined;
  return { x: mm.inputs[0], w: floatValues(weight) as Float32Array, b: floatValues(bias) as Float32Array, c, heads, depth, tokens: x[1].c };
}

/** Scores Q·Kᵀ [B, H, T, N] as (Q·Wkᵀ)·Xᵀ + Q·bkᵀ. */
function scores(g: OnnxGraph, m: OnnxNode, k: Projection): OnnxNode[] {
  const { heads: H, depth: D, c: C } = k;
  const wt = new Float32Array(H * D * C); // [H, D, C]
  for (let h = 0; h < H; h++) for (let d = 0; d < D; d++) for (let c = 0; c < C; c++) wt[(h * D + d) * C + c] = k.w[c * H * D + h * D + d];
  const nodes: OnnxNode[] = [];
  const add = (opType: string, inputs: string[], attrs: OnnxNode['attrs'] = [], output?: string): string => {
    const o = output ?? g.fresh(`${opType}_attention`);
    nodes.push({ name: g.fresh(`${opType}_attention_node`), opType, domain: '', inputs, outputs: [o], attrs });
    return o;
  };
  const q = m.inputs[0];
  const qw = add('MatMul', [q, g.float32(wt, [H, D, C])]);
  const qb = add('MatMul', [q, g.float32(Float32Array.from(k.b), [H, D, 1])]);
  // One product per batch row with the heads' queries stacked ([B, H·T, C] × Xᵀ), not one per head.
  const stacked = add('Reshape', [qw, g.int64([0, -1, C])]);
  const xt = add('Transpose', [k.x], [intsAttr('perm', [0, 2, 1])]);
  const s1 = add('Reshape', [add('MatMul', [stacked, xt]), g.int64([0, H, -1, k.tokens])]);
  add('Add', [s1, qb], [], m.outputs[0]);
  return nodes;
}

/** A·V [B, H, T, D] as (A·X)·Wv + rowsum(A)·bv. */
function values(g: OnnxGraph, m: OnnxNode, v: Projection): OnnxNode[] {
  const { heads: H, depth: D, c: C } = v;
  const w = new Float32Array(H * C * D); // [H, C, D]
  for (let h = 0; h < H; h++) for (let c = 0; c < C; c++) for (let d = 0; d < D; d++) w[(h * C + c) * D + d] = v.w[c * H * D + h * D + d];
  const nodes: OnnxNode[] = [];
  const add = (opType: string, inputs: string[], attrs: OnnxNode['attrs'] = [], output?: string): string => {
    const o = output ?? g.fresh(`${opType}_attention`);
    nodes.push({ name: g.fresh(`${opType}_attention_node`), opType, domain: '', inputs, outputs: [o], attrs });
    return o;
  };
  const a = m.inputs[0];
  // One product per batch row with the heads' attention rows stacked ([B, H·T, N] × X).
  const stacked = add('Reshape', [a, g.int64([0, -1, v.tokens])]);
  const ax = add('Reshape', [add('MatMul', [stacked, v.x]), g.int64([0, H, -1, C])]);
  const projected = add('MatMul', [ax, g.float32(w, [H, C, D])]);
  const rowsum = add('ReduceSum', [a, g.int64([-1])]);
  add('Add', [projected, add('Mul', [rowsum, g.float32(Float32Array.from(v.b), [H, 1, D])])], [], m.outputs[0]);
  return nodes;
}
