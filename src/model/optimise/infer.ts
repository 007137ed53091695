/**
 * Shape inference with the prompt count P as a symbol, plus the values of small integer tensors (the shape
 * arithmetic exports do with Shape → Gather → Concat → Reshape). Every rule states what the ONNX operator does to
 * shapes; an operator without a rule, or a case a rule does not cover, gives "unknown" and the passes leave the
 * nodes that need it alone.
 */
import { attrInt, attrInts, attrString, getAttr, intValues, tensorDims, toNumber, DT, type OnnxGraph, type OnnxNode } from './graph.js';
import { add, div, eq, hasP, isNum, mul, neg, num, product, type Sym } from './sym.js';

/** What is known about one tensor. */
export interface TInfo {
  elem: number;
  shape?: Sym[];
  /** Row-major values of a small integer or boolean tensor. */
  value?: Sym[];
}

export type InfoMap = Map<string, TInfo>;

/** Integer tensors up to this many elements carry their values. */
const MAX_VALUE_ELEMENTS = 1024;
/** Slice ends at or beyond this mean "to the end". */
export const BIG = 2 ** 53;

const INT_TYPES = new Set<number>([DT.INT64, DT.INT32, DT.BOOL, DT.INT8, DT.UINT8]);
const COMPARE = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor', 'Not', 'IsNaN', 'IsInf']);
const BINARY = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor',
  'Max', 'Min', 'Mod', 'PRelu', 'Sum', 'Mean', 'BitShift',
]);
/** Element-wise operators with one tensor input (Clip's bounds and CastLike's target are scalars or types). */
export const UNARY_OPS: ReadonlySet<string> = new Set([
  'Relu', 'Sigmoid', 'Tanh', 'Erf', 'Sqrt', 'Exp', 'Log', 'Abs', 'Neg', 'Not', 'Floor', 'Ceil', 'Round', 'Sin', 'Cos',
  'Reciprocal', 'Sign', 'Softplus', 'Softsign', 'HardSigmoid', 'HardSwish', 'LeakyRelu', 'Elu', 'Selu', 'Celu', 'Gelu',
  'Identity', 'Cast', 'Clip', 'IsNaN', 'IsInf', 'Mish', 'Shrink', 'ThresholdedRelu',
]);
export const BINARY_OPS: ReadonlySet<string> = BINARY;
/** Operators whose output 0 has the shape of input 0. */
const SAME_SHAPE = new Set([
  ...UNARY_OPS, 'CastLike', 'Softmax', 'LogSoftmax', 'LayerNormalization', 'Dropout', 'CumSum', 'Trilu',
  'BatchNormalization', 'InstanceNormalization',
]);

const count = (dims: readonly Sym[]): number | undefined => {
  const p = product(dims);
  return isNum(p) ? p.c : undefined;
};

/** The dims as numbers, or undefined when some dim depends on P. */
export const numericDims = (dims: readonly Sym[] | undefined): number[] | undefined =>
  dims && dims.every(isNum) ? dims.map((d) => d.c) : undefined;

/** Right-aligned broadcast of shapes; undefined when some pair cannot be decided. */
export function broadcast(shapes: readonly (Sym[] | undefined)[]): Sym[] | undefined {
  if (shapes.some((s) => s === undefined)) return undefined;
  const rank = Math.max(...shapes.map((s) => (s as Sym[]).length));
  const out: Sym[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Sym = num(1);
    for (const s of shapes as Sym[][]) {
      const j = s.length - rank + i;
      if (j < 0) continue;
      const e = s[j];
      if (isNum(e) && e.c === 1) continue;
      if (isNum(d) && d.c === 1) d = e;
      else if (!eq(d, e)) return undefined;
    }
    out.push(d);
  }
  return out;
}

/** Values broadcast to a numeric shape. */
function broadcastValues(value: Sym[], from: number[], to: number[]): Sym[] {
  const total = to.reduce((a, b) => a * b, 1);
  const out: Sym[] = new Array(total);
  const off = to.length - from.length;
  const idx = new Array<number>(to.length).fill(0);
  for (let f = 0; f < total; f++) {
    let src = 0;
    for (let a = 0; a < from.length; a++) src = src * from[a] + (from[a] === 1 ? 0 : idx[a + off]);
    out[f] = value[src];
    for (let a = to.length - 1; a >= 0; a--) {
      if (++idx[a] < to[a]) break;
      idx[a] = 0;
    }
  }
  return out;
}

