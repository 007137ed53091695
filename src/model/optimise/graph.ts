/**
 * A small mutable in-memory form of an ONNX graph for the decoder optimiser: nodes, initializers, inputs and
 * outputs, read from and written back to model bytes with onnx-proto. Pure code (no Node built-ins), so the same
 * optimiser runs in a browser.
 */
import onnx from 'onnx-proto';

export type TensorProto = onnx.onnx.ITensorProto;
export type AttributeProto = onnx.onnx.IAttributeProto;
type GraphProto = onnx.onnx.IGraphProto;
type ModelProto = onnx.onnx.IModelProto;
type ValueInfoProto = onnx.onnx.IValueInfoProto;

/** ONNX element types the optimiser reads or writes. */
export const DT = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
} as const;

const ELEMENT_BYTES = new Map<number, number>([
  [DT.FLOAT, 4],
  [DT.UINT8, 1],
  [DT.INT8, 1],
  [DT.INT32, 4],
  [DT.INT64, 8],
  [DT.BOOL, 1],
  [DT.FLOAT16, 2],
  [DT.DOUBLE, 8],
]);

/** Bytes per element of an element type in {@link DT}; undefined for any other. */
export function elementBytes(dataType: number): number | undefined {
  return ELEMENT_BYTES.get(dataType);
}

const AT = onnx.onnx.AttributeProto.AttributeType;

/** A protobuf int64 as protobufjs hands it over: a number or a Long. */
type LongLike = number | { toNumber(): number };

/** A protobuf int64 as a JavaScript number (exact up to 2^53; larger values only mean "to the end"). */
export function toNumber(x: LongLike | null | undefined): number {
  if (x === null || x === undefined) return 0;
  return typeof x === 'number' ? x : x.toNumber();
}

/** One node; attributes stay in protobuf form so that unknown ones survive unchanged. */
export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: AttributeProto[];
}

/** A graph input or output: element type and dimensions (a number, or a symbolic name). */
export interface ValueInfo {
  name: string;
  elemType: number;
  dims?: (number | string)[];
}

/** The model-level fields kept when a graph is written back. */
interface ModelMeta {
  irVersion: number;
  opsetImport: onnx.onnx.IOperatorSetIdProto[];
  producerName: string;
  producerVersion: string;
}

/** An ONNX graph being rewritten. */
export class OnnxGraph {
  nodes: OnnxNode[] = [];
  readonly inits = new Map<string, TensorProto>();
  inputs: ValueInfo[] = [];
  outputs: ValueInfo[] = [];
  /** Shared by every graph made with emptyLike(), so fresh names never collide between them. */
  private names = { next: 0 };
  private readonly constCache = new Map<string, string>();

  constructor(
    readonly meta: ModelMeta,
    readonly name: string,
  ) {}

  /** Parses model bytes. Throws when the graph keeps weights in external files (not in the bytes). */
  static fromBytes(bytes: Uint8Array): OnnxGraph {
    const model = onnx.onnx.ModelProto.decode(bytes);
    const g = model.graph;
    if (!g) throw new Error('the model has no graph');
    const graph = new OnnxGraph(
      {
        irVersion: toNumber(model.irVersion),
        opsetImport: (model.opsetImport ?? []).map((o) => ({ domain: o.domain ?? '', version: toNumber(o.version) })),
        producerName: model.producerName ?? '',
        producerVersion: model.producerVersion ?? '',
      },
      g.name ?? 'graph',
    );
    for (const t of g.initializer ?? []) {
      if (t.dataLocation === onnx.onnx.TensorProto.DataLocation.EXTERNAL) throw new Error(`initializer ${t.name} is stored in an external file`);
      graph.inits.set(t.name ?? '', t);
    }
    graph.inputs = (g.input ?? []).filter((v) => !graph.inits.has(v.name ?? '')).map(readValueInfo);
    graph.outputs = (g.output ?? []).map(readValueInfo);
    graph.nodes = (g.node ?? []).map(readNode);
    return graph;
  }

