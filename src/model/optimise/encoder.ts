/**
 * The load-time image encoder optimiser: ONNX model bytes in, model bytes out, for one fixed input size (the
 * pre-processing's square, batch 1). Pure code like the decoder optimiser (./index.ts); the caller checks the result
 * against the original graph on a probe image (../encoder.ts) and keeps the original when they differ.
 *
 * Passes, in order (each is general and does nothing where its pattern is absent):
 * 1. static shapes: the fixed input shape makes the shape arithmetic of a dynamic-batch export constant
 *    (static-shapes.ts), so that the passes below see every shape (alone, it is not worth a second graph);
 * 2. attention whose score matrix is large is computed in blocks of query rows (row-chunks.ts): SAM ViT's global
 *    attention blocks hold [12, 4096, 4096] floats per operator otherwise;
 * 3. a projection of windowed tokens runs on the tokens before padding / after cropping (window-rows.ts), so the
 *    padding rows of SAM ViT's 14×14 windows are not projected;
 * 4. a two-input Einsum that is a batched matrix product becomes one MatMul between layout changes (einsum.ts):
 *    ONNX Runtime's Einsum is several times slower on SAM ViT's relative positions;
 * 5. MatMul + bias on [..., K] rows becomes one Gemm (matmul-bias.ts).
 */
import { errorMessage } from '../../base/errors.js';
import { einsumAsMatMul } from './einsum.js';
import { OnnxGraph } from './graph.js';
import { fuseMatMulBias } from './matmul-bias.js';
import { chunkAttentionRows, ROW_CHUNKS, type RowChunkOptions } from './row-chunks.js';
import { constantsToInitializers, deadCodeElimination, foldShapes, resolveSequences, unrollLoops } from './static-shapes.js';
import { num, type Sym } from './sym.js';
import { projectWindowRows } from './window-rows.js';

/** The encoder's one image input and its size for this model (batch 1). */
export interface EncoderSpec {
  input: string;
  dims: readonly number[];
}

/** Passes that can be left out (for measurements and diagnostics). */
export type EncoderPassName = 'row-chunks' | 'window-rows' | 'einsum' | 'matmul-bias';

/** The optimised encoder graph. */
export interface OptimisedEncoder {
  /** Empty when the caller asked for the passes only. */
  model: Uint8Array;
  /** One line per pass that changed something. */
  passes: readonly string[];
}

/**
 * Optimises an image encoder graph for one input size. Returns `{ skipped }` when the graph cannot be read as
 * expected or no pass finds anything to do. With `serialise: false` only the passes are computed (the model bytes
 * stay empty): what the graph's size in bytes would cost to write is saved when the caller only asks whether there
 * is work.
 */
export function optimiseEncoder(
  bytes: Uint8Array,
  spec: EncoderSpec,
  skip: readonly EncoderPassName[] = [],
  rowChunks: RowChunkOptions = ROW_CHUNKS,
  serialise = true,
): OptimisedEncoder | { skipped: string } {
  let g: OnnxGraph;
  try {
    g = OnnxGraph.fromBytes(bytes);
  } catch (err) {
    return { skipped: `cannot read the graph (${errorMessage(err)})` };
  }
  if (g.inputs.length !== 1 || g.inputs[0].name !== spec.input) {
    return { skipped: `the graph's inputs are ${g.inputs.map((v) => v.name).join(', ') || 'none'}, not ${spec.input} alone` };
  }
  const declared = g.inputs[0].dims;
  if (declared && (declared.length !== spec.dims.length || declared.some((d, i) => typeof d === 'number' && d > 0 && d !== spec.dims[i]))) {
    return { skipped: `${spec.input} is [${declared.join(', ')}], not [${spec.dims.join(', ')}]` };
  }
  const inputs = new Map<string, Sym[]>([[spec.input, spec.dims.map(num)]]);
  g.inputs[0].dims = [...spec.dims];
  const passes: string[] = [];
  const before = g.nodes.length;
  // Constant nodes becoming initializers is no work saved: only computed shapes count.
  const computing = (): number => g.nodes.filter((n) => n.opType !== 'Constant').length;
  const computingBefore = computing();
  constantsToInitializers(g);
  unrollLoops(g, inputs);
  resolveSequences(g, inputs);
  foldShapes(g, inputs, undefined);
  deadCodeElimination(g);
  const folded = computing() < computingBefore;
  if (folded) passes.push(`static shapes: ${before} → ${g.nodes.length} nodes`);
  const chunked = skip.includes('row-chunks') ? 0 : chunkAttentionRows(g, inputs, rowChunks);
  if (chunked > 0) passes.push(`attention in row blocks: ${chunked} score matri${chunked === 1 ? 'x' : 'ces'}`);
  const windows = skip.includes('window-rows') ? 0 : projectWindowRows(g, inputs);
  if (windows > 0) passes.push(`windowed projections without padding rows: ${windows}`);
  const einsums = skip.includes('einsum') ? 0 : einsumAsMatMul(g, inputs);
  if (einsums > 0) passes.push(`Einsum as MatMul: ${einsums}`);
  const biases = skip.includes('matmul-bias') ? 0 : fuseMatMulBias(g, inputs);
  if (biases > 0) passes.push(`MatMul + bias as Gemm: ${biases}`);
  deadCodeElimination(g);
  // Folded shape arithmetic alone saves microseconds per run, less than the probe costs at load.
  if (chunked + windows + einsums + biases === 0) return { skipped: folded ? 'only shape arithmetic to fold' : 'no pass found anything to do' };
  return { model: serialise ? g.toBytes() : new Uint8Array(0), passes };
}
