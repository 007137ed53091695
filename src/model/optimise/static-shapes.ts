/**
 * Passes that make a decoder graph's control and shape plumbing static once its input shapes are fixed (all but the
 * prompt count P): Constant nodes become initializers, loops with a known trip count are unrolled, sequences of a
 * known length become plain tensors, and every small integer tensor whose value inference knows becomes a constant
 * (or, when it depends on P, a few nodes computing it from the prompt input's shape). Reshape targets that depend on
 * P get a -1 in P's place, so most of the graph's Shape → Gather → Concat chains disappear.
 */
import { attrInt, floatValues, graphReads, intAttr, readNode, tensorDims, DT, type OnnxGraph, type OnnxNode } from './graph.js';
import { inferGraph, type InfoMap } from './infer.js';
import { isNum, type Sym } from './sym.js';

/** Where the runtime value of P can be read: a prompt input and the axis that holds P. */
export interface PSource {
  input: string;
  axis: number;
}

/** Constant nodes → initializers; Identity of an initializer → the initializer itself. */
export function constantsToInitializers(g: OnnxGraph): void {
  const keep: OnnxNode[] = [];
  const alias = new Map<string, string>();
  const outputs = new Set(g.outputs.map((o) => o.name));
  for (const n of g.nodes) {
    n.inputs = n.inputs.map((i) => alias.get(i) ?? i);
    if (n.opType === 'Constant' && n.domain === '' && n.attrs.length === 1 && n.attrs[0].t) {
      const t = n.attrs[0].t;
      g.inits.set(n.outputs[0], { ...t, name: n.outputs[0] });
      continue;
    }
    if (n.opType === 'Identity' && g.inits.has(n.inputs[0]) && !outputs.has(n.outputs[0])) {
      alias.set(n.outputs[0], n.inputs[0]);
      continue;
    }
    keep.push(n);
  }
  g.nodes = keep;
}

/**
 * Unrolls Loop nodes whose trip count is known (at most 16 iterations) and whose body has no nested graphs.
 * Returns whether anything changed. The loop's condition must stay true on every iteration; that is checked after
 * unrolling by value inference, and the graph is restored otherwise.
 */
export function unrollLoops(g: OnnxGraph, inputs: ReadonlyMap<string, Sym[]>): boolean {
  let changed = false;
  for (;;) {
    const info = inferGraph(g, inputs);
    const idx = g.nodes.findIndex((n) => n.opType === 'Loop' && n.domain === '' && tripCount(n, info) !== undefined);
    if (idx < 0) return changed;
    const before = g.nodes;
    const loop = g.nodes[idx];
    const unrolled = unrollOne(g, loop, tripCount(loop, info) as number);
    if (!unrolled) return changed;
    g.nodes = [...before.slice(0, idx), ...unrolled.nodes, ...before.slice(idx + 1)];
    const after = inferGraph(g, inputs);
    const condTrue = unrolled.conds.every((c) => {
      const v = after.get(c)?.value;
      return v !== undefined && v.length === 1 && isNum(v[0]) && v[0].c !== 0;
    });
    if (!condTrue) {
      g.nodes = before;
      return changed;
    }
    changed = true;
  }
}

function tripCount(loop: OnnxNode, info: InfoMap): number | undefined {
  if (!loop.inputs[0]) return undefined;
  const v = info.get(loop.inputs[0])?.value;
  if (!v || v.length !== 1 || !isNum(v[0]) || v[0].c < 1 || v[0].c > 16) return undefined;
  if (loop.inputs[1]) {
    const c = info.get(loop.inputs[1])?.value;
    if (!c || !isNum(c[0]) || c[0].c === 0) return undefined;
  }
  const body = loop.attrs.find((a) => a.name === 'body')?.g;
  if (!body || (body.node ?? []).some((n) => (n.attribute ?? []).some((a) => a.g || (a.graphs && a.graphs.length > 0)))) return undefined;
  return v[0].c;
}

