/**
 * A projection (MatMul by a constant [C, C'] matrix) of tokens that were padded and regrouped, or that are
 * regrouped and cropped afterwards, runs on the tokens themselves. SAM ViT's windowed blocks pad the 64×64 token
 * grid to 70×70 and cut it into 14×14 windows before the Q/K/V projection, and undo both after the output
 * projection, so both projections see 4,900 rows for 4,096 tokens. Layout operators that leave the last axis alone
 * (Reshape keeping it, Transpose keeping it last, zero Pad and Slice on other axes) commute with a product on the
 * last axis: a zero row projects to a zero row, and a bias added after the product is added after the layout
 * operators. The result is exactly the original's.
 */
import { attrInts, attrString, DT, floatValues, intValues, tensorDims, type OnnxGraph, type OnnxNode } from './graph.js';
import { inferGraph, numericDims, sliceParams, type InfoMap } from './infer.js';
import { graphLinks } from './static-shapes.js';
import type { Sym } from './sym.js';

/** Rewrites every such projection; returns how many. */
export function projectWindowRows(g: OnnxGraph, inputs: ReadonlyMap<string, Sym[]>): number {
  const info = inferGraph(g, inputs);
  const { made, users, outputs, single } = graphLinks(g);
  const replace = new Map<OnnxNode, OnnxNode[]>();
  const drop = new Set<OnnxNode>();
  const taken = (nodes: OnnxNode[]): boolean => nodes.some((n) => drop.has(n) || replace.has(n));
  for (const m of g.nodes) {
    if (m.opType !== 'MatMul' || m.domain !== '' || drop.has(m) || replace.has(m)) continue;
    const w = g.inits.get(m.inputs[1]);
    if (!w || w.dataType !== DT.FLOAT || tensorDims(w).length !== 2) continue;
    const [c, c2] = tensorDims(w);
    // Before: the chain that pads and regroups the product's input.
    const up: OnnxNode[] = [];
    let t = m.inputs[0];
    for (;;) {
      const p = made.get(t);
      if (!p || !single(t) || !keepsLastAxis(g, p, info, true)) break;
      up.unshift(p);
      t = p.inputs[0];
    }
    if (up.some((n) => n.opType === 'Pad') && rows(info, t) < rows(info, m.inputs[0]) && !taken(up)) {
      const nodes = projectFirst(g, m, up, t, c2, info);
      if (nodes) {
        replace.set(m, nodes);
        for (const n of up) drop.add(n);
        continue;
      }
    }
    // After: an optional bias, then the chain that regroups and crops the product.
    const down: OnnxNode[] = [];
    let bias: { node: OnnxNode; value: string } | undefined;
    t = m.outputs[0];
    for (;;) {
      if (!single(t)) break;
      const n = (users.get(t) as OnnxNode[])[0];
      if (!bias && down.length === 0 && n.opType === 'Add' && n.domain === '') {
        const other = n.inputs[0] === t ? n.inputs[1] : n.inputs[0];
        const b = g.inits.get(other);
        const dims = b ? tensorDims(b) : [];
        if (!b || b.dataType !== DT.FLOAT || dims.length === 0 || dims[dims.length - 1] !== c2 || dims.slice(0, -1).some((d) => d !== 1)) break;
        bias = { node: n, value: other };
        t = n.outputs[0];
        continue;
      }
      if (!keepsLastAxis(g, n, info, false)) break;
      down.push(n);
      t = n.outputs[0];
    }
    const last = down[down.length - 1];
    if (last && down.some((n) => n.opType === 'Slice') && rows(info, last.outputs[0]) < rows(info, m.outputs[0]) && !taken(down)) {
      const nodes = projectLast(g, m, bias, down, c, info);
      if (nodes) {
        replace.set(last, nodes);
        drop.add(m);
        if (bias) drop.add(bias.node);
        for (const n of down.slice(0, -1)) drop.add(n);
      }
    }
  }
  if (replace.size === 0) return 0;
  g.nodes = g.nodes.flatMap((n) => (drop.has(n) ? [] : (replace.get(n) ?? [n])));
  return replace.size;
}

/** Rows of a tensor: its elements over its last dimension. */
function rows(info: InfoMap, name: string): number {
  const s = numericDims(info.get(name)?.shape);
  if (!s || s.length === 0) return Infinity;
  return s.slice(0, -1).reduce((a, b) => a * b, 1);
}