/** An ONNX axis attribute (negative: from the end) as an index into a shape of this rank. */
export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Infers every tensor of `g` given the (specialised) shapes of its inputs. */
export function inferGraph(g: OnnxGraph, inputs: ReadonlyMap<string, Sym[]>): InfoMap {
  const info: InfoMap = new Map();
  for (const v of g.inputs) {
    const dims = inputs.get(v.name);
    info.set(v.name, { elem: v.elemType, shape: dims });
  }
  for (const [name, t] of g.inits) {
    const dims = tensorDims(t).map(num);
    const entry: TInfo = { elem: t.dataType ?? 0, shape: dims };
    const n = count(dims);
    if (INT_TYPES.has(entry.elem) && n !== undefined && n <= MAX_VALUE_ELEMENTS) entry.value = intValues(t)?.map(num);
    info.set(name, entry);
  }
  for (const node of g.nodes) inferNode(g, node, info);
  return info;
}

/** Infers the outputs of one node into `info` (unknown outputs get an entry without shape). */
export function inferNode(g: OnnxGraph, node: OnnxNode, info: InfoMap): void {
  let outs: TInfo[] = [];
  try {
    outs = rule(g, node, node.inputs.map((i) => (i === '' ? undefined : info.get(i))));
  } catch {
    outs = [];
  }
  node.outputs.forEach((o, i) => {
    const t = outs[i] ?? { elem: 0 };
    if (t.value && t.shape) {
      const n = count(t.shape);
      if (n === undefined || n > MAX_VALUE_ELEMENTS || n !== t.value.length || !INT_TYPES.has(t.elem)) delete t.value;
    } else {
      delete t.value;
    }
    info.set(o, t);
  });
}

/** Integer values of an input as plain numbers, when all are known and free of P. */
function ints(t: TInfo | undefined): number[] | undefined {
  return t?.value && t.value.every(isNum) ? t.value.map((v) => v.c) : undefined;
}

/** Axes of an operator that takes them as an attribute before `inputFrom` and as input `idx` from then on. */
function axesOf(g: OnnxGraph, node: OnnxNode, ins: (TInfo | undefined)[], idx: number, inputFrom: number): number[] | undefined | null {
  if (g.opset >= inputFrom || (node.inputs.length > idx && node.inputs[idx] !== '')) {
    if (node.inputs.length <= idx || node.inputs[idx] === '') return null;
    return ints(ins[idx]);
  }
  return attrInts(node, 'axes') ?? null;
}