function unrollOne(g: OnnxGraph, loop: OnnxNode, trips: number): { nodes: OnnxNode[]; conds: string[] } | undefined {
  const body = loop.attrs.find((a) => a.name === 'body')?.g;
  if (!body) return undefined;
  const bodyIn = (body.input ?? []).map((v) => v.name ?? '');
  const bodyOut = (body.output ?? []).map((v) => v.name ?? '');
  const carried = loop.inputs.slice(2);
  const nCarried = carried.length;
  const nScan = bodyOut.length - 1 - nCarried;
  if (bodyIn.length !== 2 + nCarried || nScan < 0) return undefined;
  const nodes: OnnxNode[] = [];
  const conds: string[] = [];
  let current = [...carried];
  let cond = loop.inputs[1];
  if (!cond) {
    cond = g.fresh('loop_cond');
    nodes.push({ name: g.fresh('Cast_cond'), opType: 'Cast', domain: '', inputs: [g.int64([1], [])], outputs: [cond], attrs: [intAttr('to', DT.BOOL)] });
  }
  const scans: string[][] = Array.from({ length: nScan }, () => []);
  const bodyInits = new Map<string, string>();
  for (const t of body.initializer ?? []) {
    const name = g.fresh(`loop_init_${t.name}`);
    g.inits.set(name, { ...t, name });
    bodyInits.set(t.name ?? '', name);
  }
  for (let it = 0; it < trips; it++) {
    const map = new Map<string, string>(bodyInits);
    map.set(bodyIn[0], g.int64([it], []));
    map.set(bodyIn[1], cond);
    for (let j = 0; j < nCarried; j++) map.set(bodyIn[2 + j], current[j]);
    for (const proto of body.node ?? []) {
      const n = readNode(proto);
      const clone: OnnxNode = {
        ...n,
        name: g.fresh(`${n.opType}_unrolled`),
        inputs: n.inputs.map((i) => map.get(i) ?? i),
        outputs: n.outputs.map((o) => {
          const name = o === '' ? '' : g.fresh(`it${it}_${o}`);
          if (o) map.set(o, name);
          return name;
        }),
      };
      nodes.push(clone);
    }
    const outOf = (name: string): string => map.get(name) ?? name;
    cond = outOf(bodyOut[0]);
    conds.push(cond);
    current = bodyOut.slice(1, 1 + nCarried).map(outOf);
    for (let k = 0; k < nScan; k++) scans[k].push(outOf(bodyOut[1 + nCarried + k]));
  }
  for (let j = 0; j < nCarried; j++) {
    if (loop.outputs[j]) nodes.push({ name: g.fresh('Identity_loop'), opType: 'Identity', domain: '', inputs: [current[j]], outputs: [loop.outputs[j]], attrs: [] });
  }
  for (let k = 0; k < nScan; k++) {
    const out = loop.outputs[nCarried + k];
    if (!out) continue;
    const axes = g.int64([0]);
    const parts = scans[k].map((s) => {
      const u = g.fresh('scan_unsqueeze');
      nodes.push({ name: g.fresh('Unsqueeze_scan'), opType: 'Unsqueeze', domain: '', inputs: [s, axes], outputs: [u], attrs: [] });
      return u;
    });
    nodes.push({ name: g.fresh('Concat_scan'), opType: 'Concat', domain: '', inputs: parts, outputs: [out], attrs: [intAttr('axis', 0)] });
  }
  return { nodes, conds };
}

const SEQUENCE_OPS = new Set(['SequenceEmpty', 'SequenceConstruct', 'SequenceInsert', 'SplitToSequence', 'SequenceAt', 'SequenceLength', 'ConcatFromSequence']);

/**
 * Replaces sequence operators by plain tensors where every sequence's length is known. All or nothing: when a
 * sequence is produced or consumed by something this pass does not resolve, the graph is left unchanged.
 */
