/**
 * Attention whose score matrix is large (SAM's global-attention blocks: [12 heads, 4096, 4096] floats, 805 MB)
 * is computed in blocks of query rows:
 *
 *   MatMul(Q, Kᵀ) → Reshape / element-wise operators with broadcast operands → Softmax(last axis) → MatMul(·, V)
 *
 * becomes, for each block of rows, the same chain on that block (Q's rows and the row-indexed operands split, the
 * other operands shared), and a Concat of the blocks' outputs. Every row of the chain only reads its own row, so each
 * output value is computed by the same operations on the same values: the result is the same up to how a kernel
 * orders its sums. The memory arena then holds a block's tensors instead of whole matrices (ViT-B: 8 blocks of
 * 100 MB instead of 805 MB per operator, whose first run is also 2 GB of fresh pages).
 */
import { attrInt, intAttr, type OnnxGraph, type OnnxNode } from './graph.js';
import { BINARY_OPS, inferGraph, normAxis, numericDims, UNARY_OPS, type InfoMap } from './infer.js';
import { graphLinks } from './static-shapes.js';
import type { Sym } from './sym.js';

/** Sizes that decide which chains are split and into how many blocks. */
export interface RowChunkOptions {
  /** Chains whose largest tensor is smaller than this (bytes) are left alone. */
  minBytes: number;
  /** The largest tensor of a block should stay at or below this (bytes), when the row count allows. */
  blockBytes: number;
}

export const ROW_CHUNKS: RowChunkOptions = { minBytes: 256 * 2 ** 20, blockBytes: 128 * 2 ** 20 };

/** Element-wise operators of two inputs the chain may go through (one input on the chain, one broadcast operand). */
const CHAIN_BINARY = new Set(['Add', 'Sub', 'Mul', 'Div']);

/** Where the query rows of a chain tensor are: `axis` and the sizes of the axes the row index is split into. */
interface Rows {
  axis: number;
  dims: number[];
}

/** One node of the chain, with the row layout of its output and, for element-wise nodes, the broadcast operand. */
interface Link {
  node: OnnxNode;
  rows: Rows;
  shape: number[];
  /** Input index of the chain tensor (element-wise nodes). */
  chainInput: number;
  /** Axis of the broadcast operand to split with the rows (undefined: shared by every block). */
  sideAxis?: number;
}

/** Splits every such chain into row blocks; returns how many chains changed. */
export function chunkAttentionRows(g: OnnxGraph, inputs: ReadonlyMap<string, Sym[]>, opts: RowChunkOptions = ROW_CHUNKS): number {
  // Split takes its sizes as an input from opset 13 on, as written here.
  if (g.opset < 13) return 0;
  const info = inferGraph(g, inputs);
  const { made, users, outputs, single } = graphLinks(g);
  const replace = new Map<OnnxNode, OnnxNode[]>();
  const drop = new Set<OnnxNode>();
  for (const s of g.nodes) {
    if (s.opType !== 'Softmax' || s.domain !== '') continue;
    const chain = findChain(s, info, made, users, single);
    if (!chain) continue;
    const plan = planChain(chain, info, opts);
    if (!plan) continue;
    replace.set(chain.m2, emit(g, chain, plan, info));
    for (const n of [chain.m1, ...chain.links.map((l) => l.node)]) drop.add(n);
  }
  if (replace.size === 0) return 0;
  g.nodes = g.nodes.flatMap((n) => (drop.has(n) ? [] : (replace.get(n) ?? [n])));
  return replace.size;
}

interface Chain {
  /**
   * The leading (batch: SAM's heads) axis every tensor of the chain and every operand has, or broadcasts, when the
   * blocks may split it too (1 otherwise).
   */
  heads: number;
  /** MatMul(Q, Kᵀ): the rows of its output are the rows of Q. */
  m1: OnnxNode;
  /** Reshape, element-wise and Softmax nodes from m1's output to m2's first input. */
  links: Link[];
  /** MatMul(A, V). */
  m2: OnnxNode;
}

function findChain(
  s: OnnxNode,
  info: InfoMap,
  made: Map<string, OnnxNode>,
  users: Map<string, OnnxNode[]>,
  single: (t: string) => boolean,
): Chain | undefined {
  const use = users.get(s.outputs[0]);
  if (!single(s.outputs[0]) || !use || use[0].opType !== 'MatMul' || use[0].domain !== '' || use[0].inputs[0] !== s.outputs[0]) return undefined;
  const m2 = use[0];
  const nodes: { node: OnnxNode; chainInput: number }[] = [{ node: s, chainInput: 0 }];
  let t = s.inputs[0];
  for (;;) {
    const n = made.get(t);
    if (!n || n.domain !== '' || !single(t)) return undefined;
    if (n.opType === 'MatMul') return layout(n, nodes, m2, info);
    let chainInput = 0;
    if (CHAIN_BINARY.has(n.opType) && BINARY_OPS.has(n.opType)) {
      // The chain tensor has the output's shape; the other operand is broadcast (smaller).
      const out = numericDims(info.get(n.outputs[0])?.shape);
      const full = n.inputs.map((i) => String(numericDims(info.get(i)?.shape)) === String(out));
      if (!out || full[0] === full[1]) return undefined;
      chainInput = full[0] ? 0 : 1;
    } else if (n.opType !== 'Reshape' && !(UNARY_OPS.has(n.opType) && n.inputs.length === 1)) {
      return undefined;
    }
    nodes.unshift({ node: n, chainInput });
    t = n.inputs[chainInput];
  }
}