function rule(g: OnnxGraph, node: OnnxNode, ins: (TInfo | undefined)[]): TInfo[] {
  const op = node.domain === '' || node.domain === 'ai.onnx' ? node.opType : `${node.domain}:${node.opType}`;
  const x = ins[0];
  const elem0 = x?.elem ?? 0;
  if (BINARY.has(op) || op === 'Where') {
    const shape = broadcast(ins.map((t) => t?.shape));
    const elem = COMPARE.has(op) ? DT.BOOL : op === 'Where' ? (ins[1]?.elem ?? 0) : elem0;
    const out: TInfo = { elem, shape };
    const shapeNum = numericDims(shape);
    if (shapeNum && ins.every((t) => t?.value && numericDims(t.shape))) {
      const vals = ins.map((t) => broadcastValues((t as TInfo).value as Sym[], numericDims((t as TInfo).shape) as number[], shapeNum));
      out.value = combine(op, vals);
    }
    return [out];
  }
  if (SAME_SHAPE.has(op)) {
    const elem = op === 'Cast' ? attrInt(node, 'to', elem0) : op === 'CastLike' ? (ins[1]?.elem ?? 0) : COMPARE.has(op) ? DT.BOOL : elem0;
    const out: TInfo = { elem, shape: x?.shape };
    if (x?.value) {
      if (op === 'Identity' || ((op === 'Cast' || op === 'CastLike') && INT_TYPES.has(elem) && INT_TYPES.has(elem0))) out.value = x.value;
      else if (op === 'Neg') out.value = x.value.map(neg);
      else if (op === 'Not') out.value = x.value.every(isNum) ? x.value.map((v) => num(v.c ? 0 : 1)) : undefined;
      else if (op === 'Abs') out.value = x.value.every(isNum) ? x.value.map((v) => num(Math.abs(v.c))) : undefined;
    }
    const extra: TInfo[] = op === 'Dropout' ? [{ elem: DT.BOOL, shape: x?.shape }] : [];
    return [out, ...extra];
  }
  switch (op) {
    case 'Constant': {
      const a = node.attrs[0];
      if (a?.t) {
        const dims = tensorDims(a.t).map(num);
        const v = intValues(a.t);
        return [{ elem: a.t.dataType ?? 0, shape: dims, value: v?.map(num) }];
      }
      if (a?.name === 'value_int') return [{ elem: DT.INT64, shape: [], value: [num(toNumber(a.i))] }];
      if (a?.name === 'value_ints') return [{ elem: DT.INT64, shape: [num(a.ints?.length ?? 0)], value: (a.ints ?? []).map((v) => num(toNumber(v))) }];
      if (a?.name === 'value_float') return [{ elem: DT.FLOAT, shape: [] }];
      if (a?.name === 'value_floats') return [{ elem: DT.FLOAT, shape: [num(a.floats?.length ?? 0)] }];
      return [];
    }
    case 'Shape': {
      if (!x?.shape) return [{ elem: DT.INT64, shape: undefined }];
      const r = x.shape.length;
      let start = normAxis(attrInt(node, 'start', 0), r);
      let end = getAttr(node, 'end') ? normAxis(attrInt(node, 'end', r), r) : r;
      start = Math.min(Math.max(start, 0), r);
      end = Math.min(Math.max(end, 0), r);
      const value = x.shape.slice(start, Math.max(start, end));
      return [{ elem: DT.INT64, shape: [num(value.length)], value }];
    }
    case 'Size':
      return [{ elem: DT.INT64, shape: [], value: x?.shape ? [product(x.shape)] : undefined }];
    case 'ConstantOfShape': {
      const dims = x?.value;
      const a = getAttr(node, 'value');
      const elem = a?.t?.dataType ?? DT.FLOAT;
      const fill = a?.t ? intValues(a.t)?.[0] : 0;
      const out: TInfo = { elem, shape: dims };
      const n = dims ? count(dims) : undefined;
      if (n !== undefined && fill !== undefined && n <= MAX_VALUE_ELEMENTS) out.value = new Array(n).fill(num(fill));
      return [out];
    }
    case 'Reshape': {
      const target = ins[1]?.value;
      if (!target || !x?.shape) return [{ elem: elem0 }];
      const allowZero = attrInt(node, 'allowzero', 0) === 1;
      const dims: (Sym | undefined)[] = target.map((t, i) => (isNum(t) && t.c === 0 && !allowZero ? x.shape?.[i] : isNum(t) && t.c === -1 ? undefined : t));
      const unknown = dims.findIndex((d) => d === undefined);
      if (unknown >= 0) {
        const rest = product(dims.filter((d): d is Sym => d !== undefined));
        const d = div(product(x.shape), rest);
        if (!d) return [{ elem: elem0 }];
        dims[unknown] = d;
      }
      return [{ elem: elem0, shape: dims as Sym[], value: x.value }];
    }
    case 'Flatten': {
      if (!x?.shape) return [{ elem: elem0 }];
      const axis = normAxis(attrInt(node, 'axis', 1), x.shape.length);
      return [{ elem: elem0, shape: [product(x.shape.slice(0, axis)), product(x.shape.slice(axis))], value: x.value }];
    }
    case 'Transpose': {
      if (!x?.shape) return [{ elem: elem0 }];
      const perm = attrInts(node, 'perm') ?? x.shape.map((_, i) => x.shape!.length - 1 - i);
      const from = numericDims(x.shape);
      const value = x.shape.length <= 1 ? x.value : x.value && from ? transposeValues(x.value, from, perm) : undefined;
      return [{ elem: elem0, shape: perm.map((p) => (x.shape as Sym[])[p]), value }];
    }
    case 'Unsqueeze': {
      const axes = axesOf(g, node, ins, 1, 13);
      if (!axes || !x?.shape) return [{ elem: elem0 }];
      const r = x.shape.length + axes.length;
      const norm = axes.map((a) => normAxis(a, r)).sort((a, b) => a - b);
      const dims: Sym[] = [];
      let j = 0;
      for (let i = 0; i < r; i++) dims.push(norm.includes(i) ? num(1) : x.shape[j++]);
      return [{ elem: elem0, shape: dims, value: x.value }];
    }
    case 'Squeeze': {
      if (!x?.shape) return [{ elem: elem0 }];
      const axes = axesOf(g, node, ins, 1, 13);
      if (axes === undefined) return [{ elem: elem0 }];
      const shape = x.shape;
      if (axes === null) {
        if (shape.some((d) => !isNum(d))) return [{ elem: elem0 }];
        return [{ elem: elem0, shape: shape.filter((d) => d.c !== 1), value: x.value }];
      }
      const norm = axes.map((a) => normAxis(a, shape.length));
      return [{ elem: elem0, shape: shape.filter((_, i) => !norm.includes(i)), value: x.value }];
    }
    case 'Concat': {
      const shapes = ins.map((t) => t?.shape);
      if (shapes.some((s) => !s)) return [{ elem: elem0 }];
      const r = (shapes[0] as Sym[]).length;
      const axis = normAxis(attrInt(node, 'axis', 0), r);
      const dims = [...(shapes[0] as Sym[])];
      let total: Sym | undefined = num(0);
      for (const s of shapes as Sym[][]) total = total && add(total, s[axis]);
      if (!total) return [{ elem: elem0 }];
      dims[axis] = total;
      const out: TInfo = { elem: elem0, shape: dims };
      if (r === 1 && ins.every((t) => t?.value)) out.value = ins.flatMap((t) => (t as TInfo).value as Sym[]);
      return [out];
    }
    case 'Slice':
      return [slice(g, node, ins)];
    case 'Gather': {
      const idx = ins[1];
      if (!x?.shape || !idx?.shape) return [{ elem: elem0 }];
      const axis = normAxis(attrInt(node, 'axis', 0), x.shape.length);
      const dims = [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)];
      const out: TInfo = { elem: elem0, shape: dims };
      const iv = ints(idx);
      const dim = x.shape[axis];
      if (x.shape.length === 1 && x.value && iv && isNum(dim)) out.value = iv.map((i) => (x.value as Sym[])[i < 0 ? i + dim.c : i]);
      return [out];
    }
    case 'Expand': {
      const target = ins[1]?.value;
      if (!target || !x?.shape) return [{ elem: elem0 }];
      const shape = broadcast([x.shape, target]);
      const out: TInfo = { elem: elem0, shape };
      const to = numericDims(shape);
      const from = numericDims(x.shape);
      if (x.value && to && from) out.value = broadcastValues(x.value, from, to);
      return [out];
    }
    case 'Tile': {
      const reps = ins[1]?.value;
      if (!reps || !x?.shape) return [{ elem: elem0 }];
      return [{ elem: elem0, shape: x.shape.map((d, i) => mul(d, reps[i])) }];
    }
    case 'Range': {
      const [s, l, d] = [ints(ins[0]), ints(ins[1]), ints(ins[2])];
      // range(0, n) of a symbolic n has n elements.
      const limit = ins[1]?.value?.[0];
      if (s?.[0] === 0 && d?.[0] === 1 && limit && !isNum(limit)) return [{ elem: elem0, shape: [limit] }];
      if (!s || !l || !d) return [{ elem: elem0, shape: undefined }];
      const n = Math.max(Math.ceil((l[0] - s[0]) / d[0]), 0);
      const out: TInfo = { elem: elem0, shape: [num(n)] };
      if (INT_TYPES.has(elem0) && n <= MAX_VALUE_ELEMENTS) out.value = Array.from({ length: n }, (_, i) => num(s[0] + i * d[0]));
      return [out];
    }
    case 'MatMul':
    case 'MatMulInteger':
      return [{ elem: op === 'MatMul' ? elem0 : DT.INT32, shape: matmulShape(x?.shape, ins[1]?.shape) }];
    case 'Gemm': {
      const a = x?.shape;
      const b = ins[1]?.shape;
      if (!a || !b || a.length !== 2 || b.length !== 2) return [{ elem: elem0 }];
      const m = attrInt(node, 'transA', 0) ? a[1] : a[0];
      const n = attrInt(node, 'transB', 0) ? b[0] : b[1];
      return [{ elem: elem0, shape: [m, n] }];
    }
    case 'ReduceMean':
    case 'ReduceSum':
    case 'ReduceMax':
    case 'ReduceMin':
    case 'ReduceProd':
    case 'ReduceL2':
    case 'ReduceL1':
    case 'ReduceSumSquare':
    case 'ReduceLogSumExp': {
      if (!x?.shape) return [{ elem: elem0 }];
      const fromInput = op === 'ReduceSum' ? 13 : 18;
      const axes = axesOf(g, node, ins, 1, fromInput);
      if (axes === undefined) return [{ elem: elem0 }];
      const r = x.shape.length;
      const keep = attrInt(node, 'keepdims', 1) === 1;
      const all = axes === null || axes.length === 0;
      if (all && attrInt(node, 'noop_with_empty_axes', 0) === 1) return [{ elem: elem0, shape: x.shape }];
      const norm = all ? x.shape.map((_, i) => i) : (axes as number[]).map((a) => normAxis(a, r));
      const dims = keep ? x.shape.map((d, i) => (norm.includes(i) ? num(1) : d)) : x.shape.filter((_, i) => !norm.includes(i));
      const out: TInfo = { elem: elem0, shape: dims };
      if (op === 'ReduceProd' && x.value && r === 1) out.value = [product(x.value)];
      return [out];
    }
    case 'ArgMax':
    case 'ArgMin': {
      if (!x?.shape) return [{ elem: DT.INT64 }];
      const axis = normAxis(attrInt(node, 'axis', 0), x.shape.length);
      const keep = attrInt(node, 'keepdims', 1) === 1;
      return [{ elem: DT.INT64, shape: keep ? x.shape.map((d, i) => (i === axis ? num(1) : d)) : x.shape.filter((_, i) => i !== axis) }];
    }
    case 'Split':
      return splitShapes(g, node, ins);
    case 'Conv':
    case 'ConvTranspose':
      return [{ elem: elem0, shape: convShape(node, x?.shape, ins[1]?.shape, op === 'ConvTranspose') }];
    case 'AveragePool':
    case 'MaxPool':
      return [{ elem: elem0, shape: poolShape(node, x?.shape) }];
    case 'GridSample': {
      const grid = ins[1]?.shape;
      if (!x?.shape || !grid) return [{ elem: elem0 }];
      return [{ elem: elem0, shape: [x.shape[0], x.shape[1], ...grid.slice(1, grid.length - 1)] }];
    }
    case 'DepthToSpace':
    case 'SpaceToDepth': {
      const s = numericDims(x?.shape);
      const b = attrInt(node, 'blocksize', 1);
      if (!s || s.length !== 4) return [{ elem: elem0 }];
      const [n, c, h, w] = s;
      const dims = op === 'DepthToSpace' ? [n, c / (b * b), h * b, w * b] : [n, c * b * b, h / b, w / b];
      return [{ elem: elem0, shape: dims.map(num) }];
    }
    case 'Pad': {
      const pads = g.opset >= 11 ? ints(ins[1]) : attrInts(node, 'pads');
      if (!pads || !x?.shape) return [{ elem: elem0 }];
      const r = x.shape.length;
      if (node.inputs.length > 3 && node.inputs[3]) return [{ elem: elem0 }];
      const dims: Sym[] = [];
      for (let i = 0; i < r; i++) {
        const d = add(x.shape[i], num(pads[i] + pads[i + r]));
        if (!d) return [{ elem: elem0 }];
        dims.push(d);
      }
      return [{ elem: elem0, shape: dims }];
    }
    case 'Einsum':
      return [{ elem: elem0, shape: einsumShape(attrString(node, 'equation'), ins.map((t) => t?.shape)) }];
    case 'Resize': {
      if (!x?.shape) return [{ elem: elem0 }];
      const sizes = node.inputs.length > 3 && node.inputs[3] ? ins[3]?.value : undefined;
      if (sizes) return [{ elem: elem0, shape: sizes }];
      return [{ elem: elem0 }];
    }
    default:
      return [];
  }
}

