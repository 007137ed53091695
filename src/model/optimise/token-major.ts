/**
 * Token-major upscaling: a ConvTranspose whose kernel equals its stride (no overlap, no padding) is a MatMul when
 * its channels are the innermost axis of memory: out[n, o, s·y + a, s·x + b] = bias[o] + Σ_c in[n, c, y, x] ·
 * W[c, o, a, b]. SAM's decoders hold the image tokens as [P, 4096, 256] and transpose them to NCHW only to run
 * two such ConvTransposes with a LayerNorm over channels in between; this pass keeps the data token-major instead.
 *
 * It works on lazy views: a logical tensor L is `reshape(transpose(reshape(D, fine), perm), shape(L))` of a
 * physical tensor D, where `fine` is a factorisation of D's axes and each logical axis is a group of fine factors.
 * Transpose and Reshape only regroup factors; element-wise operators and reductions run on D directly (constants
 * are rearranged to match, which ONNX Runtime folds at load); a qualifying ConvTranspose becomes
 * MatMul + Add on D with its channel factor innermost, adding the kernel offsets as new factors; a MatMul that
 * contracts the innermost factor runs on D too. A view is turned back into its logical layout (one Transpose, or
 * a few fast single-axis ones: transpose-moves.ts) only where another operator needs it. The pass changes nothing
 * unless a ConvTranspose is rewritten.
 */
import { attrInt, attrInts, attrString, elementBytes, floatValues, intsAttr, tensorDims, type OnnxGraph, type OnnxNode } from './graph.js';
import { BINARY_OPS, inferGraph, UNARY_OPS, type InfoMap } from './infer.js';
import { producers, reshapeTarget } from './static-shapes.js';
import { eq, isNum, mul, num, product, type Sym } from './sym.js';
import { fastMoves } from './transpose-moves.js';

/** A view that cannot be turned back into its logical layout: the pass leaves the graph as it was. */
class LayoutError extends Error {}

interface Factor {
  id: number;
  size: Sym;
}

/** A logical tensor over a physical one; `src` has shape `srcShape`, its fine factorisation is `factors`. */
interface View {
  src: string;
  srcShape: Sym[];
  factors: Factor[];
  /** Factor ids of each logical axis, major to minor. */
  groups: number[][];
}

const REDUCE = new Set(['ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin']);
const ELEMENTWISE = new Set([...UNARY_OPS, ...BINARY_OPS]);
/** Operators a view passes through without being materialised. */
const VIEW_FRIENDLY = new Set([...ELEMENTWISE, ...REDUCE, 'Transpose', 'Reshape']);

const sameShape = (a: readonly Sym[], b: readonly Sym[]): boolean => a.length === b.length && a.every((d, i) => eq(d, b[i]));
const isOne = (s: Sym): boolean => isNum(s) && s.c === 1;

/** Rewrites qualifying ConvTranspose chains; returns how many ConvTransposes became MatMuls. */
export function tokenMajorUpscaling(g: OnnxGraph, inputs: ReadonlyMap<string, Sym[]>): number {
  const info = inferGraph(g, inputs);
  const candidates = g.nodes.filter((n) => isKernelStrideConvT(g, n, info));
  if (candidates.length === 0) return 0;
  const lazy = lazyCone(g, candidates);
  const before = g.nodes;
  let rewritten = 0;
  try {
    rewritten = rewrite(g, info, lazy);
  } catch (err) {
    if (!(err instanceof LayoutError)) throw err;
  }
  if (rewritten === 0) g.nodes = before;
  return rewritten;
}

/** ConvTranspose with kernel = stride, no padding, no dilation, one group, float32 constant weights. */
function isKernelStrideConvT(g: OnnxGraph, n: OnnxNode, info: InfoMap): boolean {
  if (n.opType !== 'ConvTranspose' || n.domain !== '') return false;
  const w = g.inits.get(n.inputs[1]);
  if (!w || !floatValues(w)) return false;
  const bias = n.inputs[2] ? g.inits.get(n.inputs[2]) : undefined;
  if (n.inputs[2] && !(bias && floatValues(bias))) return false;
  const dims = tensorDims(w);
  const k = attrInts(n, 'kernel_shape') ?? dims.slice(2);
  const strides = attrInts(n, 'strides') ?? k.map(() => 1);
  const pads = attrInts(n, 'pads') ?? [];
  const dil = attrInts(n, 'dilations') ?? [];
  const outPad = attrInts(n, 'output_padding') ?? [];
  const autoPad = attrString(n, 'auto_pad');
  if (autoPad && autoPad !== 'NOTSET') return false;
  if (n.attrs.some((a) => a.name === 'output_shape')) return false;
  return (
    attrInt(n, 'group', 1) === 1 &&
    k.every((v, i) => v === strides[i] && v === dims[2 + i]) &&
    pads.every((p) => p === 0) &&
    dil.every((d) => d === 1) &&
    outPad.every((p) => p === 0) &&
    info.get(n.outputs[0])?.shape !== undefined
  );
}

