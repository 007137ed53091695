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
import { attrInt, attrInts, DT, floatValues, intsAttr, tensorDims, type OnnxGraph, type OnnxNode } from './graph.js';
import { inferGraph, normAxis, type InfoMap } from './infer.js';
import { biasAddAfter, graphLinks } from './static-shapes.js';
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
  const { made, users, outputs } = graphLinks(g);
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

/**
 * Attention of many projected queries over few keys (SAM's image → token attention: 4096 image tokens over 7
 * tokens), the mirror case: with Q = X·Wq + bq split into H heads of D, keys K [B, H, T, D] and values V,
 *
 *   Q·Kᵀ = X·(Wq·Kᵀ) + bq·Kᵀ        and        concat_h(A·V)·Wo = Σ_h A_h·(V_h·Wo_h)   (per head h),
 *
 * so the [N, C] × [C, H·D] query projection becomes [N, C] × [C, H·T] and the [N, H·D] × [H·D, C'] output
 * projection [N, H·T] × [H·T, C'], both cheaper whenever T < D. The transposes between the head-major and the
 * token-major layout move [N, H·T] scores instead of [N, H·D] features, and cancel around the softmax. The result
 * differs from the original by rounding only. Returns how many products changed.
 */
export function reassociateFewKeyAttention(g: OnnxGraph, inputs: ReadonlyMap<string, Sym[]>): number {
  if (g.opset < 13) return 0;
  const info = inferGraph(g, inputs);
  const { made, users, outputs, single } = graphLinks(g);
  const only = (t: string): OnnxNode | undefined => {
    const p = made.get(t);
    return p && p.domain === '' && single(t) ? p : undefined;
  };
  const replace = new Map<OnnxNode, OnnxNode[]>();
  const drop = new Set<OnnxNode>();
  for (const m of g.nodes) {
    if (m.opType !== 'MatMul' || m.domain !== '') continue;
    const kt = info.get(m.inputs[1])?.shape;
    if (kt && kt.length === 4 && kt.slice(1).every(isNum)) {
      // Scores: Q [B, H, N, D] (a projection of X) × Kᵀ [B, H, D, T].
      const [, h, d, t] = kt.map((x) => x.c);
      const q = projection(g, m.inputs[0], [0, 2, 1, 3], info, made, users, outputs);
      if (q && q.heads === h && q.depth === d && q.tokens * q.c * h * t + q.c * h * d * t < q.tokens * q.c * h * d) {
        replace.set(m, fewKeyScores(g, m, q, t));
        continue;
      }
    }
    // Output projection: Reshape([B, N, H·D])(Transpose([0, 2, 1, 3])(A [B, H, N, T] × V [B, H, T, D])) × Wo.
    const wo = g.inits.get(m.inputs[1]);
    if (!wo || wo.dataType !== DT.FLOAT || tensorDims(wo).length !== 2) continue;
    const rs = only(m.inputs[0]);
    const tr = rs?.opType === 'Reshape' ? only(rs.inputs[0]) : undefined;
    const av = tr?.opType === 'Transpose' && attrInts(tr, 'perm')?.join() === '0,2,1,3' ? only(tr.inputs[0]) : undefined;
    if (!rs || !tr || !av || av.opType !== 'MatMul') continue;
    const a = info.get(av.inputs[0])?.shape;
    const v = info.get(av.inputs[1])?.shape;
    const flat = info.get(rs.outputs[0])?.shape;
    if (!a || !v || !flat || a.length !== 4 || v.length !== 4 || flat.length !== 3 || !a.slice(1).every(isNum) || !v.slice(1).every(isNum)) continue;
    const [h, n, t] = [a[1].c, a[2].c, a[3].c];
    const d = v[3].c;
    const [hd, c2] = tensorDims(wo);
    if (v[1].c !== h || v[2].c !== t || hd !== h * d || !isNum(flat[2]) || flat[2].c !== hd) continue;
    if (n * t * d * h + n * h * d * c2 <= t * d * c2 * h + n * h * t * c2) continue;
    // A bias added to the projection moves onto the [H·T, C'] rows as b / H when every row of every A_h sums to 1
    // (a last-axis softmax): Σ_h A_h·(V_h·Wo_h + 1·bᵀ/H) = Σ_h A_h·V_h·Wo_h + bᵀ, one pass over [N, C'] less.
    const sm = made.get(av.inputs[0]);
    const softmaxRows = sm?.opType === 'Softmax' && sm.domain === '' && normAxis(attrInt(sm, 'axis', -1), 4) === 3;
    const biasAdd = softmaxRows ? biasAddAfter(g, users, outputs, m.outputs[0], c2) : undefined;
    // A bias of more axes than [c2] could broadcast the output to a higher rank: only [c2] is folded.
    const folded = biasAdd && biasAdd.dims.length === 1 ? { b: biasAdd.values, out: biasAdd.add.outputs[0] } : undefined;
    replace.set(m, fewKeyValues(g, m, av, floatValues(wo) as Float32Array, h, t, d, c2, folded));
    if (folded && biasAdd) drop.add(biasAdd.add);
    drop.add(rs);
    drop.add(tr);
    drop.add(av);
  }
  if (replace.size === 0) return 0;
  g.nodes = g.nodes.flatMap((n) => (drop.has(n) ? [] : (replace.get(n) ?? [n])));
  cancelTransposes(g);
  return replace.size;
}