function combine(op: string, vals: Sym[][]): Sym[] | undefined {
  const n = vals[0].length;
  const out: Sym[] = [];
  for (let i = 0; i < n; i++) {
    const args = vals.map((v) => v[i]);
    const r = combineOne(op, args);
    if (!r) return undefined;
    out.push(r);
  }
  return out;
}

function combineOne(op: string, a: Sym[]): Sym | undefined {
  const [x, y, z] = a;
  const bothNum = a.every(isNum);
  switch (op) {
    case 'Add':
      return add(x, y);
    case 'Sub':
      return add(x, neg(y));
    case 'Mul':
      return mul(x, y);
    case 'Div':
      return div(x, y);
    case 'Equal':
      if (bothNum) return num(x.c === y.c ? 1 : 0);
      if (eq(x, y)) return num(1);
      // P is a count: at least 1, so it never equals 0 or a negative number.
      if ((hasP(x) && x.c > 0 && isNum(y) && y.c <= 0) || (hasP(y) && y.c > 0 && isNum(x) && x.c <= 0)) return num(0);
      return undefined;
    case 'Where':
      return isNum(x) ? (x.c ? y : z) : undefined;
    case 'Max':
      return bothNum ? num(Math.max(x.c, y.c)) : undefined;
    case 'Min':
      return bothNum ? num(Math.min(x.c, y.c)) : undefined;
    case 'Less':
      return bothNum ? num(x.c < y.c ? 1 : 0) : undefined;
    case 'Greater':
      return bothNum ? num(x.c > y.c ? 1 : 0) : undefined;
    case 'And':
      return bothNum ? num(x.c && y.c ? 1 : 0) : undefined;
    case 'Or':
      return bothNum ? num(x.c || y.c ? 1 : 0) : undefined;
    case 'Mod':
      return bothNum && y.c !== 0 ? num(x.c % y.c) : undefined;
    default:
      return undefined;
  }
}

