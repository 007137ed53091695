/**
 * A linear map of a LayerNormalization whose input is a sum of cheap terms, computed without the full product.
 * With y the normalised rows (last axis, C channels), μ and s = 1/√(σ² + ε) their mean and InvStdDev, γ and β the
 * scale and bias, W [C, C'] and b the product's weight and bias:
 *
 *   LN(y)·W + b = s ⊙ (y·W_γ − μ·(1ᵀW_γ)) + (β·W + b),      W_γ = diag(γ)·W,
 *
 * and y·W_γ splits over the terms of y (an Add tree):
 * - an image-side term X (no prompt axis): X·W_γ once per batch (moved to the image side, see moveImageProducts);
 * - a low-rank term A·M (A [..., N, r], r small, e.g. the few-key attention's Σ_h A_h·(V_h·Wo_h), attention.ts):
 *   A·(M·W_γ), a [N, r] × [r, C'] product instead of [N, C] × [C, C'];
 * - a constant: a constant row;
 * - another such LayerNormalization: the same rule with W_γ in place of W, its s multiplying the outer s.
 * The per-row factors (s, and μ·s) ride in the low-rank product as columns of its left factor, so the result is
 *
 *   Σ_g S_g ⊙ X_g·U_g  +  [S·A, …, S·μ, …, S, …, 1] × [M·U; …; −1ᵀU; …; constant rows; …; β·W + b]
 *
 * with one element-wise multiply and one add over the [N, C'] output per group of image-side terms. SAM's decoder
 * has exactly this before its first upscaling product: keys2 = LN(keys1 + attn₂), keys1 = LN(keys0 + attn₁), keys0
 * image-side, attn₁ and attn₂ low-rank after the few-key pass — the [N, 256] × [256, 256] product becomes
 * [N, 117] × [117, 256] plus two passes over its output.
 *
 * Limits: the normalisation must be a LayerNormalization over the last axis with constant scale and bias (its Mean and
 * InvStdDev outputs are added when absent); the product a MatMul by a constant 2-D matrix, reached from the
 * normalisation through Reshapes that keep the last axis, with an optional constant bias Add after it; every nested
 * normalisation must have the outer one's shape; a term that is none of the four kinds leaves the product alone, and
 * so does a cost estimate (below) that is not lower. The product stays whole where the rows have no prompt axis.
 * Numerics: the mean is subtracted after the product, so the result differs from the original by rounding scaled by
 * |μ|·‖W‖ (cancellation) — small where |μ| is not much larger than σ, as in SAM; the caller's probe checks it.
 */
import { attrInt, DT, floatValues, intAttr, tensorDims, type OnnxGraph, type OnnxNode, type TensorProto, type ValueInfo } from './graph.js';
import { broadcast, inferGraph, normAxis, numericDims, type InfoMap } from './infer.js';
import { biasAddAfter, deadCodeElimination, graphLinks, reshapeTarget } from './static-shapes.js';
import { eq, hasP, isNum, num, type Sym } from './sym.js';

/**
 * Cost of writing one element in an element-wise pass over a large per-prompt tensor, in multiply-adds of a
 * product: on the SAM ViT-B decoder (ONNX Runtime CPU, 2 threads) an Add over [P, 4096, 256] takes about a tenth
 * of the time of the [P·4096, 256] × [256, 256] product, i.e. about 25 multiply-adds per element.
 */
const PASS = 24;

/** A term of the normalised input, with the matrix U it is multiplied by and the LayerNormalizations scaling it. */
interface Scaled {
  u: Float64Array;
  /** Outermost first. */
  scale: OnnxNode[];
}

interface Plan {
  /** Image-side tensors X, each multiplied by U. */
  image: (Scaled & { x: string })[];
  /** Low-rank terms A·M, with M constant (2-D) or computed. */
  lowRank: (Scaled & { a: string; m: string; r: number; mConst?: Float32Array; mBatch?: readonly Sym[] })[];
  /** Constant rows (already multiplied by U) per scale. */
  consts: (Scaled & { row: Float64Array })[];
  /** Mean columns: −1ᵀU rows, with the LayerNormalization whose Mean they read. */
  means: (Scaled & { ln: OnnxNode })[];
  /** Every LayerNormalization involved, outermost first. */
  norms: OnnxNode[];
}