export function resolveSequences(g: OnnxGraph, inputs: ReadonlyMap<string, Sym[]>): boolean {
  if (!g.nodes.some((n) => SEQUENCE_OPS.has(n.opType))) return false;
  const info = inferGraph(g, inputs);
  const seqs = new Map<string, string[]>();
  const out: OnnxNode[] = [];
  const saved = { nodes: g.nodes };
  const emit = (opType: string, inputs: string[], outputs: string[], attrs: OnnxNode['attrs'] = []): void => {
    out.push({ name: g.fresh(`${opType}_seq`), opType, domain: '', inputs, outputs, attrs });
  };
  const constInt = (name: string): number | undefined => {
    const v = info.get(name)?.value;
    return v && v.length === 1 && isNum(v[0]) ? v[0].c : undefined;
  };
  for (const n of g.nodes) {
    const readsSeq = n.inputs.some((i) => seqs.has(i));
    switch (n.opType) {
      case 'SequenceEmpty':
        seqs.set(n.outputs[0], []);
        continue;
      case 'SequenceConstruct':
        seqs.set(n.outputs[0], [...n.inputs]);
        continue;
      case 'SequenceInsert': {
        const s = seqs.get(n.inputs[0]);
        if (!s) break;
        const list = [...s];
        const pos = n.inputs[2] ? constInt(n.inputs[2]) : list.length;
        if (pos === undefined) break;
        list.splice(pos < 0 ? pos + list.length : pos, 0, n.inputs[1]);
        seqs.set(n.outputs[0], list);
        continue;
      }
      case 'SplitToSequence': {
        const x = info.get(n.inputs[0]);
        const axisRaw = attrInt(n, 'axis', 0);
        const rank = x?.shape?.length;
        if (rank === undefined || !x?.shape) break;
        const axis = axisRaw < 0 ? axisRaw + rank : axisRaw;
        const dim = x.shape[axis];
        if (!isNum(dim)) break;
        const keepdims = attrInt(n, 'keepdims', 1) === 1;
        let sizes: number[] | undefined;
        const splitInfo = n.inputs[1] ? info.get(n.inputs[1]) : undefined;
        if (!n.inputs[1]) sizes = new Array(dim.c).fill(1);
        else if (splitInfo?.value && splitInfo.value.every(isNum)) {
          const v = splitInfo.value.map((s) => s.c);
          if (splitInfo.shape?.length === 0) sizes = Array.from({ length: Math.ceil(dim.c / v[0]) }, (_, i) => Math.min(v[0], dim.c - i * v[0]));
          else sizes = v;
        }
        if (!sizes) break;
        const list: string[] = [];
        let start = 0;
        for (const s of sizes) {
          const piece = g.fresh('split_seq');
          emit('Slice', [n.inputs[0], g.int64([start]), g.int64([start + s]), g.int64([axis])], [piece]);
          if (!n.inputs[1] && !keepdims) {
            const sq = g.fresh('split_seq_squeezed');
            emit('Squeeze', [piece, g.int64([axis])], [sq]);
            list.push(sq);
          } else {
            list.push(piece);
          }
          start += s;
        }
        seqs.set(n.outputs[0], list);
        continue;
      }
      case 'SequenceAt': {
        const s = seqs.get(n.inputs[0]);
        const pos = constInt(n.inputs[1]);
        if (!s || pos === undefined) break;
        const el = s[pos < 0 ? pos + s.length : pos];
        if (el === undefined) break;
        emit('Identity', [el], [n.outputs[0]]);
        continue;
      }
      case 'SequenceLength': {
        const s = seqs.get(n.inputs[0]);
        if (!s) break;
        emit('Identity', [g.int64([s.length], [])], [n.outputs[0]]);
        continue;
      }
      case 'ConcatFromSequence': {
        const s = seqs.get(n.inputs[0]);
        if (!s || s.length === 0) break;
        const axis = attrInt(n, 'axis', 0);
        const newAxis = attrInt(n, 'new_axis', 0) === 1;
        const parts = newAxis
          ? s.map((el) => {
              const u = g.fresh('seq_unsqueeze');
              emit('Unsqueeze', [el, g.int64([axis])], [u]);
              return u;
            })
          : s;
        if (parts.length === 1) emit('Identity', [parts[0]], [n.outputs[0]]);
        else emit('Concat', parts, [n.outputs[0]], [intAttr('axis', axis)]);
        continue;
      }
      case 'Identity':
        if (seqs.has(n.inputs[0])) {
          seqs.set(n.outputs[0], seqs.get(n.inputs[0]) as string[]);
          continue;
        }
        break;
      default:
        if (!readsSeq) {
          out.push(n);
          continue;
        }
    }
    // A sequence this pass cannot follow: leave the graph as it was.
    g.nodes = saved.nodes;
    return false;
  }
  const outputs = new Set(g.outputs.map((o) => o.name));
  if ([...seqs.keys()].some((s) => outputs.has(s))) {
    g.nodes = saved.nodes;
    return false;
  }
  g.nodes = out;
  return true;
}

