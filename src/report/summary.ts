/**
 * Image-level numbers of the report's index: mask count, mean predicted IoU, and the fraction of the image that
 * at least one mask covers.
 */
import type { Rle } from '../rle/rle.js';

/** Fraction of the h×w pixels set in at least one mask (0 for an empty image or no masks). */
export function coverage(masks: readonly Rle[], h: number, w: number): number {
  const n = h * w;
  if (n === 0 || masks.length === 0) return 0;
  // Column-major union: each set run is one fill, so the cost is the runs plus one pass to count.
  const union = new Uint8Array(n);
  for (const rle of masks) {
    if (rle.h !== h || rle.w !== w) throw new Error(`coverage: mask is ${rle.w}x${rle.h} but the image is ${w}x${h}`);
    let pos = 0;
    for (let i = 0; i < rle.counts.length; i++) {
      const end = pos + rle.counts[i];
      if (i & 1) union.fill(1, pos, end);
      pos = end;
    }
  }
  let covered = 0;
  for (let i = 0; i < n; i++) covered += union[i];
  return covered / n;
}

/** Arithmetic mean, or null for no values. */
export function mean(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}
