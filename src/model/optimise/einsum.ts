/**
 * A two-input Einsum that is a batched matrix product (every letter in both inputs and the output, in one input and
 * the output, or in both inputs only) becomes Transpose → Reshape → MatMul → Reshape → Transpose: ONNX Runtime's
 * CPU Einsum runs SAM ViT's decomposed relative positions ('bhwc,hkc->bhwk', 'bhwc,wkc->bhwk') several times slower
 * than the matrix product they are. The sums are the same; the result differs by rounding only.
 */
import { attrString, intsAttr, type OnnxGraph, type OnnxNode } from './graph.js';
import { inferGraph, numericDims } from './infer.js';
import type { Sym } from './sym.js';

/** Rewrites every such Einsum; returns how many. */
export function einsumAsMatMul(g: OnnxGraph, inputs: ReadonlyMap<string, Sym[]>): number {
  const info = inferGraph(g, inputs);
  const replace = new Map<OnnxNode, OnnxNode[]>();
  for (const n of g.nodes) {
    if (n.opType !== 'Einsum' || n.domain !== '' || n.inputs.length !== 2) continue;
    const eq = attrString(n, 'equation')?.replace(/\s+/g, '');
    const a = numericDims(info.get(n.inputs[0])?.shape);
    const b = numericDims(info.get(n.inputs[1])?.shape);
    if (!eq || !a || !b || !eq.includes('->') || eq.includes('.')) continue;
    const [lhs, out] = eq.split('->');
    const [ta, tb] = lhs.split(',');
    if (!ta || !tb || ta.length !== a.length || tb.length !== b.length) continue;
    const nodes = rewrite(g, n, ta, tb, out, a, b);
    if (nodes) replace.set(n, nodes);
  }
  if (replace.size === 0) return 0;
  g.nodes = g.nodes.flatMap((n) => replace.get(n) ?? [n]);
  return replace.size;
}

function rewrite(g: OnnxGraph, n: OnnxNode, ta: string, tb: string, out: string, a: number[], b: number[]): OnnxNode[] | undefined {
  const letters = [ta, tb, out];
  if (letters.some((t) => new Set(t).size !== t.length)) return undefined;
  const size = new Map<string, number>();
  for (const [t, dims] of [[ta, a], [tb, b]] as const) {
    for (let i = 0; i < t.length; i++) {
      if (size.has(t[i]) && size.get(t[i]) !== dims[i]) return undefined;
      size.set(t[i], dims[i]);
    }
  }
  const batch = [...out].filter((c) => ta.includes(c) && tb.includes(c));
  const left = [...out].filter((c) => ta.includes(c) && !tb.includes(c));
  const right = [...out].filter((c) => tb.includes(c) && !ta.includes(c));
  const summed = [...ta].filter((c) => tb.includes(c) && !out.includes(c));
  // Every letter accounted for: none summed within one input alone, none in the output only.
  if (batch.length + left.length + right.length !== out.length) return undefined;
  if ([...ta, ...tb].some((c) => !out.includes(c) && !summed.includes(c))) return undefined;
  const prod = (cs: string[]): number => cs.reduce((p, c) => p * (size.get(c) as number), 1);
  const nodes: OnnxNode[] = [];
  const add = (opType: string, inputs: string[], attrs: OnnxNode['attrs'] = [], output?: string): string => {
    const o = output ?? g.fresh(`${opType}_einsum`);
    nodes.push({ name: g.fresh(`${opType}_einsum_node`), opType, domain: '', inputs, outputs: [o], attrs });
    return o;
  };
  const arrange = (x: string, from: string, order: string[]): string => {
    const perm = order.map((c) => from.indexOf(c));
    return perm.every((p, i) => p === i) ? x : add('Transpose', [x], [intsAttr('perm', perm)]);
  };
  const A = add('Reshape', [arrange(n.inputs[0], ta, [...batch, ...left, ...summed]), g.int64([prod(batch), prod(left), prod(summed)])]);
  const B = add('Reshape', [arrange(n.inputs[1], tb, [...batch, ...summed, ...right]), g.int64([prod(batch), prod(summed), prod(right)])]);
  const product = [...batch, ...left, ...right];
  const full = add('Reshape', [add('MatMul', [A, B]), g.int64(product.map((c) => size.get(c) as number))]);
  const perm = [...out].map((c) => product.indexOf(c));
  if (perm.every((p, i) => p === i)) nodes[nodes.length - 1].outputs[0] = n.outputs[0];
  else add('Transpose', [full], [intsAttr('perm', perm)], n.outputs[0]);
  return nodes;
}