/** Rewrites every such product; returns how many. */
export function linearOfLayerNorm(g: OnnxGraph, inputs: ReadonlyMap<string, Sym[]>): number {
  if (g.opset < 17) return 0;
  // Products an earlier pass left without readers would only add work here.
  deadCodeElimination(g);
  const info = inferGraph(g, inputs);
  const { made, users, outputs } = graphLinks(g);
  const replace = new Map<OnnxNode, OnnxNode[]>();
  const drop = new Set<OnnxNode>();
  for (const m of g.nodes) {
    if (m.opType !== 'MatMul' || m.domain !== '') continue;
    const w = g.inits.get(m.inputs[1]);
    const wv = w && w.dataType === DT.FLOAT && tensorDims(w).length === 2 ? floatValues(w) : undefined;
    if (!w || !wv) continue;
    const [c, c2] = tensorDims(w);
    // Back through row Reshapes (last axis kept: the rows keep their order) to the normalisation.
    let x = m.inputs[0];
    for (;;) {
      const p = made.get(x);
      if (!p || p.opType !== 'Reshape' || p.domain !== '') break;
      const a = info.get(p.inputs[0])?.shape?.at(-1);
      const b = info.get(x)?.shape?.at(-1);
      if (!a || !b || !isNum(a) || !isNum(b) || a.c !== c || b.c !== c) break;
      x = p.inputs[0];
    }
    const top = made.get(x);
    const rows = info.get(x)?.shape;
    if (!top || top.outputs[0] !== x || !rows || !rows.some(hasP)) continue;
    // The bias Add, when there is one, joins the constant row.
    const biasAdd = biasAddAfter(g, users, outputs, m.outputs[0], c2);
    const plan = planOf(g, info, made, top, rows, c, c2, wv);
    if (!plan || !cheaper(plan, rows, c, c2)) continue;
    const out = biasAdd?.add ?? m;
    const outShape = info.get(out.outputs[0])?.shape;
    const zShape = [...rows.slice(0, -1), num(c2)];
    const same = outShape && outShape.length === zShape.length && outShape.every((d, i) => eq(d, zShape[i]));
    const back = outShape && !same ? reshapeTarget(zShape, outShape) : undefined;
    if (!outShape || (!same && !back)) continue;
    if (biasAdd) plan.consts.push({ u: new Float64Array(0), scale: [], row: Float64Array.from(biasAdd.values) });
    replace.set(out, build(g, plan, c2, back, out.outputs[0]));
    if (out !== m) drop.add(m);
  }
  if (replace.size === 0) return 0;
  g.nodes = g.nodes.flatMap((n) => (drop.has(n) ? [] : (replace.get(n) ?? [n])));
  return replace.size;
}

