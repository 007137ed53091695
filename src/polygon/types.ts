/**
 * Shared shapes of the polygon module. Coordinates are pixel-edge coordinates in the mask's frame: pixel (x, y)
 * covers [x, x+1] × [y, y+1], x to the right, y down — the frame COCO polygons use (see coco-raster.ts).
 */

/**
 * A closed ring: interleaved x, y vertex coordinates, the first vertex not repeated at the end. Traced rings have
 * integer coordinates and at least 4 vertices; simplified ones at least 3. Every ring is simple (no vertex twice,
 * no crossing); two rings of one mask may share single vertices (pinch points, docs/polygons.md).
 */
export type Ring = Int32Array;

/**
 * One simple polygon: an outer ring and the holes inside it. Orientation in the pixel frame (y down): the outer
 * ring has a positive shoelace area, holes a negative one — the mask is always on the right-hand side of travel
 * as seen on screen.
 */
export interface Polygon {
  outer: Ring;
  holes: Ring[];
  /** The 8-connected part of the mask this polygon belongs to: 0, 1, … in raster order of each part's first pixel. */
  part: number;
  /**
   * Nesting: 0 for a polygon in no hole, 1 for one inside a hole of a depth-0 polygon, and so on. With holes
   * filled, only depth-0 outer rings matter: everything deeper lies inside them.
   */
  depth: number;
}

/** A mask as polygons, with the counts a writer needs to say what it wrote. */
export interface MaskPolygons {
  /** Mask height and width in pixels (the frame of the coordinates). */
  h: number;
  w: number;
  /**
   * Polygons ordered by their first (top-most, then left-most) boundary edge. An 8-connected part is one polygon
   * unless its boundary touches itself at a pinch point, where it is cut into polygons that touch at that vertex.
   */
  polygons: Polygon[];
  /** Number of 8-connected parts of the mask (distinct `part` values). */
  parts: number;
}
