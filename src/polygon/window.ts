/**
 * The mask's bounding box as a small bitmap with a one-pixel empty border, decoded straight from the RLE's column
 * runs: the tracer never needs the full frame, and the border means it never tests for the window's edge.
 */
import { forEachColumnSegment, rleBoxXYXY, type Rle } from '../rle/rle.js';

/** A row-major 0/1 bitmap of `w` × `h` whose pixel (i, j) is mask pixel (x0 + i, y0 + j); its border is empty. */
export interface MaskWindow {
  /** Mask coordinates of the window's pixel (0, 0) (one left of and above the mask's bounding box). */
  x0: number;
  y0: number;
  w: number;
  h: number;
  bits: Uint8Array;
}

/** Decodes the bounding box of `rle` plus a one-pixel border; null for an empty mask. */
export function maskWindow(rle: Rle): MaskWindow | null {
  let any = false;
  for (let i = 1; i < rle.counts.length; i += 2) {
    if (rle.counts[i] > 0) {
      any = true;
      break;
    }
  }
  if (!any) return null;
  const [minX, minY, maxX, maxY] = rleBoxXYXY(rle);
  const x0 = minX - 1;
  const y0 = minY - 1;
  const w = maxX - minX + 3;
  const h = maxY - minY + 3;
  const bits = new Uint8Array(w * h);
  forEachColumnSegment(rle, (x, ya, yb) => {
    const col = x - x0;
    for (let y = ya; y < yb; y++) bits[(y - y0) * w + col] = 1;
  });
  return { x0, y0, w, h, bits };
}