/** The output shape of an Einsum with an explicit output and no ellipsis; undefined otherwise. */
export function einsumShape(equation: string | undefined, shapes: readonly (Sym[] | undefined)[]): Sym[] | undefined {
  const eqn = equation?.replace(/\s+/g, '');
  if (!eqn || !eqn.includes('->') || eqn.includes('.')) return undefined;
  const [lhs, out] = eqn.split('->');
  const terms = lhs.split(',');
  if (terms.length !== shapes.length) return undefined;
  const dims = new Map<string, Sym>();
  for (let t = 0; t < terms.length; t++) {
    const s = shapes[t];
    if (!s || s.length !== terms[t].length) return undefined;
    for (let i = 0; i < s.length; i++) {
      const known = dims.get(terms[t][i]);
      if (known && !eq(known, s[i]) && !(isNum(s[i]) && s[i].c === 1)) {
        if (isNum(known) && known.c === 1) dims.set(terms[t][i], s[i]);
        else return undefined;
      } else if (!known) dims.set(terms[t][i], s[i]);
    }
  }
  const res: Sym[] = [];
  for (const c of out) {
    const d = dims.get(c);
    if (!d) return undefined;
    res.push(d);
  }
  return res;
}

function matmulShape(a: Sym[] | undefined, b: Sym[] | undefined): Sym[] | undefined {
  if (!a || !b || a.length === 0 || b.length === 0) return undefined;
  const a2 = a.length === 1 ? [num(1), a[0]] : a;
  const b2 = b.length === 1 ? [b[0], num(1)] : b;
  const batch = broadcast([a2.slice(0, -2), b2.slice(0, -2)]);
  if (!batch) return undefined;
  const out = [...batch, a2[a2.length - 2], b2[b2.length - 1]];
  if (a.length === 1) out.splice(out.length - 2, 1);
  if (b.length === 1) out.splice(out.length - 1, 1);
  return out;
}

