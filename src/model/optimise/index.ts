/**
 * The load-time decoder graph optimiser: ONNX model bytes in, an image-side graph (run once per encoded crop) and a
 * per-prompt graph out, each as model bytes. Pure code: no Node built-ins, no ONNX Runtime, so the same passes run
 * in a browser. The caller checks the result against the original graph on a probe batch (see
 * ../decoder.ts) and keeps the original when they differ.
 *
 * Passes, in order (each is general and does nothing where its pattern is absent):
 * 1. static shapes: the caller's input shapes (everything fixed but the prompt count P) make loops, sequences and
 *    shape arithmetic static (static-shapes.ts);
 * 2. outputs the caller does not read are dropped, and slices of outputs are moved up to where the work is done
 *    (slices.ts), so that, e.g., the discarded fourth mask is never computed;
 * 3. the image side is split off and broadcasts along the prompt axis are pushed below row-wise operators
 *    (hoist.ts);
 * 4. attention of few queries over projected image tokens multiplies the queries by the weights first, and
 *    attention of many projected queries over few keys multiplies the keys and values by the weights first
 *    (attention.ts);
 * 5. ConvTranspose with kernel = stride runs as MatMul in token-major layout (token-major.ts), LayerNorm written
 *    out as element-wise operators becomes LayerNormalization (layer-norm.ts);
 * 6. a product by a constant matrix of a LayerNormalization of image-side, low-rank and constant terms (and such
 *    LayerNormalizations) is split over those terms, its image-side part moved to the image side
 *    (layer-norm-linear.ts);
 * 7. MatMul + bias on [..., K] rows becomes one Gemm (matmul-bias.ts).
 */
import { elementBytes, OnnxGraph } from './graph.js';
import { inferGraph } from './infer.js';
import { reassociateFewKeyAttention, reassociateFewQueryAttention } from './attention.js';
import { hoistImageSide } from './hoist.js';
import { fuseLayerNorm } from './layer-norm.js';
import { linearOfLayerNorm, moveImageProducts } from './layer-norm-linear.js';
import { fuseMatMulBias } from './matmul-bias.js';
import { pullSlicesUp } from './slices.js';
import { constantsToInitializers, deadCodeElimination, foldShapes, resolveSequences, unrollLoops, type PSource } from './static-shapes.js';
import { tokenMajorUpscaling } from './token-major.js';
import { num, P, product, type Sym } from './sym.js';
import { errorMessage } from '../../base/errors.js';

/** How the caller feeds the decoder: every input's dims ('P' marks the prompt axis) and what it reads. */
export interface DecoderSpec {
  inputs: Readonly<Record<string, readonly (number | 'P')[]>>;
  /** Inputs that come from the image encoder (the same for every prompt of a crop). */
  imageInputs: readonly string[];
  /** Outputs the caller reads; the others are dropped. */
  outputs: readonly string[];
}

/** The optimised decoder: run `prefix` once per crop, then `main` per prompt batch. */
export interface OptimisedDecoder {
  /** Image-side graph (inputs: image inputs; outputs: `boundary`), absent when nothing was hoisted. */
  prefix?: Uint8Array;
  /** Per-prompt graph: prompt inputs, `boundary` and `passthrough` → the read outputs. */
  main: Uint8Array;
  boundary: readonly string[];
  /** Image-side inputs the per-prompt graph reads directly. */
  passthrough: readonly string[];
  /** One line per pass that changed something. */
  passes: readonly string[];
  /** Bytes per prompt of the per-prompt graph's largest tensor (how big a prompt batch's intermediates get). */
  bytesPerPrompt: number;
}

/** Passes that can be left out (for measurements and diagnostics). */
export type PassName = 'slices' | 'hoist' | 'attention' | 'few-keys' | 'token-major' | 'layer-norm' | 'layer-norm-linear' | 'matmul-bias';

/** Why the optimiser left a graph alone. */
export interface NotOptimised {
  skipped: string;
}

/**
 * Optimises a decoder graph for the given feeding pattern. Returns `{ skipped }` when the graph cannot be read as
 * expected or no pass finds anything to do.
 */