/** Builds the 1-element int64 vector holding P at run time, once per graph. */
export class PExpr {
  private vec: string | undefined;
  private readonly cache = new Map<string, string>();

  constructor(
    private readonly g: OnnxGraph,
    private readonly source: PSource | undefined,
  ) {}

  get available(): boolean {
    return this.source !== undefined;
  }

  /** [P] as an int64 vector. */
  p(): string {
    if (!this.source) throw new Error('no prompt input holds P');
    this.vec ??= this.g.add('Gather', [this.g.add('Shape', [this.source.input]), this.g.int64([this.source.axis])], [intAttr('axis', 0)]);
    return this.vec;
  }

  /** An int64 tensor of the given shape holding `values` (monomials in P). */
  tensor(values: readonly Sym[], dims: readonly number[]): string {
    const key = `${dims.join(',')}:${values.map((v) => `${v.c}p${v.k}`).join(',')}`;
    const known = this.cache.get(key);
    if (known) return known;
    const g = this.g;
    let result: string;
    if (values.every(isNum)) {
      result = g.int64(values.map((v) => v.c), dims);
    } else {
      const parts = values.map((v) => {
        if (isNum(v)) return g.int64([v.c]);
        let t = this.p();
        for (let k = 1; k < v.k; k++) t = g.add('Mul', [t, this.p()]);
        return v.c === 1 ? t : g.add('Mul', [t, g.int64([v.c])]);
      });
      const flat = parts.length === 1 ? parts[0] : g.add('Concat', parts, [intAttr('axis', 0)]);
      result = dims.length === 1 && dims[0] === values.length ? flat : g.add('Reshape', [flat, g.int64([...dims])]);
    }
    this.cache.set(key, result);
    return result;
  }
}

/**
 * Replaces every computed small integer tensor with a known value by a constant (or a P expression), and gives
 * Reshape nodes constant targets where P can be written as -1 or 0. Returns whether anything changed.
 */
export function foldShapes(g: OnnxGraph, inputs: ReadonlyMap<string, Sym[]>, source: PSource | undefined): boolean {
  const info = inferGraph(g, inputs);
  const pexpr = new PExpr(g, source);
  // Graph outputs and names read inside subgraphs keep their producers.
  const outputs = new Set(g.outputs.map((o) => o.name));
  for (const n of g.nodes) for (const a of n.attrs) if (a.g) for (const x of graphReads(a.g)) outputs.add(x);
  const alias = new Map<string, string>();
  const keep: OnnxNode[] = [];
  let changed = false;
  // P expressions depend on a graph input only: they are collected first, ahead of every node.
  const prefix: OnnxNode[] = [];
  const nodesBefore = g.nodes;
  g.nodes = prefix;
  for (const n of nodesBefore) {
    const original = n.inputs;
    n.inputs = n.inputs.map((i) => alias.get(i) ?? i);
    const known = n.outputs.length === 1 && !outputs.has(n.outputs[0]) ? info.get(n.outputs[0]) : undefined;
    const numDims = known?.shape?.every(isNum) ? known.shape.map((d) => d.c) : undefined;
    if (known?.value && numDims && known.elem === DT.INT64 && (pexpr.available || known.value.every(isNum)) && n.opType !== 'Constant') {
      alias.set(n.outputs[0], pexpr.tensor(known.value, numDims));
      changed = true;
      continue;
    }
    if (n.opType === 'Reshape') {
      const x = info.get(original[0]);
      const target = info.get(original[1])?.value;
      const out = info.get(n.outputs[0])?.shape;
      if (target && x?.shape && out && !g.inits.has(original[1])) {
        const constTarget = reshapeTarget(x.shape, out);
        if (constTarget) {
          n.inputs = [n.inputs[0], g.int64(constTarget)];
          n.attrs = n.attrs.filter((a) => a.name !== 'allowzero');
          changed = true;
        }
      }
    }
    keep.push(n);
  }
  g.nodes = [...prefix, ...keep];
  return changed;
}