/** The terms of LN(top's input)·W, or undefined when some term is of no known kind. */
function planOf(
  g: OnnxGraph,
  info: InfoMap,
  made: Map<string, OnnxNode>,
  top: OnnxNode,
  rows: readonly Sym[],
  c: number,
  c2: number,
  w: Float32Array,
): Plan | undefined {
  const plan: Plan = { image: [], lowRank: [], consts: [], means: [], norms: [] };
  const same = (s: readonly Sym[] | undefined): boolean => !!s && s.length === rows.length && s.every((d, i) => eq(d, rows[i]));
  const fits = (s: readonly Sym[] | undefined): boolean => {
    const b = s && broadcast([[...s], [...rows]]);
    return !!b && same(b);
  };
  const norm = (ln: OnnxNode, u: Float64Array, scale: OnnxNode[]): boolean => {
    if (ln.opType !== 'LayerNormalization' || ln.domain !== '' || attrInt(ln, 'stash_type', 1) !== 1) return false;
    const shape = info.get(ln.inputs[0])?.shape;
    if (!same(shape) || normAxis(attrInt(ln, 'axis', -1), rows.length) !== rows.length - 1 || plan.norms.includes(ln)) return false;
    const gamma = vectorOf(g, ln.inputs[1], c);
    const beta = ln.inputs[2] ? vectorOf(g, ln.inputs[2], c) : new Float32Array(c);
    if (!gamma || !beta) return false;
    plan.norms.push(ln);
    // LN(y)·U = s ⊙ (y·U_γ − μ·1ᵀU_γ) + β·U.
    const ug = new Float64Array(c * c2);
    const row = new Float64Array(c2);
    const colsum = new Float64Array(c2);
    for (let i = 0; i < c; i++) {
      for (let j = 0; j < c2; j++) {
        const v = u[i * c2 + j];
        ug[i * c2 + j] = gamma[i] * v;
        row[j] += beta[i] * v;
        colsum[j] -= gamma[i] * v;
      }
    }
    plan.consts.push({ u, scale, row });
    const inner = [...scale, ln];
    plan.means.push({ u: colsum, scale: inner, ln });
    return term(ln.inputs[0], ug, inner);
  };
  const term = (t: string, u: Float64Array, scale: OnnxNode[]): boolean => {
    const shape = info.get(t)?.shape;
    if (g.inits.has(t)) {
      const v = vectorOf(g, t, c);
      if (!v) return false;
      const row = new Float64Array(c2);
      for (let i = 0; i < c; i++) for (let j = 0; j < c2; j++) row[j] += v[i] * u[i * c2 + j];
      plan.consts.push({ u, scale, row });
      return true;
    }
    if (!shape || !fits(shape)) return false;
    if (shape.every(isNum)) {
      plan.image.push({ x: t, u, scale });
      return true;
    }
    const p = made.get(t);
    if (!p || p.domain !== '') return false;
    if (p.opType === 'Add') return term(p.inputs[0], u, scale) && term(p.inputs[1], u, scale);
    if (p.opType === 'LayerNormalization' && p.outputs[0] === t) return norm(p, u, scale);
    if (p.opType === 'MatMul') {
      const a = info.get(p.inputs[0])?.shape;
      const ms = info.get(p.inputs[1])?.shape;
      if (!a || !ms || a.length < 2 || ms.length < 2 || !isNum(ms[ms.length - 2]) || !isNum(ms[ms.length - 1]) || ms[ms.length - 1].c !== c) return false;
      const r = ms[ms.length - 2].c;
      // After scaling by the rows' factors the left factor must cover every row.
      if (!fits([...a.slice(0, -1), num(c)]) || r >= c) return false;
      const mInit = g.inits.get(p.inputs[1]);
      if (mInit) {
        const mv = mInit.dataType === DT.FLOAT && tensorDims(mInit).length === 2 ? floatValues(mInit) : undefined;
        if (!mv) return false;
        plan.lowRank.push({ a: p.inputs[0], m: p.inputs[1], r, mConst: mv, u, scale });
      } else {
        plan.lowRank.push({ a: p.inputs[0], m: p.inputs[1], r, mBatch: ms.slice(0, -2), u, scale });
      }
      return true;
    }
    return false;
  };
  if (!norm(top, Float64Array.from(w), [])) return undefined;
  // The computed right factors are concatenated: they must share their batch dims.
  const batched = plan.lowRank.filter((l) => l.mBatch && l.mBatch.length > 0).map((l) => l.mBatch as readonly Sym[]);
  if (batched.some((b) => b.length !== batched[0].length || !b.every((d, i) => eq(d, batched[0][i])))) return undefined;
  return plan;
}

/** Scale groups (by the LayerNormalizations multiplying them) as keys. */
const key = (scale: readonly OnnxNode[]): string => scale.map((n) => n.name + '|' + n.outputs[0]).join(',');

/** Columns of the low-rank product's left factor. */
function columns(plan: Plan): number {
  const constKeys = new Set(plan.consts.map((k) => key(k.scale)));
  // The constant at the first image-side group's scale joins that group's sum (see build).
  if (plan.image.length > 0) constKeys.delete(key(plan.image[0].scale));
  return plan.lowRank.reduce((a, l) => a + l.r, 0) + plan.means.length + constKeys.size;
}

/**
 * Whether the rewrite costs less per row, in multiply-adds: the product's C·C' against the low-rank product's K·C',
 * a multiply and an add over the output per image-side group, and two passes over the left factor (scale, concat).
 */
function cheaper(plan: Plan, rows: readonly Sym[], c: number, c2: number): boolean {
  const k = columns(plan);
  const groups = new Set(plan.image.map((i) => key(i.scale))).size;
  // Per-prompt right factors M·U: r·C·C' each, spread over the rows of a prompt (c of c·P^k for a prompt axis).
  const perPrompt = rows.slice(0, -1).reduce((a, d) => a * d.c, 1);
  const right = plan.lowRank.filter((l) => !l.mConst).reduce((a, l) => a + (l.r * c * c2) / perPrompt, 0);
  return k * c2 + 2 * PASS * c2 * groups + 2 * PASS * k + right < c * c2;
}

