/**
 * MatMul by a constant matrix followed by the Add of a constant bias, on inputs of rank 3 or more → one Gemm on
 * the rows ([..., K] seen as [rows, K]), which adds the bias while writing the product. ONNX Runtime fuses this
 * only for 2-D inputs; SAM's attention projections are [P, tokens, C], so each of them otherwise makes an extra
 * pass over its output.
 */
import { DT, floatValues, intAttr, tensorDims, type OnnxGraph, type OnnxNode } from './graph.js';
import { inferGraph } from './infer.js';
import { consumers, reshapeTarget } from './static-shapes.js';
import { num, type Sym } from './sym.js';

/** Rewrites every such pair; returns how many. */
export function fuseMatMulBias(g: OnnxGraph, inputs: ReadonlyMap<string, Sym[]>): number {
  const info = inferGraph(g, inputs);
  const users = consumers(g);
  const outputs = new Set(g.outputs.map((o) => o.name));
  const replace = new Map<OnnxNode, OnnxNode[]>();
  const drop = new Set<OnnxNode>();
  for (const m of g.nodes) {
    if (m.opType !== 'MatMul' || m.domain !== '') continue;
    const w = g.inits.get(m.inputs[1]);
    const a = info.get(m.inputs[0])?.shape;
    if (!w || w.dataType !== DT.FLOAT || tensorDims(w).length !== 2 || !a || a.length < 3) continue;
    const [k, n] = tensorDims(w);
    const use = users.get(m.outputs[0]);
    if (outputs.has(m.outputs[0]) || !use || use.length !== 1 || use[0].opType !== 'Add') continue;
    const add = use[0];
    const biasName = add.inputs[0] === m.outputs[0] ? add.inputs[1] : add.inputs[0];
    const bias = g.inits.get(biasName);
    const dims = bias ? tensorDims(bias) : [];
    if (!bias || bias.dataType !== DT.FLOAT || dims.length === 0 || dims[dims.length - 1] !== n || dims.slice(0, -1).some((d) => d !== 1)) continue;
    const rows = g.fresh('rows');
    const product = g.fresh('gemm');
    const outShape = [...a.slice(0, -1), num(n)];
    const back = reshapeTarget([num(-1), num(n)], outShape);
    if (!back) continue;
    const vector = dims.length === 1 ? biasName : g.float32(Float32Array.from(floatValues(bias) as Float32Array), [n]);
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