/** Follows the row axis from m1's output along the chain; undefined when some node mixes rows. */
function layout(m1: OnnxNode, nodes: { node: OnnxNode; chainInput: number }[], m2: OnnxNode, info: InfoMap): Chain | undefined {
  const a = numericDims(info.get(m1.inputs[0])?.shape);
  const first = numericDims(info.get(m1.outputs[0])?.shape);
  if (!a || a.length < 2 || !first || first.length < 2) return undefined;
  let rows: Rows = { axis: first.length - 2, dims: [first[first.length - 2]] };
  let shape = first;
  const links: Link[] = [];
  for (const { node, chainInput } of nodes) {
    const out = numericDims(info.get(node.outputs[0])?.shape);
    if (!out) return undefined;
    const link: Link = { node, rows, shape: out, chainInput };
    if (node.opType === 'Reshape') {
      const next = reshapeRows(shape, out, rows);
      if (!next) return undefined;
      link.rows = next;
    } else if (node.opType === 'Softmax') {
      const axis = normAxis(attrInt(node, 'axis', -1), out.length);
      if (axis !== out.length - 1 || rows.axis + rows.dims.length > axis) return undefined;
    } else if (node.inputs.length === 2) {
      const side = numericDims(info.get(node.inputs[1 - chainInput])?.shape);
      if (!side || String(out) !== String(shape)) return undefined;
      // The operand's axis aligned with the outer row axis: split with the rows when it is not broadcast there.
      const aligned = rows.axis - (out.length - side.length);
      if (aligned >= 0 && side[aligned] !== 1) {
        if (side[aligned] !== rows.dims[0]) return undefined;
        link.sideAxis = aligned;
      }
      for (let i = 1; i < rows.dims.length; i++) {
        const j = aligned + i;
        if (j >= 0 && side[j] !== 1 && side[j] !== rows.dims[i]) return undefined;
      }
    }
    links.push(link);
    rows = link.rows;
    shape = out;
  }
  // m2 reads the rows as its row axis (one axis, the second last).
  if (rows.dims.length !== 1 || rows.axis !== shape.length - 2) return undefined;
  const v = numericDims(info.get(m2.inputs[1])?.shape);
  const out = numericDims(info.get(m2.outputs[0])?.shape);
  if (!v || v.length < 2 || !out) return undefined;
  return { heads: leadingAxis(first, [a, numericDims(info.get(m1.inputs[1])?.shape), v, out], links, info), m1, links, m2 };
}

/**
 * The size of the leading axis when blocks may split it: every chain tensor keeps it (rows start after it), the
 * products' operands and output have the chain's rank and that axis in full or broadcast (1), and so has every
 * broadcast operand that reaches it. 1 when not.
 */
function leadingAxis(first: readonly number[], operands: (number[] | undefined)[], links: Link[], info: InfoMap): number {
  const h = first[0];
  const r = first.length;
  if (r < 3 || h === 1) return 1;
  if (operands.some((o) => !o || o.length !== r || (o[0] !== h && o[0] !== 1))) return 1;
  for (const l of links) {
    if (l.shape[0] !== h || l.rows.axis < 1) return 1;
    if (l.node.inputs.length !== 2 || l.node.opType === 'Reshape') continue;
    const side = numericDims(info.get(l.node.inputs[1 - l.chainInput])?.shape) as number[];
    if (side.length === l.shape.length && side[0] !== h && side[0] !== 1) return 1;
  }
  return h;
}

/**
 * The row layout after a Reshape from `from` to `to`: the axes before the rows must be unchanged, and the rows'
 * product must be the product of a run of axes starting at the same place.
 */
function reshapeRows(from: readonly number[], to: readonly number[], rows: Rows): Rows | undefined {
  for (let i = 0; i < rows.axis; i++) if (from[i] !== to[i]) return undefined;
  const total = rows.dims.reduce((x, y) => x * y, 1);
  let p = 1;
  for (let j = rows.axis; j < to.length; j++) {
    p *= to[j];
    if (p === total) return { axis: rows.axis, dims: to.slice(rows.axis, j + 1) };
    if (p > total) return undefined;
  }
  return undefined;
}

interface Plan {
  /** Row blocks and leading-axis (head) groups: blocks × groups chains. */
  blocks: number;
  groups: number;
}