/** Normalised slice parameters of one axis of a numeric length. */
export function sliceRange(dim: number, start: number, end: number, step: number): [number, number, number] {
  const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = clamp(s, 0, dim);
    e = clamp(e, 0, dim);
  } else {
    s = clamp(s, -1, dim - 1);
    e = clamp(e, -1, dim - 1);
  }
  // The same formula for both signs: (e - s) and step share their sign when the slice is not empty.
  const n = Math.max(0, Math.ceil((e - s) / step));
  return [s, n, step];
}

/** Slice parameters (starts, ends, axes, steps) from inputs (opset ≥ 10) or attributes. */
export function sliceParams(g: OnnxGraph, node: OnnxNode, ins: (TInfo | undefined)[], rank: number): { starts: number[]; ends: number[]; axes: number[]; steps: number[] } | undefined {
  let starts: number[] | undefined;
  let ends: number[] | undefined;
  let axes: number[] | undefined;
  let steps: number[] | undefined;
  if (g.opset >= 10) {
    starts = ints(ins[1]);
    ends = ints(ins[2]);
    axes = node.inputs.length > 3 && node.inputs[3] ? ints(ins[3]) : undefined;
    if (node.inputs.length > 3 && node.inputs[3] && !axes) return undefined;
    steps = node.inputs.length > 4 && node.inputs[4] ? ints(ins[4]) : undefined;
    if (node.inputs.length > 4 && node.inputs[4] && !steps) return undefined;
  } else {
    starts = attrInts(node, 'starts');
    ends = attrInts(node, 'ends');
    axes = attrInts(node, 'axes');
  }
  if (!starts || !ends) return undefined;
  axes = (axes ?? starts.map((_, i) => i)).map((a) => normAxis(a, rank));
  steps = steps ?? starts.map(() => 1);
  return { starts, ends, axes, steps };
}

