/**
 * The decoder as the adapters run it: an image-side step once per encoded crop (`prepare`), then per-prompt runs.
 * By default the graph goes through the load-time optimiser (./optimise): the image-side part becomes its own
 * session, the per-prompt part another, and the pair is checked against the original graph on a probe batch before
 * it is used; any difference beyond the tolerances (or any failure) means a warning and the original graph.
 * Large prompt batches of the optimised graph run in chunks, so that its biggest intermediate tensors stay small.
 *
 * Box prompts feed the same graph another way (two corner points per prompt, or a box input). Where that changes
 * no input shape (the reference export) the optimised graph serves both and the load-time probe also runs it with
 * box labels; otherwise box prompts get their own specialisation of the graph, made and probed the same way on the
 * first box prompt, so that runs with point prompts only pay nothing for it.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { sameShapes, type FeedSpec, type ProbeKind } from './decoder-spec.js';
import { optimiseDecoder, type NotOptimised, type OptimisedDecoder } from './optimise/index.js';
import type { Feeds, OrtRuntime } from './runtime.js';
import { errorMessage } from '../base/errors.js';

/** What adapters need from a decoder. */
export interface Decoder {
  /** The original graph's input names. */
  readonly inputNames: readonly string[];
  /** The session that runs prompts (the original graph, or the optimised per-prompt graph), for `models info`. */
  readonly session: InferenceSession;
  /** What the optimiser did (empty when the original graph runs), and why not when it did not. */
  readonly passes: readonly string[];
  readonly notOptimised?: string;
  /** Image-side work, once per crop: encoder outputs by decoder input name → the feeds every prompt run reuses. */
  prepare(image: Feeds): Promise<Feeds>;
  run(feeds: Feeds, outputs: readonly string[]): Promise<Feeds>;
  /**
   * The decoder that runs box prompts: this one, or the graph specialised for the box feeding pattern (made on the
   * first call; released with this one). Its prepare() takes the same encoder outputs.
   */
  forBoxes(): Promise<Decoder>;
  release(): Promise<void>;
}

/** Decoder loading options (see LoadModelOptions). */
export interface DecoderOptions {
  /** Run the load-time graph optimiser (default true). */
  optimise?: boolean;
  /** Where a fallback to the original graph is reported (default: console.warn). */
  onWarning?: (message: string) => void;
}

/** The graph as exported. */
export class PlainDecoder implements Decoder {
  readonly passes: readonly string[] = [];
  readonly inputNames: readonly string[];

  constructor(
    readonly session: InferenceSession,
    readonly notOptimised?: string,
  ) {
    this.inputNames = session.inputNames;
  }

  async prepare(image: Feeds): Promise<Feeds> {
    return image;
  }

  run(feeds: Feeds, outputs: readonly string[]): Promise<Feeds> {
    return this.session.run(feeds, [...outputs]) as Promise<Feeds>;
  }

