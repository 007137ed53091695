/** Mask (COCO RLE) → exact polygons along the pixel boundary. */
import type { Rle } from '../rle/rle.js';
import { assemblePolygons } from './assemble.js';
import { traceRings } from './trace.js';
import type { MaskPolygons } from './types.js';
import { maskWindow } from './window.js';

/**
 * Every 8-connected part of the mask as outer ring(s) plus holes (4-connected background components that do not
 * reach the outside), traced exactly along pixel edges; collinear vertices never appear. Works on the mask's
 * bounding box, never on the full frame. An empty mask gives no polygons.
 */
export function maskToPolygons(rle: Rle): MaskPolygons {
  const win = maskWindow(rle);
  if (win === null) return { h: rle.h, w: rle.w, polygons: [], parts: 0 };
  return assemblePolygons(win, traceRings(win), rle.h, rle.w);
}
