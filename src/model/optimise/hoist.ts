/**
 * Splits a decoder graph into an image-side part, run once per encoded crop, and a per-prompt part.
 *
 * Every tensor gets a class by data flow:
 * - const: computed from initializers only;
 * - image: computed from the image-side inputs (and constants), with no prompt axis;
 * - uniform: prompt-independent values broadcast along a prompt axis of size P (an Expand, Tile or unrolled
 *   repeat_interleave of an image-side tensor, and what row-wise operators make of it). It is computed in its compact
 *   form (size 1 on that axis), once per image, and broadcast only where a per-prompt operator needs it;
 * - prompt: everything else.
 * An operator with uniform inputs keeps them compact when its result is the same with the broadcast done later:
 * element-wise operators and MatMul broadcast a size-1 axis themselves; Transpose, Reshape, Slice, Gather,
 * Softmax, LayerNormalization, reductions and convolutions that leave the prompt axis alone commute with the
 * broadcast. Any other use gets the full tensor (one Expand, in the per-prompt part).
 */
import { attrInt, attrInts, DT, graphReads, type OnnxGraph, type OnnxNode, type ValueInfo } from './graph.js';
import { BIG, BINARY_OPS, inferGraph, normAxis, numericDims, sliceParams, UNARY_OPS, type InfoMap, type TInfo } from './infer.js';
import { PExpr, deadCodeElimination, type PSource } from './static-shapes.js';
import { isNum, num, P, product, eq, type Sym } from './sym.js';

type Base = 'const' | 'image';
type Cls = { kind: 'const' } | { kind: 'image' } | { kind: 'prompt' } | { kind: 'uniform'; axis: number; compact: string; base: Base };

/** The two graphs and how tensors flow between them. */
export interface HoistResult {
  /** Runs once per crop: image-side inputs → `boundary`. */
  prefix: OnnxGraph;
  /** Runs per prompt batch: prompt inputs, `boundary` and `passthrough` → the decoder's outputs. */
  main: OnnxGraph;
  /** Tensors the prefix computes and the per-prompt graph reads (same names in both). */
  boundary: string[];
  /** Image-side inputs the per-prompt graph still reads directly. */
  passthrough: string[];
  /** Nodes of the original graph that went to the image side. */
  hoisted: number;
  /** Uniform tensors that per-prompt operators needed in full. */
  materialised: number;
}

/** The only prompt axis of a shape: exactly one dim equal to P and none other depending on P. */
function promptAxis(shape: readonly Sym[] | undefined): number | undefined {
  if (!shape) return undefined;
  let axis: number | undefined;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (isNum(d)) continue;
    if (!eq(d, P) || axis !== undefined) return undefined;
    axis = i;
  }
  return axis;
}

/**
 * Splits `g` (static shapes, see static-shapes.ts) into the image-side prefix and the per-prompt graph.
 * Returns undefined when nothing is prompt-independent beyond the inputs themselves.
 */
