/**
 * LayerNorm written out as element-wise operators over the last axis (PyTorch's LayerNorm2d once its channels are
 * innermost, see token-major.ts) → one LayerNormalization node (opset 17):
 *
 *   m = ReduceMean(x, [-1]); d = x − m; v = ReduceMean(d², [-1]); y = d / √(v + ε) [· w] [+ b]
 *
 * One fused kernel instead of nine passes over the tensor. The result differs from the unfused one by rounding.
 */
import { attrInt, attrInts, DT, floatAttr, floatValues, intAttr, tensorDims, type OnnxGraph, type OnnxNode } from './graph.js';
import { inferGraph, type InfoMap } from './infer.js';
import { graphLinks } from './static-shapes.js';
import { isNum, type Sym } from './sym.js';

/** Fuses every such pattern; returns how many. */
export function fuseLayerNorm(g: OnnxGraph, inputs: ReadonlyMap<string, Sym[]>): number {
  if (g.opset < 17) return 0;
  const info = inferGraph(g, inputs);
  let fused = 0;
  for (;;) {
    const { made, users, outputs } = graphLinks(g);
    const only = (t: string, op: string): OnnxNode | undefined => {
      const u = users.get(t);
      return !outputs.has(t) && u && u.length === 1 && u[0].opType === op && u[0].domain === '' ? u[0] : undefined;
    };
    let match: { first: OnnxNode; last: OnnxNode; x: string; w?: string; b?: string; eps: number; remove: Set<OnnxNode> } | undefined;
    for (const m of g.nodes) {
      if (m.opType !== 'ReduceMean' || !lastAxisMean(g, m, info)) continue;
      const x = m.inputs[0];
      const sub = only(m.outputs[0], 'Sub');
      if (!sub || sub.inputs[0] !== x || sub.inputs[1] !== m.outputs[0]) continue;
      const dUsers = users.get(sub.outputs[0]) ?? [];
      if (dUsers.length !== 2 || outputs.has(sub.outputs[0])) continue;
      const pow = dUsers.find((n) => n.opType === 'Pow' && n.inputs[0] === sub.outputs[0] && scalar(g, n.inputs[1]) === 2);
      const div = dUsers.find((n) => n.opType === 'Div' && n.inputs[0] === sub.outputs[0]);
      if (!pow || !div) continue;
      const m2 = only(pow.outputs[0], 'ReduceMean');
      if (!m2 || !lastAxisMean(g, m2, info)) continue;
      const add = only(m2.outputs[0], 'Add');
      const eps = add ? scalar(g, add.inputs[1] === m2.outputs[0] ? add.inputs[0] : add.inputs[1]) : undefined;
      if (!add || eps === undefined) continue;
      const sqrt = only(add.outputs[0], 'Sqrt');
      if (!sqrt || div.inputs[1] !== sqrt.outputs[0] || made.get(div.inputs[1]) !== sqrt) continue;
      const remove = new Set([m, sub, pow, m2, add, sqrt, div]);
      let last = div;
      const channels = info.get(x)?.shape?.at(-1);
      if (!channels || !isNum(channels)) continue;
      let w: string | undefined;
      let b: string | undefined;
      const mulNode = only(div.outputs[0], 'Mul');
      const wName = mulNode && (mulNode.inputs[0] === div.outputs[0] ? mulNode.inputs[1] : mulNode.inputs[0]);
      if (mulNode && wName && lastAxisVector(g, wName, channels.c)) {
        w = wName;
        last = mulNode;
        remove.add(mulNode);
        const addNode = only(mulNode.outputs[0], 'Add');
        const bName = addNode && (addNode.inputs[0] === mulNode.outputs[0] ? addNode.inputs[1] : addNode.inputs[0]);
        if (addNode && bName && lastAxisVector(g, bName, channels.c)) {
          b = bName;
          last = addNode;
          remove.add(addNode);
        }
      }
      match = { first: m, last, x, w, b, eps, remove };
      break;
    }
    if (!match) return fused;
    const c = (info.get(match.x)?.shape?.at(-1) as Sym).c;
    const vector = (name: string | undefined, fill: number): string => {
      if (!name) return g.float32(new Float32Array(c).fill(fill), [c]);
      const t = g.inits.get(name);
      const values = t ? floatValues(t) : undefined;
      // lastAxisVector checked it when matching; an optimiser error here leaves the original graph in use.
      if (!values) throw new Error(`LayerNormalization fusion: '${name}' is not a float32 constant`);
      return g.float32(Float32Array.from(values), [c]);
    };
    const node: OnnxNode = {
      name: g.fresh('LayerNormalization_fused'),
      opType: 'LayerNormalization',
      domain: '',
      inputs: [match.x, vector(match.w, 1), vector(match.b, 0)],
      outputs: [match.last.outputs[0]],
      attrs: [intAttr('axis', -1), floatAttr('epsilon', match.eps), intAttr('stash_type', 1)],
    };
    const at = g.nodes.indexOf(match.last);
    g.nodes[at] = node;
    g.nodes = g.nodes.filter((n) => n === node || !match.remove.has(n));
    fused++;
  }
}

function lastAxisMean(g: OnnxGraph, n: OnnxNode, info: InfoMap): boolean {
  if (attrInt(n, 'keepdims', 1) !== 1) return false;
  const rank = info.get(n.inputs[0])?.shape?.length;
  if (rank === undefined) return false;
  const axes = n.inputs[1] ? info.get(n.inputs[1])?.value?.map((v) => v.c) : attrInts(n, 'axes');
  return axes !== undefined && axes.length === 1 && (axes[0] === -1 || axes[0] === rank - 1);
}

/** The value of a float32 scalar (or one-element) constant. */
function scalar(g: OnnxGraph, name: string): number | undefined {
  const t = g.inits.get(name);
  if (!t || t.dataType !== DT.FLOAT) return undefined;
  const v = floatValues(t);
  return v && v.length === 1 ? v[0] : undefined;
}

/** A float32 constant of `c` values along the last axis only (shape [c], [1, c], [1, 1, c] …). */
function lastAxisVector(g: OnnxGraph, name: string, c: number): boolean {
  const t = g.inits.get(name);
  if (!t || t.dataType !== DT.FLOAT) return false;
  const dims = tensorDims(t);
  return dims.length >= 1 && dims[dims.length - 1] === c && dims.slice(0, -1).every((d) => d === 1);
}
