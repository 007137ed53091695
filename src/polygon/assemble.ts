/**
 * Groups traced rings into polygons: positive rings are outer boundaries, negative ones holes, and each hole goes
 * to the smallest outer ring of its own part that contains it.
 */
import { labelComponents } from '../mask/components.js';
import { enclosingHoles, nestingDepths } from './nesting.js';
import { pointInRing, signedArea } from './ring-geometry.js';
import type { TracedRing } from './trace.js';
import type { MaskPolygons, Polygon } from './types.js';
import type { MaskWindow } from './window.js';

/** Builds the polygons of one mask from its window and the rings traced in it. */
export function assemblePolygons(win: MaskWindow, traced: TracedRing[], h: number, w: number): MaskPolygons {
  // Parts are the 8-connected components, labelled as the small-region clean-up labels them (src/mask/components).
  const { count, labels } = labelComponents(win.bits, win.w, win.h, 1);
  const outers: { ring: Int32Array; part: number; area: number; holes: Int32Array[] }[] = [];
  const holes: TracedRing[] = [];
  for (const t of traced) {
    const area = signedArea(t.ring);
    if (area > 0) outers.push({ ring: canonical(t.ring), part: labels[t.maskPixel] - 1, area, holes: [] });
    else holes.push(t);
  }
  for (const hole of holes) {
    const part = labels[hole.maskPixel] - 1;
    let best = -1;
    for (let k = 0; k < outers.length; k++) {
      const o = outers[k];
      if (o.part !== part || (best >= 0 && o.area >= outers[best].area)) continue;
      if (pointInRing(o.ring, hole.bgX, hole.bgY)) best = k;
    }
    // Every hole borders its part from inside, so some outer ring of that part encloses it.
    if (best < 0) throw new Error('polygon assembly: a hole lies in no outer ring of its part');
    outers[best].holes.push(canonical(hole.ring));
  }
  outers.sort((a, b) => a.ring[1] - b.ring[1] || a.ring[0] - b.ring[0]);
  const polygons: Polygon[] = outers.map((o) => ({
    outer: o.ring,
    holes: o.holes.sort((a, b) => a[1] - b[1] || a[0] - b[0]),
    part: o.part,
    depth: 0,
  }));
  const depths = nestingDepths(polygons, enclosingHoles(polygons));
  polygons.forEach((p, k) => (p.depth = depths[k]));
  return { h, w, polygons, parts: count };
}

/** Rotates a ring to start at its top-most, then left-most vertex, so equal shapes give equal output. */
export function canonical(ring: Int32Array): Int32Array {
  let best = 0;
  for (let i = 2; i < ring.length; i += 2) {
    if (ring[i + 1] < ring[best + 1] || (ring[i + 1] === ring[best + 1] && ring[i] < ring[best])) best = i;
  }
  if (best === 0) return ring;
  const out = new Int32Array(ring.length);
  out.set(ring.subarray(best));
  out.set(ring.subarray(0, best), ring.length - best);
  return out;
}