/** Scores [B, H, N, T] as (X·(Wq_h·K_hᵀ) + bq_h·K_hᵀ), computed token-major and transposed to head-major. */
function fewKeyScores(g: OnnxGraph, m: OnnxNode, q: Projection, t: number): OnnxNode[] {
  const { heads: H, depth: D, c: C } = q;
  const w = new Float32Array(H * C * D); // [H, C, D]
  for (let h = 0; h < H; h++) for (let c = 0; c < C; c++) for (let d = 0; d < D; d++) w[(h * C + c) * D + d] = q.w[c * H * D + h * D + d];
  const nodes: OnnxNode[] = [];
  const add = (opType: string, inputs: string[], attrs: OnnxNode['attrs'] = [], output?: string): string => {
    const o = output ?? g.fresh(`${opType}_fewkey`);
    nodes.push({ name: g.fresh(`${opType}_fewkey_node`), opType, domain: '', inputs, outputs: [o], attrs });
    return o;
  };
  const kt = m.inputs[1];
  // Wq_h·K_hᵀ for every head: [B, H, C, T] → [B, C, H·T], one product of X with all heads' columns.
  const wk = add('MatMul', [g.float32(w, [H, C, D]), kt]);
  const cols = add('Reshape', [add('Transpose', [wk], [intsAttr('perm', [0, 2, 1, 3])]), g.int64([0, C, H * t])]);
  // bq_h·K_hᵀ: [B, H, 1, T] → [B, 1, H·T], added token-major so that the softmax sees one transpose only.
  const bias = add('MatMul', [g.float32(Float32Array.from(q.b), [H, 1, D]), kt]);
  const rowBias = add('Reshape', [add('Transpose', [bias], [intsAttr('perm', [0, 2, 1, 3])]), g.int64([0, 1, H * t])]);
  const xs = add('Add', [add('MatMul', [q.x, cols]), rowBias]);
  add('Transpose', [add('Reshape', [xs, g.int64([0, q.tokens, H, t])])], [intsAttr('perm', [0, 2, 1, 3])], m.outputs[0]);
  return nodes;
}

