/**
 * MatMul by a constant matrix followed by the Add of a constant bias, on inputs of rank 3 or more → one Gemm on
 * the rows ([..., K] seen as [rows, K]), which adds the bias while writing the product. ONNX Runtime fuses this
 * only for 2-D inputs; SAM's attention projections are [P, tokens, C], so each of them otherwise makes an extra
 * pass over its output.
 */
import { DT, intAttr, tensorDims, type OnnxGraph, type OnnxNode } from './graph.js';
import { inferGraph } from './infer.js';
import { biasAddAfter, graphLinks, reshapeTarget } from './static-shapes.js';
import { num, type Sym } from './sym.js';

/** Rewrites every such pair; returns how many. */
export function fuseMatMulBias(g: OnnxGraph, inputs: ReadonlyMap<string, Sym[]>): number {
  const info = inferGraph(g, inputs);
  const { users, outputs } = graphLinks(g);
  const replace = new Map<OnnxNode, OnnxNode[]>();
  const drop = new Set<OnnxNode>();
  for (const m of g.nodes) {
    if (m.opType !== 'MatMul' || m.domain !== '') continue;
    const w = g.inits.get(m.inputs[1]);
    const a = info.get(m.inputs[0])?.shape;
    if (!w || w.dataType !== DT.FLOAT || tensorDims(w).length !== 2 || !a || a.length < 3) continue;
    const [k, n] = tensorDims(w);
    const found = biasAddAfter(g, users, outputs, m.outputs[0], n);
    if (!found) continue;
    const { add, bias: biasName, dims, values } = found;
    const rows = g.fresh('rows');
    const product = g.fresh('gemm');
    const outShape = [...a.slice(0, -1), num(n)];
    const back = reshapeTarget([num(-1), num(n)], outShape);
    if (!back) continue;
    const vector = dims.length === 1 ? biasName : g.float32(values, [n]);
    replace.set(add, [
      { name: g.fresh('Reshape_rows'), opType: 'Reshape', domain: '', inputs: [m.inputs[0], g.int64([-1, k])], outputs: [rows], attrs: [] },
      { name: g.fresh('Gemm_bias'), opType: 'Gemm', domain: '', inputs: [rows, m.inputs[1], vector], outputs: [product], attrs: [intAttr('transB', 0)] },
      { name: g.fresh('Reshape_back'), opType: 'Reshape', domain: '', inputs: [product, g.int64(back)], outputs: [add.outputs[0]], attrs: [] },
    ]);
    drop.add(m);
  }
  if (replace.size === 0) return 0;
  g.nodes = g.nodes.flatMap((node) => (drop.has(node) ? [] : (replace.get(node) ?? [node])));
  return replace.size;
}