export function hoistImageSide(
  g: OnnxGraph,
  inputs: ReadonlyMap<string, Sym[]>,
  imageInputs: ReadonlySet<string>,
  source: PSource | undefined,
): HoistResult | undefined {
  const info = inferGraph(g, inputs);
  const out = g.emptyLike(g.name);
  for (const [k, v] of g.inits) out.inits.set(k, v);
  out.inputs = g.inputs;
  out.outputs = g.outputs;
  const pexpr = new PExpr(out, source);
  const cls = new Map<string, Cls>();
  const kindOf = new Map<string, 'const' | 'image' | 'prompt'>();
  for (const v of g.inputs) cls.set(v.name, { kind: imageInputs.has(v.name) ? 'image' : 'prompt' });
  for (const k of g.inits.keys()) cls.set(k, { kind: 'const' });
  const full = new Map<string, string>();
  let materialised = 0;
  let hoisted = 0;

  const emit = (opType: string, inputs: string[], attrs: OnnxNode['attrs'], kind: 'const' | 'image' | 'prompt', outputs?: string[], domain = ''): string => {
    const name = out.add(opType, inputs, attrs, outputs, domain);
    const node = out.nodes[out.nodes.length - 1];
    for (const o of node.outputs) if (o) kindOf.set(o, kind);
    return name;
  };

  /** The full (broadcast) form of a uniform tensor, made once in the per-prompt part. */
  const materialise = (name: string): string => {
    const c = cls.get(name);
    if (!c || c.kind !== 'uniform') return name;
    const known = full.get(name);
    if (known) return known;
    const rank = (info.get(name)?.shape as Sym[]).length;
    const first = out.nodes.length;
    const target = pexpr.tensor(Array.from({ length: rank }, (_, i) => (i === c.axis ? P : num(1))), [rank]);
    // The nodes reading P from the prompt input's shape belong to the per-prompt part.
    for (const n of out.nodes.slice(first)) for (const o of n.outputs) kindOf.set(o, 'prompt');
    const f = emit('Expand', [c.compact, target], [], 'prompt');
    full.set(name, f);
    materialised++;
    return f;
  };

  const baseOf = (ins: Cls[]): Base => (ins.some((c) => c.kind === 'image' || (c.kind === 'uniform' && c.base === 'image')) ? 'image' : 'const');
  const compactName = (name: string): string => {
    const c = cls.get(name);
    return c && c.kind === 'uniform' ? c.compact : name;
  };
  /** Emits `node` on compact inputs as a uniform result along `axis`. */
  const emitUniform = (node: OnnxNode, ins: Cls[], axis: number, inputs?: string[]): void => {
    const base = baseOf(ins);
    const outs = node.outputs.map((o) => (o ? out.fresh(`compact_${node.opType}`) : ''));
    emit(node.opType, inputs ?? node.inputs.map(compactName), node.attrs, base, outs, node.domain);
    node.outputs.forEach((o, i) => {
      if (o) cls.set(o, i === 0 ? { kind: 'uniform', axis, compact: outs[0], base } : { kind: base });
    });
    hoisted++;
  };
  /** A uniform result that is an existing compact tensor, reshaped to `dims` when its rank differs. */
  const aliasUniform = (name: string, src: string, srcDims: number[] | undefined, dims: number[], axis: number, base: Base): void => {
    let compact = src;
    if (!srcDims || srcDims.length !== dims.length || srcDims.some((d, i) => d !== dims[i])) {
      compact = emit('Reshape', [src, out.int64(dims)], [], base);
    }
    cls.set(name, { kind: 'uniform', axis, compact, base });
    hoisted++;
  };

  for (const node of g.nodes) {
    const ins = node.inputs.map((i) => (i === '' ? ({ kind: 'const' } as Cls) : (cls.get(i) ?? ({ kind: 'prompt' } as Cls))));
    const hasSubgraph = node.attrs.some((a) => a.g || (a.graphs && a.graphs.length > 0));
    if (!hasSubgraph && ins.every((c) => c.kind === 'const')) {
      emit(node.opType, node.inputs, node.attrs, 'const', node.outputs, node.domain);
      for (const o of node.outputs) if (o) cls.set(o, { kind: 'const' });
      continue;
    }
    if (!hasSubgraph && ins.every((c) => c.kind === 'const' || c.kind === 'image')) {
      emit(node.opType, node.inputs, node.attrs, 'image', node.outputs, node.domain);
      for (const o of node.outputs) if (o) cls.set(o, { kind: 'image' });
      hoisted++;
      continue;
    }
    if (!hasSubgraph && keepCompact(node, ins)) continue;
    // A subgraph (a Loop or If left as it is) reading a compact tensor by its original name: leave the graph alone.
    if (hasSubgraph && node.attrs.some((a) => a.g && [...graphReads(a.g)].some((x) => cls.get(x)?.kind === 'uniform'))) return undefined;
    // A per-prompt operator: uniform inputs in full.
    emit(node.opType, node.inputs.map((i) => (i ? materialise(i) : i)), node.attrs, 'prompt', node.outputs, node.domain);
    for (const o of node.outputs) if (o) cls.set(o, { kind: 'prompt' });
  }
  // Graph outputs that stayed uniform (or image-side) are produced in full by the per-prompt part.
  for (const o of g.outputs) {
    const c = cls.get(o.name);
    if (!c || c.kind === 'prompt') continue;
    const src = c.kind === 'uniform' ? materialise(o.name) : o.name;
    if (src === o.name) continue;
    emit('Identity', [src], [], 'prompt', [o.name]);
  }
  if (hoisted === 0) return undefined;

  /** Handles a node with uniform inputs whose result can stay compact; false to fall back to the full tensors. */
  function keepCompact(node: OnnxNode, ins: Cls[]): boolean {
    const op = node.domain === '' ? node.opType : '';
    const oinfo = info.get(node.outputs[0]);
    const outShape = oinfo?.shape;
    const a = promptAxis(outShape);
    const xi = info.get(node.inputs[0]);
    const x = ins[0];
    const extraOutputsUnused = node.outputs.slice(1).every((o) => o === '');
    if (a === undefined || !outShape) return false;
    const compactOut = outShape.map((d, i) => (i === a ? 1 : d.c));
    const compactOutNum = outShape.every((d, i) => i === a || isNum(d)) ? compactOut : undefined;
    // Broadcasts of image-side or constant tensors along the prompt axis.
    if ((op === 'Expand' || op === 'Tile') && x.kind !== 'prompt' && compactOutNum) {
      const xShape = numericDims(x.kind === 'uniform' ? compactShape(xi, x.axis) : xi?.shape);
      if (!xShape) return false;
      const off = compactOutNum.length - xShape.length;
      if (off < 0 || (x.kind === 'uniform' && x.axis + off !== a)) return false;
      if (op === 'Tile' && off !== 0) return false;
      const padded = [...new Array(off).fill(1), ...xShape];
      const base: Base = x.kind === 'uniform' ? x.base : x.kind === 'image' ? 'image' : 'const';
      const src = compactName(node.inputs[0]);
      if (padded.every((d, i) => d === compactOutNum[i])) {
        aliasUniform(node.outputs[0], src, xShape, compactOutNum, a, base);
        return true;
      }
      if (op === 'Tile') {
        const reps = compactOutNum.map((d, i) => d / padded[i]);
        if (reps.some((r) => !Number.isInteger(r))) return false;
        emitUniform(node, [x], a, [src, out.int64(reps)]);
      } else {
        emitUniform(node, [x], a, [src, out.int64(compactOutNum)]);
      }
      return true;
    }
    // Gather from an axis of size 1 (every valid index is 0): a broadcast of an image-side tensor, e.g. the
    // index-based form of repeat_interleave with P copies of one image.
    if (op === 'Gather' && (x.kind === 'const' || x.kind === 'image') && compactOutNum) {
      const xs = numericDims(xi?.shape);
      const idx = info.get(node.inputs[1])?.shape;
      const axis = xs ? normAxis(attrInt(node, 'axis', 0), xs.length) : -1;
      if (!xs || !idx || xs[axis] !== 1) return false;
      const ones = [...xs.slice(0, axis), ...idx.map(() => 1), ...xs.slice(axis + 1)];
      const base: Base = x.kind === 'image' ? 'image' : 'const';
      const reshaped = emit('Reshape', [node.inputs[0], out.int64(ones)], [], base);
      if (ones.every((d, i) => d === compactOutNum[i])) aliasUniform(node.outputs[0], reshaped, ones, compactOutNum, a, base);
      else emitUniform({ ...node, opType: 'Expand', attrs: [] }, [x], a, [reshaped, out.int64(compactOutNum)]);
      return true;
    }
    if (op === 'ConstantOfShape' && compactOutNum) {
      emitUniform(node, [{ kind: 'const' }], a, [out.int64(compactOutNum)]);
      return true;
    }
    if (ELEMENTWISE.has(op)) {
      const r = outShape.length;
      let anyPrompt = false;
      for (let k = 0; k < node.inputs.length; k++) {
        if (!node.inputs[k]) continue;
        const s = info.get(node.inputs[k])?.shape;
        if (!s) return false;
        const ai = a - (r - s.length);
        const c = ins[k];
        if (c.kind === 'uniform') {
          if (c.axis !== ai) return false;
        } else if (c.kind === 'prompt') {
          if (ai < 0 || !eq(s[ai], P)) return false;
          anyPrompt = true;
        }
      }
      if (anyPrompt) {
        emit(node.opType, node.inputs.map(compactName), node.attrs, 'prompt', node.outputs, node.domain);
        for (const o of node.outputs) if (o) cls.set(o, { kind: 'prompt' });
        return true;
      }
      emitUniform(node, ins, a);
      return true;
    }
    if (op === 'MatMul') {
      const sa = xi?.shape;
      const sb = info.get(node.inputs[1])?.shape;
      if (!sa || !sb || sa.length < 2 || sb.length < 2) return false;
      const r = outShape.length;
      const [ca, cb] = [ins[0], ins[1]];
      if (a < r - 2) {
        let anyPrompt = false;
        for (const [s, c] of [[sa, ca], [sb, cb]] as const) {
          const ai = a - (r - s.length);
          if (c.kind === 'uniform' && c.axis !== ai) return false;
          if (c.kind === 'prompt') {
            if (ai < 0 || ai >= s.length - 2 || !eq(s[ai], P)) return false;
            anyPrompt = true;
          }
        }
        if (anyPrompt) {
          emit('MatMul', node.inputs.map(compactName), node.attrs, 'prompt', node.outputs);
          cls.set(node.outputs[0], { kind: 'prompt' });
          return true;
        }
        emitUniform(node, ins, a);
        return true;
      }
      if (a === r - 2 && ca.kind === 'uniform' && ca.axis === sa.length - 2 && (cb.kind === 'const' || cb.kind === 'image')) {
        emitUniform(node, ins, a);
        return true;
      }
      if (a === r - 1 && cb.kind === 'uniform' && cb.axis === sb.length - 1 && (ca.kind === 'const' || ca.kind === 'image')) {
        emitUniform(node, ins, a);
        return true;
      }
      return false;
    }
    if (x.kind !== 'uniform' || ins.slice(1).some((c) => c.kind === 'prompt' || c.kind === 'uniform')) return false;
    const ax = x.axis;
    const rank = xi?.shape?.length ?? 0;
    switch (op) {
      case 'Gemm': {
        const rowAxis = attrInt(node, 'transA', 0) ? 1 : 0;
        const c = node.inputs[2] ? info.get(node.inputs[2])?.shape : [];
        if (ax !== rowAxis || a !== 0 || !c || (c.length === 2 && !(isNum(c[0]) && c[0].c === 1))) return false;
        emitUniform(node, ins, 0);
        return true;
      }
      case 'Transpose': {
        const perm = attrInts(node, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
        if (perm.indexOf(ax) !== a) return false;
        emitUniform(node, ins, a);
        return true;
      }
      case 'Reshape': {
        const inShape = xi?.shape;
        if (!inShape || !compactOutNum) return false;
        const before = product(inShape.slice(0, ax));
        const after = product(outShape.slice(0, a));
        if (!isNum(before) || !isNum(after) || before.c !== after.c) return false;
        emitUniform(node, ins, a, [x.compact, out.int64(compactOutNum)]);
        return true;
      }
      case 'Unsqueeze':
      case 'Squeeze': {
        if (node.inputs.length < 2 && !attrInts(node, 'axes')) return false;
        const compactIn = compactShape(xi, ax);
        const expected = numericDims(compactIn);
        if (!expected) return false;
        emitUniform(node, ins, a);
        return true;
      }
      case 'Concat': {
        const axis = normAxis(attrInt(node, 'axis', 0), outShape.length);
        if (axis === a || ins.some((c) => c.kind !== 'uniform' || c.axis !== a)) return false;
        emitUniform(node, ins, a);
        return true;
      }
      case 'Slice': {
        const p = sliceParams(g, node, node.inputs.map((i) => info.get(i)), rank);
        if (!p) return false;
        for (let k = 0; k < p.axes.length; k++) {
          if (p.axes[k] === ax && !(p.starts[k] === 0 && p.ends[k] >= BIG && p.steps[k] === 1)) return false;
        }
        if (a !== ax) return false;
        emitUniform(node, ins, a);
        return true;
      }
      case 'Gather': {
        const axis = normAxis(attrInt(node, 'axis', 0), rank);
        const idxRank = info.get(node.inputs[1])?.shape?.length;
        if (axis === ax || idxRank === undefined) return false;
        if (a !== (ax < axis ? ax : ax + idxRank - 1)) return false;
        emitUniform(node, ins, a);
        return true;
      }
      case 'Softmax':
      case 'LogSoftmax': {
        const axis = normAxis(attrInt(node, 'axis', g.opset >= 13 ? -1 : 1), rank);
        if (g.opset >= 13 ? axis === ax : ax >= axis) return false;
        emitUniform(node, ins, a);
        return true;
      }
      case 'LayerNormalization': {
        const axis = normAxis(attrInt(node, 'axis', -1), rank);
        if (ax >= axis || !extraOutputsUnused) return false;
        emitUniform(node, ins, a);
        return true;
      }
      case 'ReduceMean':
      case 'ReduceSum':
      case 'ReduceMax':
      case 'ReduceMin':
      case 'ReduceProd':
      case 'ReduceL2':
      case 'ReduceSumSquare': {
        const axes = node.inputs.length > 1 && node.inputs[1] ? info.get(node.inputs[1])?.value?.map((v) => v.c) : attrInts(node, 'axes');
        if (!axes || axes.length === 0 || axes.map((v) => normAxis(v, rank)).includes(ax)) return false;
        emitUniform(node, ins, a);
        return true;
      }
      case 'Conv':
      case 'ConvTranspose':
        if (ax !== 0 || a !== 0) return false;
        emitUniform(node, ins, a);
        return true;
      default:
        return false;
    }
  }

  function compactShape(t: TInfo | undefined, axis: number): Sym[] | undefined {
    return t?.shape?.map((d, i) => (i === axis ? num(1) : d));
  }

  // The split: image-side nodes (and the constants they read) before, per-prompt nodes (and theirs) after.
  const merged = inferGraph(out, inputs);
  const prefix = g.emptyLike(`${g.name}_image_side`);
  const main = g.emptyLike(g.name);
  for (const [k, v] of out.inits) {
    prefix.inits.set(k, v);
    main.inits.set(k, v);
  }
  const mainReads = new Set<string>();
  for (const n of out.nodes) {
    const kind = kindOf.get(n.outputs.find((o) => o) ?? '') ?? 'prompt';
    if (kind === 'prompt') {
      main.nodes.push(n);
      for (const i of n.inputs) mainReads.add(i);
      for (const a of n.attrs) if (a.g) for (const x of graphReads(a.g)) mainReads.add(x);
    } else {
      prefix.nodes.push(n);
      if (kind === 'const') main.nodes.push(n);
    }
  }
  main.outputs = g.outputs;
  for (const o of g.outputs) mainReads.add(o.name);
  const boundary: string[] = [];
  const passthrough: string[] = [];
  for (const name of mainReads) {
    if (kindOf.get(name) === 'image') boundary.push(name);
    else if (imageInputs.has(name)) passthrough.push(name);
  }
  const vi = (name: string): ValueInfo => {
    const t = merged.get(name) as TInfo;
    const dims = numericDims(t.shape);
    if (!dims) throw new Error(`image-side tensor ${name} has no static shape`);
    return { name, elemType: t.elem || DT.FLOAT, dims };
  };
  prefix.inputs = g.inputs.filter((v) => imageInputs.has(v.name));
  prefix.outputs = boundary.map(vi);
  main.inputs = [...g.inputs.filter((v) => !imageInputs.has(v.name) || passthrough.includes(v.name)), ...boundary.map(vi)];
  deadCodeElimination(prefix);
  deadCodeElimination(main);
  if (boundary.length === 0) return undefined;
  return { prefix, main, boundary, passthrough, hoisted, materialised };
}

/** Operators that broadcast their inputs element by element (and unary ones). */
const ELEMENTWISE = new Set([...BINARY_OPS, 'Where', ...UNARY_OPS]);