function slice(g: OnnxGraph, node: OnnxNode, ins: (TInfo | undefined)[]): TInfo {
  const x = ins[0];
  const elem = x?.elem ?? 0;
  if (!x?.shape) return { elem };
  const p = sliceParams(g, node, ins, x.shape.length);
  if (!p) return { elem };
  const dims = [...x.shape];
  const ranges: ([number, number, number] | undefined)[] = x.shape.map(() => undefined);
  for (let i = 0; i < p.axes.length; i++) {
    const a = p.axes[i];
    const d = x.shape[a];
    if (isNum(d)) {
      const r = sliceRange(d.c, p.starts[i], p.ends[i], p.steps[i]);
      dims[a] = num(r[1]);
      ranges[a] = r;
    } else if (p.starts[i] === 0 && p.ends[i] >= BIG && p.steps[i] === 1) {
      dims[a] = d;
    } else {
      return { elem };
    }
  }
  const out: TInfo = { elem, shape: dims };
  if (x.value && x.shape.length === 1) {
    const r = ranges[0];
    out.value = r ? Array.from({ length: r[1] }, (_, i) => (x.value as Sym[])[r[0] + i * r[2]]) : x.value;
  } else if (x.value && numericDims(x.shape)) {
    out.value = sliceValues(x.value, numericDims(x.shape) as number[], ranges);
  }
  return out;
}

/** Row-major strides of a numeric shape. */
function stridesOf(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1] * dims[i + 1];
  return s;
}

/** Values of a small tensor read through per-output-axis (source axis offset, source stride) pairs. */
function gatherValues(value: readonly Sym[], out: readonly number[], start: number, step: readonly number[]): Sym[] {
  const total = out.reduce((a, b) => a * b, 1);
  const res: Sym[] = new Array(total);
  const idx = new Array<number>(out.length).fill(0);
  for (let f = 0; f < total; f++) {
    let src = start;
    for (let a = 0; a < out.length; a++) src += idx[a] * step[a];
    res[f] = value[src];
    for (let a = out.length - 1; a >= 0; a--) {
      if (++idx[a] < out[a]) break;
      idx[a] = 0;
    }
  }
  return res;
}

/** The values of a small tensor of shape `dims` transposed by `perm`. */
function transposeValues(value: readonly Sym[], dims: readonly number[], perm: readonly number[]): Sym[] {
  const st = stridesOf(dims);
  return gatherValues(value, perm.map((p) => dims[p]), 0, perm.map((p) => st[p]));
}

