/**
 * The image encoder session as the adapters run it. By default the graph goes through the load-time encoder
 * optimiser (./optimise/encoder.ts) for the one input size the pre-processing produces, and the optimised graph is
 * checked against the original on a probe image before it is used: every output must agree within
 * {@link EMBEDDING_TOLERANCE}, else a warning and the original graph. Both sessions keep ONNX Runtime's memory arena
 * (its default): the optimised graph's largest tensors are small, and an arena of the original's size is what
 * ONNX Runtime alone runs with.
 */
import { errorMessage } from '../base/errors.js';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import type { DecoderOptions } from './decoder.js';
import { optimiseEncoder, type EncoderSpec, type OptimisedEncoder } from './optimise/encoder.js';
import type { Feeds, OrtRuntime } from './runtime.js';

/** Largest |Δ| on any encoder output between the original and the optimised encoder. */
export const EMBEDDING_TOLERANCE = 1e-4;

/** The encoder graph to optimise: its name in messages, its bytes, what the runtime loads, the exported session. */
export interface EncoderSource {
  file: string;
  bytes: () => Promise<Uint8Array>;
  /** What the original session was made from, to make it again after a failed check. */
  model: () => Promise<Uint8Array | string>;
  original: InferenceSession;
}

/** The session to run and what the optimiser did. */
export interface PreparedEncoder {
  session: InferenceSession;
  /** One line per pass (empty when the original graph runs). */
  passes: readonly string[];
  /** Why the original graph runs. */
  notOptimised?: string;
}

/**
 * The encoder of `source`: the optimised session when the optimiser finds work and the probe check passes, else
 * the original session (made again when the check needed it released). `spec` is the input the adapter feeds, or
 * why the graph cannot be specialised. `optimise` is a parameter so that tests can hand in a broken optimiser.
 */
export async function createEncoder(
  source: EncoderSource,
  spec: EncoderSpec | string,
  runtime: OrtRuntime,
  opts: DecoderOptions,
  optimise: (bytes: Uint8Array, spec: EncoderSpec, serialise: boolean) => OptimisedEncoder | { skipped: string } = (b, s, w) =>
    optimiseEncoder(b, s, [], undefined, w),
): Promise<PreparedEncoder> {
  const { file, original } = source;
  if (opts.optimise === false) return { session: original, passes: [], notOptimised: 'turned off (--no-optimise)' };
  if (typeof spec === 'string') return { session: original, passes: [], notOptimised: spec };
  const warn = opts.onWarning ?? ((m: string) => console.warn(`sam-amg: warning: ${m}`));
  const attempt = async (serialise: boolean): Promise<OptimisedEncoder | { skipped: string } | { failed: string }> => {
    try {
      return optimise(await source.bytes(), spec, serialise);
    } catch (err) {
      return { failed: errorMessage(err) };
    }
  };
  const failed = (why: string): string => {
    warn(`${file}: the encoder graph optimiser failed (${why}); using the original graph`);
    return 'optimiser failed';
  };
  // First only to learn whether the optimiser finds work (without writing the bytes, as large as the model); they
  // are written once the original has run on the probe and its session and arena are released, so that the two
  // graphs' memory never adds up.
  const first = await attempt(false);
  if ('failed' in first) return { session: original, passes: [], notOptimised: failed(first.failed) };
  if ('skipped' in first) return { session: original, passes: [], notOptimised: first.skipped };
  const probe = { [spec.input]: probeImage(runtime, spec.dims) };
  const outputs = [...original.outputNames];
  let expected: Feeds;
  try {
    expected = (await original.run(probe, outputs)) as Feeds;
  } finally {
    await original.release();
  }
  const again = async (notOptimised: string): Promise<PreparedEncoder> => ({
    session: await runtime.createSession(await source.model(), file),
    passes: [],
    notOptimised,
  });
  const result = await attempt(true);
  if ('failed' in result) return again(failed(result.failed));
  if ('skipped' in result) return again(result.skipped);
  let optimised: InferenceSession | undefined;
  let why: string;
  try {
    optimised = await runtime.createSession(result.model, `${file} (optimised)`);
    const got = (await optimised.run(probe, outputs)) as Feeds;
    const diff = worstDifference(expected, got, outputs);
    if (!diff) return { session: optimised, passes: result.passes };
    warn(
      `${file}: the optimised encoder graph differs from the original (max |Δ| ${diff.delta.toExponential(2)} on ${diff.output}, ` +
        `more than ${EMBEDDING_TOLERANCE}); using the original graph`,
    );
    why = `probe check failed on ${diff.output}`;
  } catch (err) {
    warn(`${file}: the optimised encoder graph cannot be used (${errorMessage(err).split('\n')[0]}); using the original graph`);
    why = 'optimised graph failed to load or run';
  }
  await optimised?.release();
  return again(why);
}

/** The output whose largest |Δ| exceeds the tolerance the most, or undefined when every output agrees. */
export function worstDifference(a: Feeds, b: Feeds, outputs: readonly string[]): { output: string; delta: number } | undefined {
  let worst: { output: string; delta: number } | undefined;
  for (const name of outputs) {
    const x = a[name]?.data as Float32Array | undefined;
    const y = b[name]?.data as Float32Array | undefined;
    let delta = x && y && x.length === y.length && String(a[name].dims) === String(b[name].dims) ? 0 : Infinity;
    for (let i = 0; x && y && i < x.length && delta !== Infinity; i++) {
      const d = Math.abs(x[i] - y[i]);
      if (d > delta) delta = d;
      else if (Number.isNaN(d) && !(Number.isNaN(x[i]) && Number.isNaN(y[i]))) delta = Infinity;
    }
    if (delta > EMBEDDING_TOLERANCE && (!worst || delta > worst.delta)) worst = { output: name, delta };
  }
  return worst;
}

/** A seeded image-like input: values in [-2, 2], as normalised pixels are, the same at every load. */
function probeImage(runtime: OrtRuntime, dims: readonly number[]): Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let x = 0x5eed1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    data[i] = ((x >>> 0) / 2 ** 32) * 4 - 2;
  }
  return runtime.float32(data, dims);
}
