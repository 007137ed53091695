/** Which hole, if any, each polygon of a traced mask lies in. */
import { BoxGrid } from './box-grid.js';
import { pointInRing, ringBounds, signedArea } from './ring-geometry.js';
import type { Polygon } from './types.js';

/** A hole: polygon index and index in its `holes`. */
export interface HoleRef {
  polygon: number;
  hole: number;
}

/**
 * For every polygon, the smallest hole (of any polygon) that contains it, or null. Needs traced rings: a traced
 * ring starts at its top-left vertex, so the pixel below-right of that vertex is inside it, and its centre never
 * lies on a ring.
 */
export function enclosingHoles(polygons: Polygon[]): (HoleRef | null)[] {
  const holes: { ref: HoleRef; ring: Int32Array; area: number; box: [number, number, number, number] }[] = [];
  polygons.forEach((p, polygon) => {
    p.holes.forEach((ring, hole) => holes.push({ ref: { polygon, hole }, ring, area: -signedArea(ring), box: ringBounds(ring) }));
  });
  if (holes.length === 0) return polygons.map(() => null);
  const bounds: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const h of holes) {
    bounds[0] = Math.min(bounds[0], h.box[0]);
    bounds[1] = Math.min(bounds[1], h.box[1]);
    bounds[2] = Math.max(bounds[2], h.box[2]);
    bounds[3] = Math.max(bounds[3], h.box[3]);
  }
  const grid = new BoxGrid(bounds, holes.length);
  holes.forEach((h, k) => grid.insert(k, ...h.box));
  return polygons.map((p) => {
    const x = p.outer[0] + 0.5;
    const y = p.outer[1] + 0.5;
    let best: (typeof holes)[number] | null = null;
    if (x < bounds[0] || x > bounds[2] || y < bounds[1] || y > bounds[3]) return null;
    grid.query(x, y, x, y, (k) => {
      const h = holes[k];
      if ((best !== null && h.area >= best.area) || x < h.box[0] || x > h.box[2] || y < h.box[1] || y > h.box[3]) return;
      if (pointInRing(h.ring, x, y)) best = h;
    });
    return best === null ? null : (best as (typeof holes)[number]).ref;
  });
}

/** Nesting depth of each polygon from its enclosing hole (see Polygon.depth). */
export function nestingDepths(polygons: Polygon[], enclosing: (HoleRef | null)[]): number[] {
  const depth = new Array<number>(polygons.length).fill(-1);
  const resolve = (k: number): number => {
    if (depth[k] >= 0) return depth[k];
    const e = enclosing[k];
    depth[k] = e === null ? 0 : resolve(e.polygon) + 1;
    return depth[k];
  };
  polygons.forEach((_, k) => resolve(k));
  return depth;
}