/** The values of a small tensor of shape `dims` sliced by per-axis (start, count, step) ranges (undefined: whole axis). */
function sliceValues(value: readonly Sym[], dims: readonly number[], ranges: readonly ([number, number, number] | undefined)[]): Sym[] {
  const st = stridesOf(dims);
  let start = 0;
  const out: number[] = [];
  const step: number[] = [];
  dims.forEach((d, a) => {
    const r = ranges[a];
    start += r ? r[0] * st[a] : 0;
    out.push(r ? r[1] : d);
    step.push(r ? r[2] * st[a] : st[a]);
  });
  return gatherValues(value, out, start, step);
}

function splitShapes(g: OnnxGraph, node: OnnxNode, ins: (TInfo | undefined)[]): TInfo[] {
  const x = ins[0];
  const elem = x?.elem ?? 0;
  if (!x?.shape) return [];
  const axis = normAxis(attrInt(node, 'axis', 0), x.shape.length);
  const d = x.shape[axis];
  let sizes: number[] | undefined;
  if (g.opset >= 13) sizes = node.inputs.length > 1 && node.inputs[1] ? ints(ins[1]) : undefined;
  else sizes = attrInts(node, 'split');
  const n = node.outputs.length;
  if (!sizes) {
    if (!isNum(d)) return [];
    const each = Math.ceil(d.c / n);
    sizes = Array.from({ length: n }, (_, i) => Math.max(0, Math.min(each, d.c - i * each)));
  }
  return sizes.map((s) => ({ elem, shape: x.shape!.map((dd, i) => (i === axis ? num(s) : dd)) }));
}

function convShape(node: OnnxNode, x: Sym[] | undefined, w: Sym[] | undefined, transpose: boolean): Sym[] | undefined {
  const xs = x;
  const ws = numericDims(w);
  if (!xs || !ws) return undefined;
  const spatial = xs.length - 2;
  const kernel = attrInts(node, 'kernel_shape') ?? ws.slice(2);
  const strides = attrInts(node, 'strides') ?? new Array(spatial).fill(1);
  const dil = attrInts(node, 'dilations') ?? new Array(spatial).fill(1);
  const pads = attrInts(node, 'pads') ?? new Array(2 * spatial).fill(0);
  const autoPad = attrString(node, 'auto_pad');
  if (autoPad && autoPad !== 'NOTSET') return undefined;
  const group = attrInt(node, 'group', 1);
  const out: Sym[] = [xs[0], num(transpose ? ws[1] * group : ws[0])];
  const outShape = transpose ? attrInts(node, 'output_shape') : undefined;
  const outPad = attrInts(node, 'output_padding') ?? new Array(spatial).fill(0);
  for (let i = 0; i < spatial; i++) {
    const d = xs[2 + i];
    if (!isNum(d)) return undefined;
    const k = (kernel[i] - 1) * dil[i] + 1;
    if (outShape) out.push(num(outShape[i]));
    else if (transpose) out.push(num(strides[i] * (d.c - 1) + outPad[i] + k - pads[i] - pads[i + spatial]));
    else out.push(num(Math.floor((d.c + pads[i] + pads[i + spatial] - k) / strides[i]) + 1));
  }
  return out;
}

function poolShape(node: OnnxNode, x: Sym[] | undefined): Sym[] | undefined {
  if (!x) return undefined;
  const spatial = x.length - 2;
  const kernel = attrInts(node, 'kernel_shape');
  if (!kernel) return undefined;
  const strides = attrInts(node, 'strides') ?? new Array(spatial).fill(1);
  const pads = attrInts(node, 'pads') ?? new Array(2 * spatial).fill(0);
  if (attrInt(node, 'ceil_mode', 0)) return undefined;
  const out: Sym[] = [x[0], x[1]];
  for (let i = 0; i < spatial; i++) {
    const d = x[2 + i];
    if (!isNum(d)) return undefined;
    out.push(num(Math.floor((d.c + pads[i] + pads[i + spatial] - kernel[i]) / strides[i]) + 1));
  }
  return out;
}
