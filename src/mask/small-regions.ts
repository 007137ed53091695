/**
 * Removal of small holes and islands (amg-reference.md, "Small-region clean-up" and "SAM 2 specifics").
 */
import { labelComponents } from './components.js';

/**
 * SAM 1 full-resolution clean-up of one binary mask (row-major 0/1, changed in place), as the reference's
 * remove_small_regions: components strictly smaller than `minArea` are small.
 * - holes: small background components become mask;
 * - islands: small mask components are removed, but if every component is small the largest is kept.
 * @returns whether the mask changed (the reference reports a change whenever a small region exists)
 */
export function removeSmallRegions(
  mask: Uint8Array,
  w: number,
  h: number,
  minArea: number,
  mode: 'holes' | 'islands',
  scratch?: Int32Array,
  openSides?: OpenSides,
): boolean {
  const target = mode === 'holes' ? 0 : 1;
  const { count, sizes, labels } = labelComponents(mask, w, h, target, scratch);
  if (openSides) markOpenSides(labels, w, h, sizes, openSides, minArea);
  const small = new Uint8Array(count + 1);
  let anySmall = false;
  for (let k = 0; k < count; k++) {
    if (sizes[k] < minArea) {
      small[k + 1] = 1;
      anySmall = true;
    }
  }
  if (!anySmall) return false;
  const n = w * h;
  if (mode === 'holes') {
    for (let i = 0; i < n; i++) if (small[labels[i]]) mask[i] = 1;
    return true;
  }
  let keepLargest = 0;
  if (small.indexOf(0, 1) < 0) {
    // Every island is small: keep the largest (first in label order on ties, like numpy's argmax).
    let best = -1;
    for (let k = 0; k < count; k++) {
      if (sizes[k] > best) {
        best = sizes[k];
        keepLargest = k + 1;
      }
    }
    small[keepLargest] = 0;
  }
  for (let i = 0; i < n; i++) {
    const l = labels[i];
    if (l !== 0 && small[l]) mask[i] = 0;
  }
  return true;
}

/**
 * Sides of a window cut out of a bigger image whose outside continues with at least `minArea` background pixels:
 * a component touching such a side is part of a big region, whatever its size inside the window.
 */
export interface OpenSides {
  top: boolean;
  bottom: boolean;
  left: boolean;
  right: boolean;
}

function markOpenSides(labels: Int32Array, w: number, h: number, sizes: Int32Array, open: OpenSides, minArea: number): void {
  const big = (l: number): void => {
    if (l !== 0) sizes[l - 1] = Math.max(sizes[l - 1], minArea);
  };
  if (open.top) for (let x = 0; x < w; x++) big(labels[x]);
  if (open.bottom) for (let x = 0; x < w; x++) big(labels[(h - 1) * w + x]);
  if (open.left) for (let y = 0; y < h; y++) big(labels[y * w]);
  if (open.right) for (let y = 0; y < h; y++) big(labels[y * w + w - 1]);
}

/**
 * SAM 2 low-resolution clean-up of one candidate's logits (n×n, written to `out`): background components
 * (v ≤ threshold) with area ≤ maxArea are set to threshold + 10, then foreground components found on the original
 * logits (v > threshold) with area ≤ maxArea are set to threshold − 10. Border components count like any other.
 * `threshold` is the image predictor's mask threshold, which in the SAM 2 generator is always 0 (not its own).
 */
export function cleanLowResLogits(
  logits: Float32Array,
  offset: number,
  n: number,
  threshold: number,
  maxArea: number,
  out: Float32Array,
  bits: Uint8Array,
  scratch: Int32Array,
): void {
  const size = n * n;
  const t = Math.fround(threshold);
  for (let i = 0; i < size; i++) {
    const v = logits[offset + i];
    out[i] = v;
    bits[i] = v > t ? 1 : 0;
  }
  const fill = Math.fround(threshold + 10);
  const clear = Math.fround(threshold - 10);
  for (const [value, replacement] of [
    [0, fill],
    [1, clear],
  ] as const) {
    const { count, sizes, labels } = labelComponents(bits, n, n, value, scratch);
    if (count === 0) continue;
    const hit = new Uint8Array(count + 1);
    let any = false;
    for (let k = 0; k < count; k++) {
      if (sizes[k] <= maxArea) {
        hit[k + 1] = 1;
        any = true;
      }
    }
    if (!any) continue;
    for (let i = 0; i < size; i++) if (hit[labels[i]]) out[i] = replacement;
  }
}