  /** The default-domain opset version. */
  get opset(): number {
    const o = this.meta.opsetImport.find((x) => !x.domain || x.domain === 'ai.onnx');
    return o ? toNumber(o.version) : 1;
  }

  /** A graph with the same model fields and initializer store, and no nodes. */
  emptyLike(name: string): OnnxGraph {
    const g = new OnnxGraph(this.meta, name);
    g.names = this.names;
    return g;
  }

  /** A name not used in this graph yet (the optimiser's names all start with `opt::`). */
  fresh(base: string): string {
    return `opt::${base}_${this.names.next++}`;
  }

  /** Adds a node and returns its (first) output name. */
  add(opType: string, inputs: string[], attrs: AttributeProto[] = [], outputs?: string[], domain = ''): string {
    const outs = outputs ?? [this.fresh(opType)];
    this.nodes.push({ name: this.fresh(`${opType}_node`), opType, domain, inputs, outputs: outs, attrs });
    return outs[0];
  }

  /** An int64 constant (shared between calls with equal values). */
  int64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `i64:${dims.join(',')}:${values.join(',')}`;
    const known = this.constCache.get(key);
    if (known && this.inits.has(known)) return known;
    const name = this.fresh('const_i64');
    this.inits.set(name, int64Tensor(name, values, dims));
    this.constCache.set(key, name);
    return name;
  }

  /** A float32 constant. */
  float32(values: Float32Array, dims: readonly number[]): string {
    const name = this.fresh('const_f32');
    this.inits.set(name, float32Tensor(name, values, dims));
    return name;
  }

  /** Serialises the graph (only initializers that some node or output uses are written). */
  toBytes(): Uint8Array {
    const used = new Set<string>();
    for (const n of this.nodes) {
      for (const i of n.inputs) used.add(i);
      for (const a of n.attrs) if (a.g) for (const name of graphReads(a.g)) used.add(name);
    }
    for (const o of this.outputs) used.add(o.name);
    const graph: GraphProto = {
      name: this.name,
      node: this.nodes.map((n) => ({ name: n.name, opType: n.opType, domain: n.domain, input: n.inputs, output: n.outputs, attribute: n.attrs })),
      initializer: [...this.inits.values()].filter((t) => used.has(t.name ?? '')),
      input: this.inputs.map(writeValueInfo),
      output: this.outputs.map(writeValueInfo),
    };
    const model: ModelProto = {
      irVersion: this.meta.irVersion,
      opsetImport: this.meta.opsetImport,
      producerName: this.meta.producerName,
      producerVersion: this.meta.producerVersion,
      graph,
    };
    return onnx.onnx.ModelProto.encode(onnx.onnx.ModelProto.create(model)).finish();
  }
}

/** Names a subgraph reads from its enclosing scope (or its own initializers), recursively. */
export function graphReads(g: GraphProto): Set<string> {
  const out = new Set<string>();
  for (const n of g.node ?? []) {
    for (const i of n.input ?? []) out.add(i);
    for (const a of n.attribute ?? []) if (a.g) for (const x of graphReads(a.g)) out.add(x);
  }
  return out;
}

export function readNode(n: onnx.onnx.INodeProto): OnnxNode {
  return {
    name: n.name ?? '',
    opType: n.opType ?? '',
    domain: n.domain ?? '',
    inputs: [...(n.input ?? [])],
    outputs: [...(n.output ?? [])],
    attrs: [...(n.attribute ?? [])],
  };
}

function readValueInfo(v: ValueInfoProto): ValueInfo {
  const t = v.type?.tensorType;
  const dims = t?.shape?.dim?.map((d) => (d.dimParam ? d.dimParam : d.dimValue !== null && d.dimValue !== undefined ? toNumber(d.dimValue) : '?'));
  return { name: v.name ?? '', elemType: t?.elemType ?? 0, dims: t?.shape ? dims : undefined };
}

