/**
 * Ultralytics YOLO segmentation label lines: `<class> x1 y1 x2 y2 …` with coordinates divided by the image width and
 * height. One line per mask; a mask of several polygons is joined into one path (join-segments.ts). YOLO segments
 * have no holes, so, as for COCO, the outer rings of the polygons that lie in no hole are written.
 */
import { joinSegments } from './join-segments.js';
import type { MaskPolygons } from './types.js';

/** Decimals of normalised coordinates: 1e-6 of the side, 0.01 px on a 10,000 px image. */
export const YOLO_DECIMALS = 6;

/**
 * The label line of one mask, without a newline, or null when the mask has no polygon. Coordinates are pixel-edge
 * coordinates over the image size, so they lie in [0, 1], written with `decimals` fixed decimals.
 * @throws RangeError for a class that is not a non-negative integer
 */
export function yoloSegmentLine(classId: number, mp: MaskPolygons, decimals: number = YOLO_DECIMALS): string | null {
  if (!Number.isInteger(classId) || classId < 0) throw new RangeError(`YOLO class must be an integer ≥ 0, got ${classId}`);
  const rings = mp.polygons.filter((p) => p.depth === 0).map((p) => p.outer);
  if (rings.length === 0) return null;
  const path = joinSegments(rings);
  const parts: string[] = [String(classId)];
  for (let i = 0; i < path.length; i += 2) {
    parts.push((path[i] / mp.w).toFixed(decimals), (path[i + 1] / mp.h).toFixed(decimals));
  }
  return parts.join(' ');
}