/** Whether `n` moves whole rows (the last axis) around; `pad` allows zero Pad, otherwise Slice is allowed. */
function keepsLastAxis(g: OnnxGraph, n: OnnxNode, info: InfoMap, pad: boolean): boolean {
  if (n.domain !== '') return false;
  const x = numericDims(info.get(n.inputs[0])?.shape);
  const y = numericDims(info.get(n.outputs[0])?.shape);
  if (!x || !y || x.length === 0 || y.length === 0) return false;
  const r = x.length;
  switch (n.opType) {
    case 'Reshape':
      return x[r - 1] === y[y.length - 1] && g.inits.has(n.inputs[1]);
    case 'Transpose': {
      const perm = attrInts(n, 'perm');
      return perm !== undefined && perm[r - 1] === r - 1;
    }
    case 'Pad': {
      if (!pad || g.opset < 11 || (n.inputs.length > 3 && n.inputs[3])) return false;
      const mode = attrString(n, 'mode');
      if (mode && mode !== 'constant') return false;
      const pads = g.inits.get(n.inputs[1]);
      const p = pads ? intValues(pads) : undefined;
      if (!p || p.length !== 2 * r || p[r - 1] !== 0 || p[2 * r - 1] !== 0) return false;
      if (n.inputs.length > 2 && n.inputs[2]) {
        const v = g.inits.get(n.inputs[2]);
        const values = v && v.dataType === DT.FLOAT ? floatValues(v) : undefined;
        if (!values || values.some((e) => e !== 0)) return false;
      }
      return true;
    }
    case 'Slice': {
      if (pad) return false;
      const p = sliceParams(g, n, n.inputs.map((i) => (i ? info.get(i) : undefined)), r);
      return p !== undefined && x[r - 1] === y[r - 1] && p.axes.every((a) => a !== r - 1);
    }
    default:
      return false;
  }
}

/** The product first, then the padding chain on C' columns; the last chain node writes m's output. */
function projectFirst(g: OnnxGraph, m: OnnxNode, up: OnnxNode[], x: string, c2: number, info: InfoMap): OnnxNode[] | undefined {
  const nodes: OnnxNode[] = [];
  let t = g.fresh('MatMul_window');
  nodes.push({ name: g.fresh('MatMul_window_node'), opType: 'MatMul', domain: '', inputs: [x, m.inputs[1]], outputs: [t], attrs: [] });
  for (let i = 0; i < up.length; i++) {
    const n = up[i];
    const out = i === up.length - 1 ? m.outputs[0] : g.fresh(`${n.opType}_window`);
    const clone = withColumns(g, n, t, out, c2, info);
    if (!clone) return undefined;
    nodes.push(clone);
    t = out;
  }
  return nodes;
}

/** The regrouping and cropping chain on C columns first, then the product and its bias; writes the chain's output. */
function projectLast(
  g: OnnxGraph,
  m: OnnxNode,
  bias: { node: OnnxNode; value: string } | undefined,
  down: OnnxNode[],
  c: number,
  info: InfoMap,
): OnnxNode[] | undefined {
  const nodes: OnnxNode[] = [];
  let t = m.inputs[0];
  for (const n of down) {
    const out = g.fresh(`${n.opType}_window`);
    const clone = withColumns(g, n, t, out, c, info);
    if (!clone) return undefined;
    nodes.push(clone);
    t = out;
  }
  const final = down[down.length - 1].outputs[0];
  const product = bias ? g.fresh('MatMul_window') : final;
  nodes.push({ name: g.fresh('MatMul_window_node'), opType: 'MatMul', domain: '', inputs: [t, m.inputs[1]], outputs: [product], attrs: [] });
  if (bias) {
    const inputs = bias.node.inputs[0] === bias.value ? [bias.value, product] : [product, bias.value];
    nodes.push({ name: g.fresh('Add_window_node'), opType: 'Add', domain: '', inputs, outputs: [final], attrs: [] });
  }
  return nodes;
}

/** A copy of a layout node reading `input` and writing `output`, with a Reshape target of `columns` columns. */
function withColumns(g: OnnxGraph, n: OnnxNode, input: string, output: string, columns: number, info: InfoMap): OnnxNode | undefined {
  const inputs = [input, ...n.inputs.slice(1)];
  if (n.opType === 'Reshape') {
    const y = numericDims(info.get(n.outputs[0])?.shape);
    if (!y) return undefined;
    inputs[1] = g.int64([...y.slice(0, -1), columns]);
  }
  return { name: g.fresh(`${n.opType}_window_node`), opType: n.opType, domain: '', inputs, outputs: [output], attrs: n.attrs };
}