export function optimiseDecoder(bytes: Uint8Array, spec: DecoderSpec, skip: readonly PassName[] = []): OptimisedDecoder | NotOptimised {
  let g: OnnxGraph;
  try {
    g = OnnxGraph.fromBytes(bytes);
  } catch (err) {
    return { skipped: `cannot read the graph (${errorMessage(err)})` };
  }
  const inputs = new Map<string, Sym[]>();
  let source: PSource | undefined;
  for (const v of g.inputs) {
    const dims = spec.inputs[v.name];
    if (!dims) return { skipped: `no shape given for input ${v.name}` };
    inputs.set(v.name, dims.map((d) => (d === 'P' ? P : num(d))));
    const axis = dims.indexOf('P');
    if (axis >= 0 && !source && !spec.imageInputs.includes(v.name)) source = { input: v.name, axis };
  }
  const missing = spec.outputs.filter((o) => !g.outputs.some((x) => x.name === o));
  if (missing.length > 0) return { skipped: `the graph has no output ${missing.join(', ')}` };
  const passes: string[] = [];
  const dropped = g.outputs.filter((o) => !spec.outputs.includes(o.name)).map((o) => o.name);
  g.outputs = g.outputs.filter((o) => spec.outputs.includes(o.name));
  if (dropped.length > 0) passes.push(`outputs not read dropped: ${dropped.join(', ')}`);

  const before = g.nodes.length;
  constantsToInitializers(g);
  const unrolled = unrollLoops(g, inputs);
  const sequences = resolveSequences(g, inputs);
  foldShapes(g, inputs, source);
  deadCodeElimination(g);
  passes.push(`static shapes: ${before} → ${g.nodes.length} nodes${unrolled ? ', loops unrolled' : ''}${sequences ? ', sequences resolved' : ''}`);

  const slices = skip.includes('slices') ? 0 : pullSlicesUp(g, inputs);
  if (slices > 0) passes.push(`unused rows: ${slices} slice${slices === 1 ? '' : 's'} moved up to where the work is done`);

  let hoist: ReturnType<typeof hoistImageSide>;
  try {
    hoist = skip.includes('hoist') ? undefined : hoistImageSide(g, inputs, new Set(spec.imageInputs), source);
  } catch (err) {
    // The split leaves `g` as it was; an image-side tensor without a static shape, say, only means no split.
    passes.push(`image side: not split (${errorMessage(err)})`);
    hoist = undefined;
  }
  const main = hoist?.main ?? g;
  if (hoist) {
    passes.push(
      `image side: ${hoist.prefix.nodes.length} nodes once per crop, ${hoist.boundary.length} tensors handed over, ${hoist.materialised} broadcast${hoist.materialised === 1 ? '' : 's'} left per prompt`,
    );
  }
  const mainInputs = new Map(inputs);
  if (hoist) {
    for (const v of hoist.main.inputs) if (!mainInputs.has(v.name)) mainInputs.set(v.name, (v.dims ?? []).map((d) => (typeof d === 'number' ? num(d) : P)));
  }
  const attention = skip.includes('attention') ? 0 : reassociateFewQueryAttention(main, mainInputs);
  if (attention > 0) passes.push(`few-query attention reassociated: ${attention} product${attention === 1 ? '' : 's'}`);
  const fewKeys = skip.includes('few-keys') ? 0 : reassociateFewKeyAttention(main, mainInputs);
  if (fewKeys > 0) passes.push(`few-key attention reassociated: ${fewKeys} product${fewKeys === 1 ? '' : 's'}`);
  const convs = skip.includes('token-major') ? 0 : tokenMajorUpscaling(main, mainInputs);
  if (convs > 0) passes.push(`token-major upscaling: ${convs} ConvTranspose → MatMul`);
  const norms = skip.includes('layer-norm') ? 0 : fuseLayerNorm(main, mainInputs);
  if (norms > 0) passes.push(`LayerNorm fused: ${norms}`);
  const lnLinear = skip.includes('layer-norm-linear') ? 0 : linearOfLayerNorm(main, mainInputs);
  const lnMoved = lnLinear > 0 && hoist ? moveImageProducts(main, hoist.prefix, hoist.boundary, mainInputs) : 0;
  if (lnLinear > 0) passes.push(`linear map of LayerNorm split over its terms: ${lnLinear}${lnMoved > 0 ? ` (${lnMoved} image-side node${lnMoved === 1 ? '' : 's'} moved to the image side)` : ''}`);
  const biases = skip.includes('matmul-bias') ? 0 : fuseMatMulBias(main, mainInputs) + (hoist ? fuseMatMulBias(hoist.prefix, inputs) : 0);
  if (biases > 0) passes.push(`MatMul + bias as Gemm: ${biases}`);
  deadCodeElimination(main);
  const bytesPerPrompt = largestPerPrompt(main, mainInputs);

  const changed = dropped.length > 0 || slices > 0 || hoist !== undefined || attention + fewKeys + convs + norms + lnLinear + biases > 0;
  if (!changed) return { skipped: 'no pass found anything to do' };
  return {
    prefix: hoist?.prefix.toBytes(),
    main: main.toBytes(),
    boundary: hoist?.boundary ?? [],
    passthrough: hoist ? hoist.passthrough : spec.imageInputs.filter((n) => g.inputs.some((v) => v.name === n)),
    passes,
    bytesPerPrompt,
  };
}

/** Bytes per unit of P of the largest tensor whose size grows with P. */
function largestPerPrompt(g: OnnxGraph, inputs: ReadonlyMap<string, Sym[]>): number {
  let most = 0;
  for (const t of inferGraph(g, inputs).values()) {
    if (!t.shape) continue;
    const size = product(t.shape);
    if (size.k === 1) most = Math.max(most, size.c * (elementBytes(t.elem) ?? 4));
  }
  return most;
}