/** A constant Reshape target for `out`: P as -1 (one P axis) or as 0 where the input has the same dim there. */
export function reshapeTarget(input: readonly Sym[], out: readonly Sym[]): number[] | undefined {
  const target: number[] = [];
  let minusOne = false;
  for (let i = 0; i < out.length; i++) {
    const d = out[i];
    if (isNum(d)) {
      if (d.c === 0) return undefined;
      target.push(d.c);
    } else if (i < input.length && input[i].c === d.c && input[i].k === d.k) {
      target.push(0);
    } else if (!minusOne) {
      target.push(-1);
      minusOne = true;
    } else {
      return undefined;
    }
  }
  return target;
}

/** Removes nodes none of whose outputs are needed by the graph outputs. */
export function deadCodeElimination(g: OnnxGraph): void {
  const needed = new Set(g.outputs.map((o) => o.name));
  const keep: boolean[] = new Array(g.nodes.length).fill(false);
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (!n.outputs.some((o) => o && needed.has(o))) continue;
    keep[i] = true;
    for (const x of n.inputs) if (x) needed.add(x);
    for (const a of n.attrs) if (a.g) for (const x of graphReads(a.g)) needed.add(x);
  }
  g.nodes = g.nodes.filter((_, i) => keep[i]);
  for (const name of [...g.inits.keys()]) if (!needed.has(name)) g.inits.delete(name);
}

/** Consumers of each tensor (node indices), for the passes that look downstream. */
export function consumers(g: OnnxGraph): Map<string, OnnxNode[]> {
  const map = new Map<string, OnnxNode[]>();
  for (const n of g.nodes) {
    for (const i of n.inputs) {
      if (!i) continue;
      const list = map.get(i);
      if (list) list.push(n);
      else map.set(i, [n]);
    }
  }
  return map;
}

/** The producer of each tensor. */
/** How a rewriting pass finds its way around a graph: each tensor's producer and readers, and the graph's outputs. */
export interface GraphLinks {
  made: Map<string, OnnxNode>;
  users: Map<string, OnnxNode[]>;
  outputs: Set<string>;
  /** Whether `t` has exactly one reader and is no graph output, so a rewrite may consume it. */
  single(t: string): boolean;
}

/** {@link GraphLinks} of `g` as it is now (a pass that changes `g` asks again). */
export function graphLinks(g: OnnxGraph): GraphLinks {
  const users = consumers(g);
  const outputs = new Set(g.outputs.map((o) => o.name));
  return { made: producers(g), users, outputs, single: (t) => !outputs.has(t) && users.get(t)?.length === 1 };
}

/**
 * The constant bias added to `t` by its only reader: an Add of `t` and a float initializer of n values along the last
 * axis (dims [n] or [1, …, 1, n]), `t` not a graph output (`outputs`: the graph's output names). Undefined otherwise.
 */
export function biasAddAfter(
  g: OnnxGraph,
  users: ReadonlyMap<string, OnnxNode[]>,
  outputs: ReadonlySet<string>,
  t: string,
  n: number,
): { add: OnnxNode; bias: string; dims: number[]; values: Float32Array } | undefined {
  const use = users.get(t);
  if (outputs.has(t) || use?.length !== 1 || use[0].opType !== 'Add' || use[0].domain !== '') return undefined;
  const add = use[0];
  const bias = add.inputs[0] === t ? add.inputs[1] : add.inputs[0];
  const init = g.inits.get(bias);
  const dims = init ? tensorDims(init) : [];
  if (!init || init.dataType !== DT.FLOAT || dims.length === 0 || dims[dims.length - 1] !== n || dims.slice(0, -1).some((d) => d !== 1)) return undefined;
  const values = floatValues(init);
  return values ? { add, bias, dims, values: Float32Array.from(values) } : undefined;
}

export function producers(g: OnnxGraph): Map<string, OnnxNode> {
  const map = new Map<string, OnnxNode>();
  for (const n of g.nodes) for (const o of n.outputs) if (o) map.set(o, n);
  return map;
}
