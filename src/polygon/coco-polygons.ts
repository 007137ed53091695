/**
 * COCO `segmentation` polygon lists. COCO polygons have no holes (the COCO API unions the lists of an annotation),
 * so this writes the outer ring of every polygon that lies in no hole: the result rasterises to the mask with its
 * holes filled. Writers that must keep holes exactly check `hasHoles` and write RLE for those masks instead.
 */
import type { MaskPolygons } from './types.js';

/**
 * One flat [x1, y1, x2, y2, …] list per depth-0 polygon, in pixel-edge coordinates (pixel (x, y) covers
 * [x, x+1] × [y, y+1], as the COCO API reads them). Every list has at least 3 points, so never the 4 numbers that
 * pycocotools' `frPyObjects` would take for a box. Empty for a mask without polygons.
 */
export function cocoPolygonLists(mp: MaskPolygons): number[][] {
  const lists: number[][] = [];
  for (const p of mp.polygons) if (p.depth === 0) lists.push(Array.from(p.outer));
  return lists;
}

/** Whether any polygon has a hole, i.e. whether COCO polygon lists would fill something. */
export function hasHoles(mp: MaskPolygons): boolean {
  return mp.polygons.some((p) => p.holes.length > 0);
}
