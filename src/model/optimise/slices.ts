/**
 * Work the caller never reads: a Slice at the end of a chain (SAM's multimask outputs 1..3 of 4) is moved up
 * through the operators that produced its input, so that only the kept rows are computed; what no output needs any
 * more is then removed by dead-code elimination (a whole hypernetwork MLP, in SAM's mask decoder).
 */
import { attrInt, attrInts, intAttr, type OnnxGraph, type OnnxNode } from './graph.js';
import { BINARY_OPS, inferGraph, sliceParams, sliceRange, UNARY_OPS, type InfoMap } from './infer.js';
import { deadCodeElimination, graphLinks, reshapeTarget } from './static-shapes.js';
import { isNum, num, product, type Sym } from './sym.js';

/** One contiguous slice of one axis with a numeric length. */
interface AxisSlice {
  axis: number;
  start: number;
  count: number;
  step: number;
}

/** Moves slices towards the inputs while that shrinks work; returns the number of moves made. */
export function pullSlicesUp(g: OnnxGraph, inputs: ReadonlyMap<string, Sym[]>): number {
  let moves = 0;
  for (let round = 0; round < 64; round++) {
    const info = inferGraph(g, inputs);
    const { made, users, outputs } = graphLinks(g);
    let moved = false;
    for (const s of g.nodes) {
      if (s.opType !== 'Slice' || s.domain !== '') continue;
      const x = s.inputs[0];
      const n = made.get(x);
      if (!n || outputs.has(x) || (users.get(x)?.length ?? 0) !== 1 || n.outputs.length !== 1) continue;
      const sl = oneAxisSlice(g, s, info);
      if (!sl) continue;
      const replacement = pullThrough(g, n, sl, s.outputs[0], info);
      if (!replacement) continue;
      const at = g.nodes.indexOf(s);
      g.nodes.splice(at, 1, ...replacement);
      moved = true;
      moves++;
      break;
    }
    if (!moved) break;
    deadCodeElimination(g);
  }
  return moves;
}

function oneAxisSlice(g: OnnxGraph, s: OnnxNode, info: InfoMap): AxisSlice | undefined {
  const shape = info.get(s.inputs[0])?.shape;
  if (!shape) return undefined;
  const p = sliceParams(g, s, s.inputs.map((i) => info.get(i)), shape.length);
  if (!p || p.axes.length !== 1) return undefined;
  const axis = p.axes[0];
  const d = shape[axis];
  if (!isNum(d) || p.steps[0] !== 1) return undefined;
  const [start, count] = sliceRange(d.c, p.starts[0], p.ends[0], 1);
  if (count >= d.c) return undefined;
  return { axis, start, count, step: 1 };
}

/** Nodes computing `out` = slice(n's output) from sliced inputs of n, or undefined when n does not allow it. */
function pullThrough(g: OnnxGraph, n: OnnxNode, sl: AxisSlice, out: string, info: InfoMap): OnnxNode[] | undefined {
  const nodes: OnnxNode[] = [];
  const node = (opType: string, inputs: string[], attrs: OnnxNode['attrs'] = [], output?: string): string => {
    const o = output ?? g.fresh(`${opType}_pulled`);
    nodes.push({ name: g.fresh(`${opType}_pulled_node`), opType, domain: '', inputs, outputs: [o], attrs });
    return o;
  };
  const sliceOf = (t: string, axis: number, start: number, count: number): string =>
    node('Slice', [t, g.int64([start]), g.int64([start + count]), g.int64([axis])]);
  const shapeOf = (t: string): Sym[] | undefined => info.get(t)?.shape;
  const xShape = shapeOf(n.outputs[0]);
  if (!xShape) return undefined;
  const op = n.domain === '' ? n.opType : '';
  const r = xShape.length;
  if (UNARY_OPS.has(op) || BINARY_OPS.has(op) || op === 'Where') {
    const ins = n.inputs.map((i) => {
      const s = shapeOf(i);
      if (!s) return undefined;
      const ai = sl.axis - (r - s.length);
      if (ai < 0 || (isNum(s[ai]) && s[ai].c === 1)) return i;
      return sliceOf(i, ai, sl.start, sl.count);
    });
    if (ins.some((i) => i === undefined)) return undefined;
    node(n.opType, ins as string[], n.attrs, out);
    return nodes;
  }
  switch (op) {
    case 'Transpose': {
      const perm = attrInts(n, 'perm') ?? Array.from({ length: r }, (_, i) => r - 1 - i);
      node('Transpose', [sliceOf(n.inputs[0], perm[sl.axis], sl.start, sl.count)], n.attrs, out);
      return nodes;
    }
    case 'Reshape': {
      const y = shapeOf(n.inputs[0]);
      if (!y) return undefined;
      const before = product(xShape.slice(0, sl.axis));
      let t = -1;
      for (let i = 0; i < y.length; i++) {
        const p = product(y.slice(0, i));
        if (p.c === before.c && p.k === before.k && y[i].c === xShape[sl.axis].c && y[i].k === xShape[sl.axis].k) {
          t = i;
          break;
        }
      }
      if (t < 0) return undefined;
      const ySliced = y.map((d, i) => (i === t ? num(sl.count) : d));
      const outShape = xShape.map((d, i) => (i === sl.axis ? num(sl.count) : d));
      const target = reshapeTarget(ySliced, outShape);
      if (!target) return undefined;
      node('Reshape', [sliceOf(n.inputs[0], t, sl.start, sl.count), g.int64(target)], [], out);
      return nodes;
    }
    case 'MatMul': {
      const a = shapeOf(n.inputs[0]);
      const b = shapeOf(n.inputs[1]);
      if (!a || !b || a.length < 2 || b.length < 2) return undefined;
      if (sl.axis === r - 2) {
        node('MatMul', [sliceOf(n.inputs[0], a.length - 2, sl.start, sl.count), n.inputs[1]], [], out);
        return nodes;
      }
      if (sl.axis === r - 1) {
        node('MatMul', [n.inputs[0], sliceOf(n.inputs[1], b.length - 1, sl.start, sl.count)], [], out);
        return nodes;
      }
      return undefined;
    }
    case 'Gemm': {
      if (sl.axis !== 1) return undefined;
      const transB = attrInt(n, 'transB', 0) === 1;
      const b = sliceOf(n.inputs[1], transB ? 0 : 1, sl.start, sl.count);
      const ins = [n.inputs[0], b];
      if (n.inputs[2]) {
        const c = shapeOf(n.inputs[2]);
        if (!c) return undefined;
        const last = c.length - 1;
        ins.push(last >= 0 && !(isNum(c[last]) && c[last].c === 1) ? sliceOf(n.inputs[2], last, sl.start, sl.count) : n.inputs[2]);
      }
      node('Gemm', ins, n.attrs, out);
      return nodes;
    }
    case 'Concat': {
      const axis = attrInt(n, 'axis', 0);
      if ((axis < 0 ? axis + r : axis) !== sl.axis) return undefined;
      const kept: string[] = [];
      let offset = 0;
      for (const i of n.inputs) {
        const d = shapeOf(i)?.[sl.axis];
        if (!d || !isNum(d)) return undefined;
        const lo = Math.max(sl.start, offset);
        const hi = Math.min(sl.start + sl.count, offset + d.c);
        if (hi > lo) kept.push(lo === offset && hi === offset + d.c ? i : sliceOf(i, sl.axis, lo - offset, hi - lo));
        offset += d.c;
      }
      if (kept.length === 1) node('Identity', kept, [], out);
      else node('Concat', kept, [intAttr('axis', sl.axis)], out);
      return nodes;
    }
    default:
      return undefined;
  }
}
