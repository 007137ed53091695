/** Bytes from xorshift32 (x ^= x << 13; x ^= x >>> 17; x ^= x << 5; byte = x & 255), as the shared test vectors use. */
export function xorshiftBytes(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 255;
  }
  return out;
}

/** Deterministic floats in [0, 1) from the same generator, for tests that need seeded random images. */
export function xorshiftFloats(seed: number, length: number): Float32Array {
  const out = new Float32Array(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x / 4294967296;
  }
  return out;
}

/**
 * A seeded stream of floats in [0, 1) (xorshift32, starting from 1 when the seed is 0), for tests and benchmarks
 * that draw one value at a time: the post-processing oracle tests and bench/postprocess.ts share it, so the bench
 * measures the logits the tests check.
 */
export function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}