function writeValueInfo(v: ValueInfo): ValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: v.elemType,
        shape: v.dims ? { dim: v.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } : undefined,
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Attributes
// ---------------------------------------------------------------------------------------------------------------

export function getAttr(n: OnnxNode, name: string): AttributeProto | undefined {
  return n.attrs.find((a) => a.name === name);
}

export function attrInt(n: OnnxNode, name: string, dflt: number): number {
  const a = getAttr(n, name);
  return a && a.type === AT.INT ? toNumber(a.i) : dflt;
}

export function attrFloat(n: OnnxNode, name: string, dflt: number): number {
  const a = getAttr(n, name);
  return a && a.type === AT.FLOAT ? (a.f ?? dflt) : dflt;
}

export function attrInts(n: OnnxNode, name: string): number[] | undefined {
  const a = getAttr(n, name);
  return a && a.type === AT.INTS ? (a.ints ?? []).map(toNumber) : undefined;
}

export function attrString(n: OnnxNode, name: string): string | undefined {
  const a = getAttr(n, name);
  return a && a.type === AT.STRING && a.s ? new TextDecoder().decode(a.s) : undefined;
}

export const intAttr = (name: string, value: number): AttributeProto => ({ name, type: AT.INT, i: value });
export const floatAttr = (name: string, value: number): AttributeProto => ({ name, type: AT.FLOAT, f: value });
export const intsAttr = (name: string, value: readonly number[]): AttributeProto => ({ name, type: AT.INTS, ints: [...value] });

// ---------------------------------------------------------------------------------------------------------------
// Tensors
// ---------------------------------------------------------------------------------------------------------------

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

export function int64Tensor(name: string, values: readonly number[], dims: readonly number[]): TensorProto {
  const data = new BigInt64Array(values.length);
  values.forEach((v, i) => {
    const b = BigInt(Math.trunc(v));
    data[i] = b > INT64_MAX ? INT64_MAX : b < INT64_MIN ? INT64_MIN : b;
  });
  return { name, dataType: DT.INT64, dims: [...dims], rawData: new Uint8Array(data.buffer) };
}

export function float32Tensor(name: string, values: Float32Array, dims: readonly number[]): TensorProto {
  return { name, dataType: DT.FLOAT, dims: [...dims], rawData: new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)) };
}

export function tensorDims(t: TensorProto): number[] {
  return (t.dims ?? []).map(toNumber);
}

const count = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** A copy of raw little-endian bytes on an aligned buffer. */
function aligned(raw: Uint8Array): ArrayBuffer {
  return raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength) as ArrayBuffer;
}

/** The values of an integer or boolean tensor as numbers, or undefined for other types. */
export function intValues(t: TensorProto): number[] | undefined {
  const n = count(tensorDims(t));
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  switch (t.dataType) {
    case DT.INT64:
      if (raw) return Array.from(new BigInt64Array(aligned(raw), 0, n), (b) => Number(b));
      return (t.int64Data ?? []).map(toNumber);
    case DT.INT32:
      if (raw) return Array.from(new Int32Array(aligned(raw), 0, n));
      return [...(t.int32Data ?? [])];
    case DT.BOOL:
    case DT.UINT8:
      if (raw) return Array.from(raw.subarray(0, n));
      return [...(t.int32Data ?? [])];
    case DT.INT8:
      if (raw) return Array.from(new Int8Array(aligned(raw), 0, n));
      return [...(t.int32Data ?? [])];
    default:
      return undefined;
  }
}

/** The values of a float32 tensor, or undefined for other types. */
export function floatValues(t: TensorProto): Float32Array | undefined {
  if (t.dataType !== DT.FLOAT) return undefined;
  const n = count(tensorDims(t));
  if (t.rawData && t.rawData.length > 0) return new Float32Array(aligned(t.rawData), 0, n);
  return Float32Array.from(t.floatData ?? []);
}