/** The replacement nodes, ending in `output` (the rows with C' channels, reshaped by `back` when given). */
function build(g: OnnxGraph, plan: Plan, c2: number, back: number[] | undefined, output: string): OnnxNode[] {
  const nodes: OnnxNode[] = [];
  const add = (opType: string, inputs: string[], attrs: OnnxNode['attrs'] = [], out?: string): string => {
    const o = out ?? g.fresh(`${opType}_lnlin`);
    nodes.push({ name: g.fresh(`${opType}_lnlin_node`), opType, domain: '', inputs, outputs: [o], attrs });
    return o;
  };
  const f32 = (v: Float64Array, dims: number[]): string => g.float32(Float32Array.from(v), dims);
  // Mean and InvStdDev of every normalisation involved (outputs 1 and 2).
  for (const ln of plan.norms) {
    while (ln.outputs.length < 3) ln.outputs.push('');
    for (const i of [1, 2]) if (!ln.outputs[i]) ln.outputs[i] = g.fresh(i === 1 ? 'ln_mean' : 'ln_inv_std');
  }
  const scales = new Map<string, string | undefined>([['', undefined]]);
  const scaleOf = (scale: readonly OnnxNode[]): string | undefined => {
    const k = key(scale);
    if (scales.has(k)) return scales.get(k);
    const outer = scaleOf(scale.slice(0, -1));
    const s = scale[scale.length - 1].outputs[2];
    const t = outer ? add('Mul', [outer, s]) : s;
    scales.set(k, t);
    return t;
  };
  // Image-side groups: Σ X·U per scale. The first one's scale S* is applied last, to the sum of everything
  // (S* ⊙ (X* + L'·R) with L' = L / S*): its group then costs an add only, and the columns at scale S* (the
  // deepest normalisation's low-rank terms, in SAM) need no multiply.
  const groups = new Map<string, OnnxNode[]>();
  for (const im of plan.image) if (!groups.has(key(im.scale))) groups.set(key(im.scale), im.scale);
  const pivot = groups.size > 0 ? [...groups.values()][0] : undefined;
  const pivotScale = pivot ? scaleOf(pivot) : undefined;
  let inverse: string | undefined;
  const ones = (): string => add('Expand', [g.float32(new Float32Array([1]), [1]), add('Shape', [scaleOf(plan.norms.slice(0, 1)) as string])]);
  /** The factor S_k / S* of a column at scale k; undefined for 1. */
  const rels = new Map<string, string | undefined>();
  const rel = (scale: readonly OnnxNode[]): string | undefined => {
    const k = key(scale);
    if (rels.has(k)) return rels.get(k);
    const s = scaleOf(scale);
    let r = s;
    if (pivotScale && s === pivotScale) r = undefined;
    else if (pivotScale) {
      inverse ??= add('Reciprocal', [pivotScale]);
      r = s ? add('Mul', [s, inverse]) : inverse;
    }
    rels.set(k, r);
    return r;
  };
  const scaled = (x: string, scale: readonly OnnxNode[]): string => {
    const r = rel(scale);
    return r ? add('Mul', [x, r]) : x;
  };
  // Left factor columns with their right factor rows: computed blocks (M·U per prompt) first, constant rows after.
  const leftComputed: string[] = [];
  const rightComputed: string[] = [];
  const leftConst: string[] = [];
  const rightConst: Float64Array[] = [];
  for (const l of plan.lowRank) {
    const ua = new Float32Array(l.u);
    const c = ua.length / c2;
    if (l.mConst) {
      const mu = new Float64Array(l.r * c2);
      for (let i = 0; i < l.r; i++) for (let k = 0; k < c; k++) for (let j = 0; j < c2; j++) mu[i * c2 + j] += l.mConst[i * c + k] * ua[k * c2 + j];
      leftConst.push(scaled(l.a, l.scale));
      rightConst.push(mu);
    } else {
      leftComputed.push(scaled(l.a, l.scale));
      rightComputed.push(add('MatMul', [l.m, g.float32(ua, [c, c2])]));
    }
  }
  for (const mean of plan.means) {
    leftConst.push(scaled(mean.ln.outputs[1], mean.scale));
    rightConst.push(mean.u);
  }
  const constRows = new Map<string, { scale: OnnxNode[]; row: Float64Array }>();
  for (const k of plan.consts) {
    const known = constRows.get(key(k.scale));
    if (known) for (let j = 0; j < c2; j++) known.row[j] += k.row[j];
    else constRows.set(key(k.scale), { scale: k.scale, row: Float64Array.from(k.row) });
  }
  for (const { scale, row } of constRows.values()) {
    // The constant at the pivot scale joins the image-side sum instead of taking a column of ones.
    if (pivot && key(scale) === key(pivot)) continue;
    leftConst.push(rel(scale) ?? ones());
    rightConst.push(row);
  }
  const kConst = rightConst.reduce((a, r) => a + r.length / c2, 0);
  const constBlock = new Float64Array(kConst * c2);
  let at = 0;
  for (const r of rightConst) {
    constBlock.set(r, at);
    at += r.length;
  }
  let right = f32(constBlock, [kConst, c2]);
  if (rightComputed.length > 0) {
    // The constant rows broadcast to the computed blocks' batch dims, which planOf found equal.
    const batchRank = plan.lowRank.find((l) => !l.mConst)?.mBatch?.length ?? 0;
    const shape = add('Shape', [rightComputed[0]]);
    const target = add('Concat', [add('Slice', [shape, g.int64([0]), g.int64([batchRank])]), g.int64([kConst, c2])], [intAttr('axis', 0)]);
    right = add('Concat', [...rightComputed, add('Expand', [right, target])], [intAttr('axis', -2)]);
  }
  let total = add('MatMul', [add('Concat', [...leftComputed, ...leftConst], [intAttr('axis', -1)]), right]);
  const products = plan.image.map((im) => add('MatMul', [im.x, g.float32(new Float32Array(im.u), [im.u.length / c2, c2])]));
  const sumOf = (scale: readonly OnnxNode[]): string =>
    plan.image.map((im, i) => (key(im.scale) === key(scale) ? products[i] : '')).filter(Boolean).reduce((a, b) => add('Add', [a, b]));
  for (const scale of groups.values()) if (scale !== pivot) total = add('Add', [scaled(sumOf(scale), scale), total]);
  if (pivot) {
    const c = constRows.get(key(pivot));
    const image = c ? add('Add', [sumOf(pivot), f32(c.row, [c2])]) : sumOf(pivot);
    total = add('Add', [image, total]);
    if (pivotScale) total = add('Mul', [total, pivotScale]);
  }
  // The last node made `total`.
  if (back) add('Reshape', [total, g.int64(back)], [], output);
  else nodes[nodes.length - 1].outputs[0] = output;
  return nodes;
}