/**
 * As few row blocks as keep a block within `blockBytes`, then, only where the rows cannot be split that finely, as
 * few head groups as do: every block is a few more operators, and every product repacks its shared operand (Kᵀ,
 * V) once per block. Measured on SAM ViT-B (docs/performance.md): 8 blocks of 512 rows beat 16, 64 and 96 smaller
 * ones, per head or not.
 */
function planChain(chain: Chain, info: InfoMap, opts: RowChunkOptions): Plan | undefined {
  const sizes = chain.links.map((l) => l.shape.reduce((x, y) => x * y, 1) * 4);
  const largest = Math.max(...sizes);
  if (largest < opts.minBytes) return undefined;
  // Blocks must split every tensor's outer row axis evenly.
  const first = numericDims(info.get(chain.m1.outputs[0])?.shape) as number[];
  let common = first[first.length - 2];
  for (const l of chain.links) common = gcd(common, l.rows.dims[0]);
  const divisors = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);
  const blocks = divisors(common).find((b) => largest / b <= opts.blockBytes) ?? common;
  const groups = divisors(chain.heads).find((h) => largest / (blocks * h) <= opts.blockBytes) ?? chain.heads;
  return blocks * groups > 1 ? { blocks, groups } : undefined;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** The chain as blocks × groups chains over row blocks and head groups, joined by Concats written to m2's output. */
function emit(g: OnnxGraph, chain: Chain, plan: Plan, info: InfoMap): OnnxNode[] {
  const { blocks: B, groups: G } = plan;
  const nodes: OnnxNode[] = [];
  const add = (opType: string, inputs: string[], attrs: OnnxNode['attrs'] = [], outputs?: string[]): string[] => {
    const outs = outputs ?? [g.fresh(`${opType}_rows`)];
    nodes.push({ name: g.fresh(`${opType}_rows_node`), opType, domain: '', inputs, outputs: outs, attrs });
    return outs;
  };
  const shapeOf = (x: string): number[] => numericDims(info.get(x)?.shape) as number[];
  /** `x` (of shape `dims`) cut into n equal parts along `axis` (itself n times when n is 1). */
  const split = (x: string, dims: readonly number[], axis: number, n: number): string[] => {
    if (n === 1) return new Array<string>(1).fill(x);
    return add('Split', [x, g.int64(new Array(n).fill(dims[axis] / n))], [intAttr('axis', axis)], Array.from({ length: n }, () => g.fresh('Split_rows')));
  };
  /**
   * An operand (broadcast to `rank` axes) per head group and then per row block (`rowAxis` undefined: shared by the
   * row blocks); split by head group only when it has the leading axis in full.
   */
  const parts = (x: string, rank: number, rowAxis: number | undefined): string[][] => {
    const dims = shapeOf(x);
    const full = G > 1 && dims.length === rank && dims[0] === chain.heads;
    const groups = full ? split(x, dims, 0, G) : new Array<string>(G).fill(x);
    const groupDims = dims.map((d, i) => (i === 0 && full ? d / G : d));
    return groups.map((part) => (rowAxis === undefined ? new Array<string>(B).fill(part) : split(part, groupDims, rowAxis, B)));
  };
  const a = shapeOf(chain.m1.inputs[0]);
  const out = shapeOf(chain.m2.outputs[0]);
  const qs = parts(chain.m1.inputs[0], out.length, a.length - 2);
  const ks = parts(chain.m1.inputs[1], out.length, undefined);
  const vs = parts(chain.m2.inputs[1], out.length, undefined);
  const sides = chain.links.map((l) =>
    l.node.inputs.length !== 2 || l.node.opType === 'Reshape' ? undefined : parts(l.node.inputs[1 - l.chainInput], l.shape.length, l.sideAxis),
  );
  const groupOuts: string[] = [];
  for (let h = 0; h < G; h++) {
    const blockOuts: string[] = [];
    for (let b = 0; b < B; b++) {
      let t = add('MatMul', [qs[h][b], ks[h][b]])[0];
      chain.links.forEach((l, i) => {
        const n = l.node;
        if (n.opType === 'Reshape') {
          const target = l.shape.map((d, j) => (j === l.rows.axis ? d / B : j === 0 ? d / G : d));
          t = add('Reshape', [t, g.int64(target)])[0];
        } else if (n.inputs.length === 2) {
          const other = sides[i]?.[h][b] as string;
          t = add(n.opType, l.chainInput === 0 ? [t, other] : [other, t], n.attrs)[0];
        } else {
          t = add(n.opType, [t], n.attrs)[0];
        }
      });
      blockOuts.push(add('MatMul', [t, vs[h][b]])[0]);
    }
    const last = G === 1 ? [chain.m2.outputs[0]] : undefined;
    groupOuts.push(B === 1 ? blockOuts[0] : add('Concat', blockOuts, [intAttr('axis', out.length - 2)], last)[0]);
  }
  if (G > 1) add('Concat', groupOuts, [intAttr('axis', 0)], [chain.m2.outputs[0]]);
  else if (B === 1) throw new Error('row blocks: nothing to split');
  return nodes;
}