  /** The exported graph takes every feeding pattern as it is. */
  async forBoxes(): Promise<Decoder> {
    return this;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/**
 * Largest intermediate tensor of a prompt chunk, in bytes: chunks are sized to stay near it. Small chunks cost no
 * time (ViT-B, 64 prompts alternating in one process: 2 to 32 prompts per chunk all within 2 %) and keep ONNX
 * Runtime's arena small: the ViT-B decoder alone peaked at 1.52 GB with 16 prompts per chunk, 0.68 GB with 4.
 */
const CHUNK_BYTES = 32 * 2 ** 20;

/** The optimised graph pair. */
export class SplitDecoder implements Decoder {
  readonly session: InferenceSession;
  readonly passes: readonly string[];
  /** Prompts per run of the per-prompt graph. */
  readonly chunk: number;
  /**
   * Where box prompts run (see createDecoder): undefined means this graph (its shapes do not change with boxes);
   * otherwise made on first use.
   */
  boxes?: () => Promise<Decoder>;
  private boxDecoder: Promise<Decoder> | undefined;

  constructor(
    readonly inputNames: readonly string[],
    private readonly prefix: InferenceSession | undefined,
    main: InferenceSession,
    private readonly result: OptimisedDecoder,
    private readonly spec: FeedSpec,
    private readonly runtime: OrtRuntime,
    chunk?: number,
  ) {
    this.session = main;
    this.passes = result.passes;
    this.chunk = chunk ?? Math.max(1, Math.floor(CHUNK_BYTES / Math.max(1, result.bytesPerPrompt)));
  }

  async prepare(image: Feeds): Promise<Feeds> {
    const out: Feeds = {};
    for (const name of this.result.passthrough) out[name] = image[name];
    if (!this.prefix) return out;
    const feeds: Feeds = {};
    for (const name of this.prefix.inputNames) feeds[name] = image[name];
    const computed = (await this.prefix.run(feeds, [...this.result.boundary])) as Feeds;
    for (const name of this.result.boundary) out[name] = computed[name];
    return out;
  }

  async run(feeds: Feeds, outputs: readonly string[]): Promise<Feeds> {
    const own: Feeds = {};
    for (const name of this.session.inputNames) own[name] = feeds[name];
    const axes = this.promptAxes(own);
    const count = axes ? axes.count : 0;
    if (!axes || count <= this.chunk || !outputs.every((o) => this.spec.outputAxes[o]?.axis !== undefined)) {
      return (await this.session.run(own, [...outputs])) as Feeds;
    }
    // Prompt chunks: every prompt-axis input and output has only size-1 axes before the prompt axis, so a chunk is
    // a contiguous range of its data.
    const parts: Feeds[] = [];
    for (let start = 0; start < count; start += this.chunk) {
      const n = Math.min(this.chunk, count - start);
      const chunkFeeds: Feeds = {};
      for (const [name, t] of Object.entries(own)) {
        const axis = axes.inputs.get(name);
        chunkFeeds[name] = axis === undefined ? t : sliceRows(this.runtime, t, axis, start, n);
      }
      parts.push((await this.session.run(chunkFeeds, [...outputs])) as Feeds);
    }
    const out: Feeds = {};
    for (const name of outputs) out[name] = concatRows(this.runtime, parts.map((p) => p[name]), this.spec.outputAxes[name].axis as number);
    return out;
  }

  /** The prompt count of a run and the prompt axis of each input, when every such input can be cut in rows. */
  private promptAxes(feeds: Feeds): { count: number; inputs: Map<string, number> } | undefined {
    const inputs = new Map<string, number>();
    let count: number | undefined;
    for (const [name, t] of Object.entries(feeds)) {
      const axis = this.spec.inputs[name]?.indexOf('P');
      if (axis === undefined || axis < 0) continue;
      if (t.dims.slice(0, axis).some((d) => d !== 1)) return undefined;
      if (count !== undefined && t.dims[axis] !== count) return undefined;
      count = t.dims[axis];
      inputs.set(name, axis);
    }
    return count === undefined ? undefined : { count, inputs };
  }

  forBoxes(): Promise<Decoder> {
    if (!this.boxes) return Promise.resolve(this);
    this.boxDecoder ??= this.boxes();
    return this.boxDecoder;
  }

  async release(): Promise<void> {
    const boxes = this.boxDecoder;
    this.boxDecoder = undefined;
    if (boxes) await boxes.then((d) => d.release(), () => undefined);
    await this.prefix?.release();
    await this.session.release();
  }
}

/** Rows [start, start + n) of the prompt axis (all axes before it have size 1). */
function sliceRows(runtime: OrtRuntime, t: Tensor, axis: number, start: number, n: number): Tensor {
  const inner = t.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const data = t.data as Float32Array | BigInt64Array;
  const dims = t.dims.map((d, i) => (i === axis ? n : d));
  const rows = data.subarray(start * inner, (start + n) * inner);
  return rows instanceof BigInt64Array ? runtime.int64(rows, dims) : runtime.float32(rows, dims);
}

function concatRows(runtime: OrtRuntime, parts: Tensor[], axis: number): Tensor {
  const count = parts.reduce((s, p) => s + p.dims[axis], 0);
  const dims = parts[0].dims.map((d, i) => (i === axis ? count : d));
  const out = new Float32Array(dims.reduce((a, b) => a * b, 1));
  let at = 0;
  for (const p of parts) {
    const data = p.data as Float32Array;
    out.set(data, at);
    at += data.length;
  }
  return runtime.float32(out, dims);
}

/** The decoder graph to optimise: its name in messages, its bytes, and the session of the graph as exported. */
export interface DecoderSource {
  file: string;
  bytes: () => Promise<Uint8Array>;
  original: InferenceSession;
}

/** The optimiser as createDecoder calls it (a parameter so that tests can hand in a broken one). */
type Optimise = (bytes: Uint8Array, spec: FeedSpec) => OptimisedDecoder | NotOptimised;

/**
 * The decoder of `source`: the optimised pair when the optimiser finds work and the probe check passes, otherwise
 * the original session itself. `optimise` is the optimiser (a parameter so that tests can hand in a broken one).
 *
 * Box prompts (`spec.boxes`): when they feed the same shapes, the probe also runs the pair with box labels and any
 * difference means the original graph for everything; otherwise the pair's forBoxes() specialises the graph for them
 * on first use, with its own probe check and its own fallback to the original graph (a session made anew from the
 * bytes, since the one given here is released once the pair is in use).
 */
export async function createDecoder(
  source: DecoderSource,
  spec: FeedSpec | string,
  runtime: OrtRuntime,
  opts: DecoderOptions,
  optimise: Optimise = optimiseDecoder,
): Promise<Decoder> {
  const { original } = source;
  if (opts.optimise === false) return new PlainDecoder(original, 'turned off (--no-optimise)');
  if (typeof spec === 'string') return new PlainDecoder(original, spec);
  const warn = opts.onWarning ?? ((m: string) => console.warn(`sam-amg: warning: ${m}`));
  const boxes = spec.boxes;
  const shared = boxes !== undefined && typeof boxes !== 'string' && sameShapes(spec, boxes);
  const decoder = await specialise(source, spec, shared ? [spec, boxes] : [spec], '', runtime, warn, optimise);
  if (decoder instanceof SplitDecoder && boxes !== undefined && !shared) {
    decoder.boxes = () => boxDecoder(source, boxes, runtime, warn, optimise);
  }
  return decoder;
}

/** The decoder of box prompts when they feed other shapes than points: the graph specialised for them, or as exported. */
async function boxDecoder(source: DecoderSource, spec: FeedSpec | string, runtime: OrtRuntime, warn: (m: string) => void, optimise: Optimise): Promise<Decoder> {
  const original = await runtime.createSession(await source.bytes(), source.file);
  if (typeof spec === 'string') return new PlainDecoder(original, spec);
  return specialise({ ...source, original }, spec, [spec], ' for box prompts', runtime, warn, optimise);
}

/**
 * Optimises `source` for `spec` and checks the pair against the original on the probe batches of every spec in
 * `probes` (the feeding patterns it will serve); the pair, or the original graph with one warning. `what` names the
 * specialisation in messages.
 */
async function specialise(
  source: DecoderSource,
  spec: FeedSpec,
  probes: readonly FeedSpec[],
  what: string,
  runtime: OrtRuntime,
  warn: (m: string) => void,
  optimise: Optimise,
): Promise<Decoder> {
  const { file, original } = source;
  let result: OptimisedDecoder | NotOptimised;
  try {
    result = optimise(await source.bytes(), spec);
  } catch (err) {
    warn(`${file}: the decoder graph optimiser failed${what} (${errorMessage(err)}); using the original graph`);
    return new PlainDecoder(original, 'optimiser failed');
  }
  if ('skipped' in result) return new PlainDecoder(original, result.skipped);
  let split: SplitDecoder | undefined;
  try {
    const label = `${file} (optimised${what})`;
    const prefix = result.prefix ? await runtime.createSession(result.prefix, `${label}, image side`) : undefined;
    const main = await runtime.createSession(result.main, label).catch(async (err: unknown) => {
      await prefix?.release();
      throw err;
    });
    split = new SplitDecoder(original.inputNames, prefix, main, result, spec, runtime);
    const plain = new PlainDecoder(original);
    const inputTypes = new Map(original.inputMetadata.map((m) => [m.name, m.isTensor ? m.type : 'float32']));
    for (const probe of probes) {
      const pattern = probe === spec ? '' : ' with box prompts';
      for (const [count, flag] of [[1, 0], [3, 1]] as const) {
        const diff = await probeDifference(plain, split, probe, inputTypes, runtime, count, flag);
        if (diff) {
          warn(
            `${file}: the optimised decoder graph${what} differs from the original${pattern} (max |Δ| ${diff.delta.toExponential(2)} on ${diff.output}, ` +
              `more than ${diff.tolerance}); using the original graph`,
          );
          await split.release();
          return new PlainDecoder(original, `probe check failed on ${diff.output}${pattern}`);
        }
      }
    }
  } catch (err) {
    warn(`${file}: the optimised decoder graph${what} cannot be used (${errorMessage(err).split('\n')[0]}); using the original graph`);
    await split?.release();
    return new PlainDecoder(original, 'optimised graph failed to load or run');
  }
  await original.release();
  return split;
}

/** Runs one probe batch through both decoders; the worst output beyond its tolerance, or undefined when they agree. */
export async function probeDifference(
  a: Decoder,
  b: Decoder,
  spec: FeedSpec,
  types: ReadonlyMap<string, string>,
  runtime: OrtRuntime,
  count: number,
  flag: number,
): Promise<{ output: string; delta: number; tolerance: number } | undefined> {
  const rng = xorshift(0x5eed + count);
  const image: Feeds = {};
  const prompt: Feeds = {};
  for (const [name, dims] of Object.entries(spec.inputs)) {
    const shape = dims.map((d) => (d === 'P' ? count : d));
    const t = probeTensor(runtime, spec.probe[name] ?? 'features', types.get(name) ?? 'float32', shape, rng, flag);
    if (spec.imageInputs.includes(name)) image[name] = t;
    else prompt[name] = t;
  }
  const outputs = spec.outputs;
  const ra = await a.run({ ...(await a.prepare(image)), ...prompt }, outputs);
  const rb = await b.run({ ...(await b.prepare(image)), ...prompt }, outputs);
  let worst: { output: string; delta: number; tolerance: number } | undefined;
  for (const name of outputs) {
    const x = ra[name].data as Float32Array;
    const y = rb[name].data as Float32Array;
    const tolerance = spec.outputAxes[name]?.tolerance ?? 0;
    let delta = x.length === y.length ? 0 : Infinity;
    for (let i = 0; i < x.length && delta !== Infinity; i++) {
      const d = Math.abs(x[i] - y[i]);
      if (d > delta) delta = d;
      else if (Number.isNaN(d) && !(Number.isNaN(x[i]) && Number.isNaN(y[i]))) delta = Infinity;
    }
    if (delta > tolerance && (!worst || delta / tolerance > worst.delta / worst.tolerance)) worst = { output: name, delta, tolerance };
  }
  return worst;
}

function probeTensor(runtime: OrtRuntime, kind: ProbeKind, type: string, dims: number[], rng: () => number, flag: number): Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    switch (kind) {
      case 'features':
        data[i] = rng() * 2 - 1;
        break;
      case 'points':
        data[i] = rng() * 1024;
        break;
      case 'mask':
        data[i] = rng() * 16 - 8;
        break;
      case 'labels':
        data[i] = 1;
        break;
      case 'box-labels':
        data[i] = i % 2 === 0 ? 2 : 3;
        break;
      case 'pad-labels':
        data[i] = -1;
        break;
      case 'flag':
        data[i] = flag;
        break;
      case 'size':
        data[i] = 1024;
        break;
      case 'zeros':
        break;
    }
  }
  if (type === 'int64') return runtime.int64(BigInt64Array.from(data, (v) => BigInt(Math.round(v))), dims);
  return runtime.float32(data, dims);
}

/** Seeded xorshift32 in [0, 1), so that the probe is the same at every load. */
function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}
