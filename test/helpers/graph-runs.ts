/**
 * What the graph-optimiser tests share: seeded values for weights and inputs, running a graph (or an optimised
 * decoder's image-side + per-prompt pair) through ONNX Runtime, and the largest difference between two outputs.
 */
import * as ort from 'onnxruntime-node';
import { expect } from 'vitest';
import type { OptimisedDecoder } from '../../src/model/optimise/index.js';

export type Feeds = Record<string, ort.Tensor>;

/** Deterministic values in [-scale, scale) (xorshift32), for weights written with the graph builder. */
export function seededNumbers(n: number, seed: number, scale = 1): number[] {
  let x = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) / 2 ** 31 - 1) * scale;
  });
}

/** {@link seededNumbers} as float32, for input tensors. */
export function seededFloats(n: number, seed: number, scale = 1): Float32Array {
  return Float32Array.from(seededNumbers(n, seed, scale));
}

/** Runs `bytes` on the inputs it declares (taken from `feeds`) and returns the named outputs. */
export async function runGraph(bytes: Uint8Array, feeds: Feeds, outputs: readonly string[]): Promise<Record<string, Float32Array>> {
  const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
  try {
    const own: Feeds = {};
    for (const n of s.inputNames) own[n] = feeds[n];
    const out = await s.run(own, [...outputs]);
    return Object.fromEntries(outputs.map((o) => [o, out[o].data as Float32Array]));
  } finally {
    await s.release();
  }
}

/** Runs an optimised decoder as the caller does: the image-side graph first, its outputs fed to the per-prompt one. */
export async function runOptimised(r: OptimisedDecoder, feeds: Feeds, outputs: readonly string[]): Promise<Record<string, Float32Array>> {
  let all: Feeds = { ...feeds };
  if (r.prefix) {
    const s = await ort.InferenceSession.create(r.prefix, { intraOpNumThreads: 1 });
    try {
      const own: Feeds = {};
      for (const n of s.inputNames) own[n] = feeds[n];
      all = { ...all, ...((await s.run(own)) as Feeds) };
    } finally {
      await s.release();
    }
  }
  return runGraph(r.main, all, outputs);
}

/** Largest |a[i] − b[i]|; the lengths must match. */
export function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