/** concat_h(A_h·V_h)·Wo (+ b) as [B, N, H·T] × [B, H·T, C'] with the rows V_h·Wo_h (+ b / H). */
function fewKeyValues(
  g: OnnxGraph,
  m: OnnxNode,
  av: OnnxNode,
  wo: Float32Array,
  H: number,
  T: number,
  D: number,
  C2: number,
  bias?: { b: Float32Array; out: string },
): OnnxNode[] {
  const nodes: OnnxNode[] = [];
  const add = (opType: string, inputs: string[], attrs: OnnxNode['attrs'] = [], output?: string): string => {
    const o = output ?? g.fresh(`${opType}_fewkey`);
    nodes.push({ name: g.fresh(`${opType}_fewkey_node`), opType, domain: '', inputs, outputs: [o], attrs });
    return o;
  };
  // Wo's rows h·D … h·D + D − 1 are head h's: [H·D, C'] is already [H, D, C'] row-major.
  let vw = add('Reshape', [add('MatMul', [av.inputs[1], g.float32(Float32Array.from(wo), [H, D, C2])]), g.int64([0, H * T, C2])]);
  if (bias) vw = add('Add', [vw, g.float32(bias.b.map((x) => x / H), [C2])]);
  const a = add('Reshape', [add('Transpose', [av.inputs[0]], [intsAttr('perm', [0, 2, 1, 3])]), g.int64([0, 0, H * T])]);
  add('MatMul', [a, vw], [], bias ? bias.out : m.outputs[0]);
  return nodes;
}

/** Operators a transpose that keeps the last axis last passes through unchanged (element-wise with a scalar, softmax). */
function commutes(g: OnnxGraph, n: OnnxNode, rank: number): boolean {
  if (n.domain !== '') return false;
  if (n.opType === 'Softmax') return normAxis(attrInt(n, 'axis', -1), rank) === rank - 1;
  if (['Div', 'Mul', 'Add', 'Sub'].includes(n.opType)) {
    const c = g.inits.get(n.inputs[1]);
    return c !== undefined && tensorDims(c).every((d) => d === 1) && tensorDims(c).length <= rank;
  }
  return ['Relu', 'Sigmoid', 'Tanh', 'Exp', 'Neg', 'Abs'].includes(n.opType);
}

/**
 * Removes pairs of inverse Transposes with only scalar element-wise operators and last-axis softmaxes between
 * them (the first keeping the last axis last), each step read only by the next.
 */
export function cancelTransposes(g: OnnxGraph): number {
  const { made, users, outputs } = graphLinks(g);
  const drop = new Set<OnnxNode>();
  const rename = new Map<string, string>();
  for (const t2 of g.nodes) {
    if (t2.opType !== 'Transpose' || t2.domain !== '') continue;
    const p2 = attrInts(t2, 'perm');
    if (!p2 || outputs.has(t2.outputs[0])) continue;
    const between: OnnxNode[] = [];
    let x = t2.inputs[0];
    let t1: OnnxNode | undefined;
    for (;;) {
      const n = made.get(x);
      if (!n || outputs.has(x) || users.get(x)?.length !== 1 || drop.has(n)) break;
      if (n.opType === 'Transpose' && n.domain === '') {
        t1 = n;
        break;
      }
      if (!commutes(g, n, p2.length)) break;
      between.unshift(n);
      x = n.inputs[0];
    }
    const p1 = t1 ? attrInts(t1, 'perm') : undefined;
    if (!t1 || !p1 || p1.length !== p2.length || p1[p1.length - 1] !== p1.length - 1 || !p2.every((p, i) => p1[p] === i)) continue;
    if (between.length === 0) {
      rename.set(t2.outputs[0], t1.inputs[0]);
    } else {
      between[0].inputs[0] = t1.inputs[0];
      rename.set(t2.outputs[0], between[between.length - 1].outputs[0]);
    }
    drop.add(t1);
    drop.add(t2);
  }
  if (drop.size === 0) return 0;
  g.nodes = g.nodes.filter((n) => !drop.has(n));
  const resolve = (name: string): string => {
    let r = name;
    while (rename.has(r)) r = rename.get(r) as string;
    return r;
  };
  for (const n of g.nodes) n.inputs = n.inputs.map(resolve);
  return drop.size / 2;
}