/** Transpose and Reshape nodes from which a candidate is reachable through view-friendly operators only. */
function lazyCone(g: OnnxGraph, candidates: OnnxNode[]): Set<OnnxNode> {
  const producer = producers(g);
  const cone = new Set<OnnxNode>();
  const stack = candidates.map((c) => c.inputs[0]);
  const seen = new Set<string>();
  while (stack.length > 0) {
    const t = stack.pop() as string;
    if (seen.has(t)) continue;
    seen.add(t);
    const p = producer.get(t);
    if (!p || !VIEW_FRIENDLY.has(p.opType) || p.domain !== '') continue;
    cone.add(p);
    for (const i of p.inputs) if (i) stack.push(i);
  }
  return cone;
}

function rewrite(g: OnnxGraph, info: InfoMap, lazy: Set<OnnxNode>): number {
  const nodes = g.nodes;
  g.nodes = [];
  const views = new Map<string, View>();
  const real = new Map<string, string>();
  let nextId = 0;
  let rewritten = 0;
  const outputs = new Set(g.outputs.map((o) => o.name));
  const shapeOf = (t: string): Sym[] | undefined => info.get(t)?.shape;

  const trivial = (t: string, shape: Sym[]): View => {
    const factors = shape.map((size) => ({ id: nextId++, size }));
    return { src: t, srcShape: shape, factors, groups: factors.map((f) => [f.id]) };
  };
  const viewOf = (t: string): View | undefined => {
    const known = views.get(t);
    if (known) return known;
    const s = shapeOf(t);
    return s ? trivial(t, s) : undefined;
  };
  const logicalShape = (v: View): Sym[] => v.groups.map((ids) => product(ids.map((id) => sizeOf(v, id))));
  const sizeOf = (v: View, id: number): Sym => (v.factors.find((f) => f.id === id) as Factor).size;
  const reshape = (t: string, from: Sym[], to: Sym[]): string | undefined => {
    if (sameShape(from, to)) return t;
    const target = reshapeTarget(from, to);
    return target ? g.add('Reshape', [t, g.int64(target)]) : undefined;
  };
  const mustReshape = (t: string, from: Sym[], to: Sym[]): string => {
    const r = reshape(t, from, to);
    if (r === undefined) throw new LayoutError(`cannot reshape ${t}`);
    return r;
  };
  /** The physical tensor with the view's fine shape (one Reshape per view). */
  const fineCache = new Map<View, string | undefined>();
  const fine = (v: View): string | undefined => {
    if (!fineCache.has(v)) fineCache.set(v, reshape(v.src, v.srcShape, v.factors.map((f) => f.size)));
    return fineCache.get(v);
  };

  /** The logical tensor of a view, computed once. */
  const materialise = (t: string): string => {
    const v = views.get(t);
    if (!v) return t;
    const known = real.get(t);
    if (known) return known;
    const shape = logicalShape(v);
    // Drop size-1 factors, then merge factors that stay neighbours after the permutation.
    const order = v.groups.flat().filter((id) => !isOne(sizeOf(v, id)));
    const kept = v.factors.filter((f) => !isOne(f.size));
    const merged: Factor[][] = [];
    for (const f of kept) {
      const last = merged[merged.length - 1];
      const prev = last?.[last.length - 1];
      if (prev && order.indexOf(f.id) === order.indexOf(prev.id) + 1) last.push(f);
      else merged.push([f]);
    }
    const blockSize = merged.map((b) => product(b.map((f) => f.size)));
    const permOrder = merged.map((_, i) => i).sort((a, b) => order.indexOf(merged[a][0].id) - order.indexOf(merged[b][0].id));
    let out: string;
    const identity = permOrder.every((p, i) => p === i);
    if (identity) {
      out = mustReshape(v.src, v.srcShape, shape);
    } else {
      const bytes = elementBytes(info.get(t)?.elem ?? 0);
      const moves = bytes ? fastMoves(blockSize.map((s) => (isNum(s) ? s.c : undefined)), permOrder, bytes) : undefined;
      if (moves) {
        // Several fast single-axis moves rather than one slow general Transpose (see transpose-moves.ts).
        let cur = v.src;
        let curShape = v.srcShape;
        let arrangement = blockSize.map((_, i) => i);
        for (const { a, b, c } of moves) {
          const part = (from: number, to: number): Sym => product(arrangement.slice(from, to).map((i) => blockSize[i]));
          const dims = [part(0, a), part(a, b), part(b, c), part(c, arrangement.length)];
          const keep = dims.map((d, i) => i === 1 || i === 2 || !isOne(d));
          const kept = dims.filter((_, i) => keep[i]);
          const perm = [0, 2, 1, 3].filter((i) => keep[i]).map((i) => keep.slice(0, i).filter(Boolean).length);
          cur = g.add('Transpose', [mustReshape(cur, curShape, kept)], [intsAttr('perm', perm)]);
          curShape = perm.map((p) => kept[p]);
          arrangement = [...arrangement.slice(0, a), ...arrangement.slice(b, c), ...arrangement.slice(a, b), ...arrangement.slice(c)];
        }
        out = mustReshape(cur, curShape, shape);
      } else {
        const blocks = mustReshape(v.src, v.srcShape, blockSize);
        const tr = g.add('Transpose', [blocks], [intsAttr('perm', permOrder)]);
        out = mustReshape(tr, permOrder.map((p) => blockSize[p]), shape);
      }
    }
    real.set(t, out);
    return out;
  };

  /** Regroups a view's logical axes into `to`, splitting factors where needed; undefined when it cannot. */
  const regroup = (v: View, to: Sym[]): View | undefined => {
    const factors = v.factors.map((f) => ({ ...f }));
    const byId = (id: number): Factor => factors.find((x) => x.id === id) as Factor;
    const order = v.groups.flat();
    const groups: number[][] = [];
    let pos = 0;
    for (const d of to) {
      const group: number[] = [];
      let acc: Sym = num(1);
      while (!eq(acc, d)) {
        if (pos >= order.length) return undefined;
        const f = byId(order[pos]);
        const next = mul(acc, f.size);
        if (isOne(f.size) || eq(next, d) || (isNum(d) && isNum(next) && next.c < d.c && d.c % next.c === 0)) {
          group.push(f.id);
          acc = next;
          pos++;
          continue;
        }
        // The axis ends inside this factor: split it into a major part (this axis) and a minor part (the next).
        if (!isNum(d) || !isNum(acc) || !isNum(f.size) || d.c % acc.c !== 0) return undefined;
        const need = d.c / acc.c;
        if (need >= f.size.c || f.size.c % need !== 0) return undefined;
        const major = { id: nextId++, size: num(need) };
        const minor = { id: nextId++, size: num(f.size.c / need) };
        factors.splice(factors.indexOf(f), 1, major, minor);
        order.splice(pos, 1, major.id, minor.id);
      }
      groups.push(group);
    }
    // Size-1 factors left over belong to the last axis.
    for (; pos < order.length; pos++) {
      if (!isOne(byId(order[pos]).size) || groups.length === 0) return undefined;
      groups[groups.length - 1].push(order[pos]);
    }
    return { src: v.src, srcShape: v.srcShape, factors, groups };
  };

  /** A constant (or small tensor) in a view's fine layout, for an element-wise operator. */
  const inLayout = (t: string, v: View): string | undefined => {
    const s = shapeOf(t);
    if (!s || !s.every(isNum) || product(s).c > 1 << 16) return undefined;
    // A single value broadcasts as it is (and stays recognisable as a scalar for ONNX Runtime's fusions).
    if (product(s).c === 1 && s.length <= v.factors.length) return t;
    const r = v.groups.length;
    if (s.length > r) return undefined;
    const padded = [...new Array<Sym>(r - s.length).fill(num(1)), ...s];
    const logical = logicalShape(v);
    const split: Sym[] = [];
    const ids: number[] = [];
    for (let i = 0; i < r; i++) {
      const whole = !isOne(padded[i]);
      if (whole && !eq(padded[i], logical[i])) return undefined;
      for (const id of v.groups[i]) {
        split.push(whole ? sizeOf(v, id) : num(1));
        ids.push(id);
      }
    }
    const perm = v.factors.map((f) => ids.indexOf(f.id));
    const init = g.inits.get(t);
    const values = init && floatValues(init);
    if (values && split.every(isNum)) {
      // A float constant is rearranged here, so later passes (LayerNorm fusion) still see a constant.
      const dims = split.map((d) => d.c);
      return g.float32(transposeData(values, dims, perm), perm.map((p) => dims[p]));
    }
    const splitT = reshape(t, s, split);
    if (splitT === undefined) return undefined;
    const identity = perm.every((p, i) => p === i);
    return identity ? splitT : g.add('Transpose', [splitT], [intsAttr('perm', perm)]);
  };

  const compatible = (a: View, b: View): boolean =>
    a.factors.length === b.factors.length &&
    a.factors.every((f, i) => f.id === b.factors[i].id && (eq(f.size, b.factors[i].size) || isOne(f.size) || isOne(b.factors[i].size))) &&
    a.groups.length === b.groups.length &&
    a.groups.every((gr, i) => gr.length === b.groups[i].length && gr.every((id, j) => id === b.groups[i][j]));

  const emitFallback = (n: OnnxNode): void => {
    g.nodes.push({ ...n, inputs: n.inputs.map((i) => (i ? materialise(i) : i)) });
  };

  for (const n of nodes) {
    const op = n.domain === '' ? n.opType : '';
    const anyView = n.inputs.some((i) => views.has(i));
    const out = n.outputs[0];
    if ((op === 'Transpose' || op === 'Reshape') && (anyView || lazy.has(n)) && !outputs.has(out)) {
      const v = viewOf(n.inputs[0]);
      const outShape = shapeOf(out);
      if (v && outShape) {
        if (op === 'Transpose') {
          const perm = attrInts(n, 'perm') ?? v.groups.map((_, i) => v.groups.length - 1 - i);
          views.set(out, { ...v, groups: perm.map((p) => v.groups[p]) });
          continue;
        }
        const r = regroup(v, outShape);
        if (r) {
          views.set(out, r);
          continue;
        }
      }
      emitFallback(n);
      continue;
    }
    if (!anyView) {
      g.nodes.push(n);
      continue;
    }
    const done = handleView(n, op);
    if (!done) emitFallback(n);
  }
  for (const o of g.outputs) {
    if (!views.has(o.name)) continue;
    const m = materialise(o.name);
    g.add('Identity', [m], [], [o.name]);
  }
  return rewritten;

  function handleView(n: OnnxNode, op: string): boolean {
    const out = n.outputs[0];
    if (outputs.has(out) || n.outputs.length !== 1) return false;
    if (ELEMENTWISE.has(op)) {
      const ref = n.inputs.map((i) => views.get(i)).find((v) => v) as View;
      const ins: string[] = [];
      let result: View = ref;
      for (const i of n.inputs) {
        const v = views.get(i);
        if (v) {
          if (!compatible(v, ref)) return false;
          const d = fine(v);
          if (!d) return false;
          ins.push(d);
          // The result's factor sizes are the broadcast of the inputs'.
          result = { ...result, factors: result.factors.map((f, k) => (isOne(f.size) ? { ...f, size: v.factors[k].size } : f)) };
        } else {
          const c = inLayout(i, ref);
          if (!c) return false;
          ins.push(c);
        }
      }
      const o = g.add(n.opType, ins, n.attrs);
      views.set(out, { src: o, srcShape: result.factors.map((f) => f.size), factors: result.factors, groups: result.groups });
      return true;
    }
    if (REDUCE.has(op)) {
      const v = views.get(n.inputs[0]) as View;
      if (attrInt(n, 'keepdims', 1) !== 1) return false;
      const r = v.groups.length;
      const axes = (n.inputs[1] ? info.get(n.inputs[1])?.value?.map((x) => x.c) : attrInts(n, 'axes'))?.map((a) => (a < 0 ? a + r : a));
      if (!axes || axes.length === 0) return false;
      const ids = axes.flatMap((a) => v.groups[a]);
      const d = fine(v);
      if (!d) return false;
      const positions = ids.map((id) => v.factors.findIndex((f) => f.id === id));
      const attrs = n.attrs.filter((a) => a.name !== 'axes');
      const o = n.inputs[1]
        ? g.add(n.opType, [d, g.int64(positions)], attrs)
        : g.add(n.opType, [d], [...attrs, intsAttr('axes', positions)]);
      const factors = v.factors.map((f) => (ids.includes(f.id) ? { ...f, size: num(1) } : f));
      views.set(out, { src: o, srcShape: factors.map((f) => f.size), factors, groups: v.groups });
      return true;
    }
    if (op === 'ConvTranspose' && isKernelStrideConvT(g, n, info)) {
      const v = views.get(n.inputs[0]) as View;
      const channel = v.groups[1];
      const last = v.factors[v.factors.length - 1];
      if (channel.length !== 1 || channel[0] !== last.id || !isNum(last.size)) return false;
      const d = fine(v);
      if (!d) return false;
      const w = g.inits.get(n.inputs[1]);
      const wd = w && floatValues(w);
      if (!w || !wd) return false;
      const [cin, cout, ...kernel] = tensorDims(w);
      if (cin !== last.size.c) return false;
      const taps = kernel.reduce((a, b) => a * b, 1);
      // W [Cin, Cout, k...] → W' [Cin, (k..., Cout)], bias repeated for every kernel offset.
      const w2 = new Float32Array(cin * taps * cout);
      for (let c = 0; c < cin; c++) {
        for (let o = 0; o < cout; o++) {
          for (let t = 0; t < taps; t++) w2[c * taps * cout + t * cout + o] = wd[(c * cout + o) * taps + t];
        }
      }
      const rows = g.add('Reshape', [d, g.int64([-1, cin])]);
      let y = g.add('MatMul', [rows, g.float32(w2, [cin, taps * cout])]);
      const biasInit = n.inputs[2] ? g.inits.get(n.inputs[2]) : undefined;
      const bias = biasInit ? floatValues(biasInit) : undefined;
      if (bias) {
        const b2 = new Float32Array(taps * cout);
        for (let t = 0; t < taps; t++) b2.set(bias, t * cout);
        y = g.add('Add', [y, g.float32(b2, [taps * cout])]);
      }
      const kFactors = kernel.map((k) => ({ id: nextId++, size: num(k) }));
      const oFactor = { id: nextId++, size: num(cout) };
      const factors = [...v.factors.slice(0, -1), ...kFactors, oFactor];
      const groups = v.groups.map((gr, i) => (i === 1 ? [oFactor.id] : i >= 2 ? [...gr, kFactors[i - 2].id] : gr));
      const physical = [product(v.factors.slice(0, -1).map((f) => f.size)), num(taps * cout)];
      views.set(out, { src: y, srcShape: physical, factors, groups });
      rewritten++;
      return true;
    }
    if (op === 'MatMul' && !views.has(n.inputs[0]) && views.has(n.inputs[1])) {
      // A [B..., M, K] × view [B..., K, N] with K the innermost factor: D [B..., rest, K] × Aᵀ → [B..., rest, M].
      const v = views.get(n.inputs[1]) as View;
      const a = shapeOf(n.inputs[0]);
      const r = v.groups.length;
      if (!a || a.length !== r || r < 3) return false;
      const k = v.groups[r - 2];
      const last = v.factors[v.factors.length - 1];
      if (k.length !== 1 || k[0] !== last.id) return false;
      const batchIds = v.groups.slice(0, r - 2);
      if (batchIds.some((gr) => gr.length !== 1)) return false;
      if (batchIds.some((gr, i) => v.factors[i].id !== gr[0] || !eq(v.factors[i].size, a[i]))) return false;
      const d = fine(v);
      if (!d) return false;
      const batch = v.factors.slice(0, r - 2).map((f) => f.size);
      const rest = product(v.factors.slice(r - 2, -1).map((f) => f.size));
      const shaped = reshape(d, v.factors.map((f) => f.size), [...batch, rest, last.size]);
      if (!shaped) return false;
      const perm = [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2];
      const at = g.add('Transpose', [n.inputs[0]], [intsAttr('perm', perm)]);
      const y = g.add('MatMul', [shaped, at]);
      const m = { id: nextId++, size: a[r - 2] };
      const factors = [...v.factors.slice(0, -1), m];
      const groups = v.groups.map((gr, i) => (i === r - 2 ? [m.id] : gr));
      views.set(n.outputs[0], { src: y, srcShape: [...batch, rest, m.size], factors, groups });
      return true;
    }
    return false;
  }
}

/** Row-major data of shape `dims` transposed by `perm` (output axis i is input axis perm[i]). */
export function transposeData(data: Float32Array, dims: readonly number[], perm: readonly number[]): Float32Array {
  const out = new Float32Array(data.length);
  const outDims = perm.map((p) => dims[p]);
  const strides = new Array<number>(dims.length);
  for (let i = dims.length - 1, s = 1; i >= 0; i--) {
    strides[i] = s;
    s *= dims[i];
  }
  const idx = new Array<number>(dims.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let i = 0; i < perm.length; i++) src += idx[i] * strides[perm[i]];
    out[o] = data[src];
    for (let i = outDims.length - 1; i >= 0; i--) {
      if (++idx[i] < outDims[i]) break;
      idx[i] = 0;
    }
  }
  return out;
}
