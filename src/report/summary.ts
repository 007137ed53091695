/**
 * Image-level numbers of the report's index: mask count, mean predicted IoU, and the fraction of the image that
 * at least one mask covers.
 */
import type { Rle } from '../rle/rle.js';

/** Images up to this many pixels get their coverage from a bitmap of the image; larger ones from merged runs. */
export const COVERAGE_BITMAP_PIXELS = 2 ** 24;

/**
 * Fraction of the h×w pixels set in at least one mask (0 for an empty image or no masks). Up to `bitmapPixels` a
 * byte per pixel is the fastest union; beyond (a tiled run's huge image) the masks' runs are merged instead, so
 * memory grows with the runs, never with the image. Both are exact.
 */
export function coverage(masks: readonly Rle[], h: number, w: number, bitmapPixels = COVERAGE_BITMAP_PIXELS): number {
  const n = h * w;
  if (n === 0 || masks.length === 0) return 0;
  for (const rle of masks) {
    if (rle.h !== h || rle.w !== w) throw new Error(`coverage: mask is ${rle.w}x${rle.h} but the image is ${w}x${h}`);
  }
  return (n <= bitmapPixels ? coveredByBitmap(masks, n) : coveredByRuns(masks)) / n;
}

/** Pixels under some mask, from a column-major union: each set run is one fill, then one pass to count. */
function coveredByBitmap(masks: readonly Rle[], n: number): number {
  const union = new Uint8Array(n);
  for (const rle of masks) {
    let pos = 0;
    for (let i = 0; i < rle.counts.length; i++) {
      const end = pos + rle.counts[i];
      if (i & 1) union.fill(1, pos, end);
      pos = end;
    }
  }
  let covered = 0;
  for (let i = 0; i < n; i++) covered += union[i];
  return covered;
}

/** Pixels under some mask, from every set run as a [start, end) of column-major positions, sorted and merged. */
function coveredByRuns(masks: readonly Rle[]): number {
  let runs = 0;
  for (const rle of masks) runs += rle.counts.length >> 1;
  const starts = new Float64Array(runs);
  const ends = new Float64Array(runs);
  let k = 0;
  for (const rle of masks) {
    let pos = 0;
    for (let i = 0; i < rle.counts.length; i++) {
      const end = pos + rle.counts[i];
      if (i & 1 && end > pos) {
        starts[k] = pos;
        ends[k++] = end;
      }
      pos = end;
    }
  }
  const order = new Uint32Array(k);
  for (let i = 0; i < k; i++) order[i] = i;
  order.sort((a, b) => starts[a] - starts[b]);
  let covered = 0;
  let lo = -1;
  let hi = -1;
  for (let j = 0; j < k; j++) {
    const i = order[j];
    if (starts[i] > hi) {
      covered += hi - lo;
      lo = starts[i];
      hi = ends[i];
    } else if (ends[i] > hi) {
      hi = ends[i];
    }
  }
  return covered + (hi - lo);
}

/** Arithmetic mean, or null for no values. */
export function mean(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}