/** A float32 constant of C values along the last axis (or one value for all), as C values. */
function vectorOf(g: OnnxGraph, name: string, c: number): Float32Array | undefined {
  const t = g.inits.get(name);
  if (!t || t.dataType !== DT.FLOAT) return undefined;
  const dims = tensorDims(t);
  const v = floatValues(t);
  if (!v || dims.slice(0, -1).some((d) => d !== 1)) return undefined;
  if (v.length === c) return v;
  return v.length === 1 ? new Float32Array(c).fill(v[0]) : undefined;
}

/**
 * Moves per-prompt-graph nodes that read only image-side tensors (`boundary`) and constants into the image-side
 * graph, their outputs joining the boundary: the image-side products the rewrite above leaves in the per-prompt
 * graph then run once per crop (`inputs`, the per-prompt graph's input shapes, gets theirs). Returns how many
 * nodes moved.
 */
export function moveImageProducts(main: OnnxGraph, prefix: OnnxGraph, boundary: string[], inputs: Map<string, Sym[]>): number {
  const info = inferGraph(main, inputs);
  const image = new Set(boundary);
  const moved: OnnxNode[] = [];
  for (const n of main.nodes) {
    if ((n.opType !== 'MatMul' && n.opType !== 'Add') || n.domain !== '' || !n.inputs.some((i) => image.has(i))) continue;
    if (!n.inputs.every((i) => image.has(i) || main.inits.has(i)) || !numericDims(info.get(n.outputs[0])?.shape)) continue;
    moved.push(n);
    image.add(n.outputs[0]);
  }
  if (moved.length === 0) return 0;
  main.nodes = main.nodes.filter((n) => !moved.includes(n));
  prefix.nodes.push(...moved);
  for (const n of moved) for (const i of n.inputs) if (main.inits.has(i)) prefix.inits.set(i, main.inits.get(i) as TensorProto);
  // Handed over: what the per-prompt graph still reads.
  const read = new Set([...main.nodes.flatMap((n) => n.inputs), ...main.outputs.map((o) => o.name)]);
  for (const n of moved) {
    const name = n.outputs[0];
    if (!read.has(name)) continue;
    const dims = numericDims(info.get(name)?.shape) as number[];
    const v: ValueInfo = { name, elemType: DT.FLOAT, dims };
    prefix.outputs.push(v);
    main.inputs.push(v);
    inputs.set(name, dims.map(num));
    boundary.push(name);
  }
  return moved.length;
}
