/**
 * Topology-preserving Douglas–Peucker simplification of a mask's polygons.
 *
 * Each ring is simplified with Douglas–Peucker (douglas-peucker.ts), anchored at its first (top-left) vertex and at
 * every pinch vertex it shares with another ring, so rings that touch keep touching at exactly that point; then the
 * result is repaired until valid (topology-repair.ts). Vertices are a subset of the traced ones, so coordinates stay
 * integers, and every traced vertex stays within `tolerance` of its simplified ring.
 *
 * A ring that simplifies to fewer than 3 vertices collapses: a collapsed hole is filled, a collapsed outer ring
 * drops its polygon, and everything inside a dropped ring goes with it. All of it is reported. If every polygon of
 * the mask collapses, the largest (by pixels) is kept unsimplified, so a non-empty mask always keeps a polygon.
 */
import { douglasPeucker } from './douglas-peucker.js';
import { enclosingHoles } from './nesting.js';
import { ringBounds, signedArea } from './ring-geometry.js';
import { keptCount, keptRing, vertexKey, type RingState } from './ring-state.js';
import { chooseWitnesses, repairTopology } from './topology-repair.js';
import type { MaskPolygons, Polygon } from './types.js';

/** A polygon removed by simplification. */
export interface DroppedPolygon {
  part: number;
  /** Mask pixels of the polygon (outer ring area minus its holes). */
  pixels: number;
  /**
   * collapsed: its outer ring fell below 3 vertices, its pixels are lost; inside-collapsed: it lay in a hole of a
   * collapsed polygon, its pixels are lost too; inside-filled-hole: it lay in a hole that collapsed and is now
   * filled, so its pixels stay covered.
   */
  reason: 'collapsed' | 'inside-collapsed' | 'inside-filled-hole';
}

/** A hole removed (filled) by simplification. */
export interface DroppedHole {
  part: number;
  /** Area inside the hole ring, in pixels (background plus anything lying inside the hole). */
  pixels: number;
}

/** What simplification changed beyond moving boundaries: enough for a writer to say what it wrote. */
export interface SimplifyReport {
  tolerance: number;
  droppedPolygons: DroppedPolygon[];
  droppedHoles: DroppedHole[];
  /** Parts (8-connected components) that have no polygon left. */
  vanishedParts: number[];
  /** Mask pixels no longer covered by any polygon (from dropped polygons). */
  lostPixels: number;
  /** Background pixels now covered (from filled holes). */
  addedPixels: number;
  /** Every polygon collapsed, so the largest one was kept exactly as traced. */
  keptExact: boolean;
}

/** Simplified polygons plus the report. */
export interface SimplifiedPolygons extends MaskPolygons {
  report: SimplifyReport;
}

/**
 * Simplifies every ring of `mp` with `tolerance` pixels (finite, ≥ 0). Tolerance 0 returns the traced rings
 * (which have no collinear vertices) with an empty report.
 * @throws RangeError for a negative or non-finite tolerance
 */
export function simplifyPolygons(mp: MaskPolygons, tolerance: number): SimplifiedPolygons {
  if (!Number.isFinite(tolerance) || tolerance < 0) {
    throw new RangeError(`polygon tolerance must be a finite number of pixels ≥ 0, got ${tolerance}`);
  }
  const report: SimplifyReport = {
    tolerance,
    droppedPolygons: [],
    droppedHoles: [],
    vanishedParts: [],
    lostPixels: 0,
    addedPixels: 0,
    keptExact: false,
  };
  if (tolerance === 0 || mp.polygons.length === 0) return { ...mp, report };

  const rings = collectRings(mp.polygons);
  const fixed = sharedVertices(rings, mp.w);
  const tol2 = tolerance * tolerance;
  for (const r of rings) douglasPeucker(r, fixed, mp.w, tol2);
  linkParents(rings, mp.polygons);
  dropCollapsed(rings);
  if (rings.every((r) => !r.alive)) {
    keepLargestExact(rings, mp.polygons);
    report.keptExact = true;
  } else {
    chooseWitnesses(rings, fixed, mp.w);
    repairTopology(rings, fixed, mp.w);
  }
  describeDrops(rings, mp.polygons, report);
  const polygons = rebuild(rings, mp.polygons);
  const left = new Set(polygons.map((p) => p.part));
  const parts = new Set(mp.polygons.map((p) => p.part));
  report.vanishedParts = [...parts].filter((p) => !left.has(p)).sort((a, b) => a - b);
  return { h: mp.h, w: mp.w, polygons, parts: mp.parts, report };
}

function collectRings(polygons: Polygon[]): RingState[] {
  const rings: RingState[] = [];
  polygons.forEach((p, poly) => {
    for (const [ring, hole] of [[p.outer, false], ...p.holes.map((q) => [q, true] as const)] as const) {
      const n = ring.length >> 1;
      rings.push({
        orig: ring,
        n,
        kept: new Uint8Array(n),
        poly,
        hole,
        area: signedArea(ring),
        box: ringBounds(ring),
        parent: -1,
        alive: true,
        witness: -1,
        dropReason: 'collapsed',
      });
    }
  });
  return rings;
}

/** Keys (y·(w+1) + x) of vertices that lie on more than one ring: the pinch points. */
function sharedVertices(rings: RingState[], w: number): Set<number> {
  const seen = new Set<number>();
  const shared = new Set<number>();
  for (const r of rings) {
    for (let i = 0; i < r.n; i++) {
      const key = vertexKey(r, i, w);
      if (seen.has(key)) shared.add(key);
      else seen.add(key);
    }
  }
  return shared;
}

/** Parent of each ring in the original: a hole's outer ring; for an outer ring, the hole it lies in (if any). */
function linkParents(rings: RingState[], polygons: Polygon[]): void {
  // Ring index of each polygon's outer ring; its holes follow it in order.
  const first: number[] = [];
  rings.forEach((r, k) => {
    if (!r.hole) first[r.poly] = k;
  });
  const enclosing = enclosingHoles(polygons);
  rings.forEach((r) => {
    if (r.hole) {
      r.parent = first[r.poly];
      return;
    }
    const e = enclosing[r.poly];
    r.parent = e === null ? -1 : first[e.polygon] + 1 + e.hole;
  });
}

/** Pixels of the polygon whose outer ring is `rings[k]`. */
function polygonPixels(rings: RingState[], polygons: Polygon[], k: number): number {
  const p = polygons[rings[k].poly];
  let a = rings[k].area;
  for (const hole of p.holes) a += signedArea(hole);
  return a;
}

/** Marks collapsed rings (fewer than 3 vertices) and everything inside them as dropped, outermost first. */
function dropCollapsed(rings: RingState[]): void {
  const children: number[][] = rings.map(() => []);
  rings.forEach((r, k) => {
    if (r.parent >= 0) children[r.parent].push(k);
  });
  const dropSubtree = (k: number, reason: DroppedPolygon['reason']): void => {
    for (const c of children[k]) {
      if (!rings[c].alive) continue;
      rings[c].alive = false;
      rings[c].dropReason = reason;
      dropSubtree(c, reason);
    }
  };
  // A ring's parent always encloses more area, so decreasing |area| visits parents first.
  const order = rings.map((_, k) => k).sort((a, b) => Math.abs(rings[b].area) - Math.abs(rings[a].area) || a - b);
  for (const k of order) {
    const r = rings[k];
    if (!r.alive || keptCount(r) >= 3) continue;
    r.alive = false;
    r.dropReason = 'collapsed';
    dropSubtree(k, r.hole ? 'inside-filled-hole' : 'inside-collapsed');
  }
}

/** Brings back, unsimplified, the polygon with the most pixels (with all its holes). */
function keepLargestExact(rings: RingState[], polygons: Polygon[]): void {
  let best = -1;
  let bestPixels = -1;
  rings.forEach((r, k) => {
    if (r.hole) return;
    const pixels = polygonPixels(rings, polygons, k);
    if (pixels > bestPixels) {
      bestPixels = pixels;
      best = k;
    }
  });
  for (const r of rings) {
    if (r.poly !== rings[best].poly) continue;
    r.alive = true;
    r.kept.fill(1);
  }
}

/** Fills the report from the rings' final state: dropped outer rings are dropped polygons, lone dropped holes filled. */
function describeDrops(rings: RingState[], polygons: Polygon[], report: SimplifyReport): void {
  const outerAlive = new Map<number, boolean>();
  rings.forEach((r) => {
    if (!r.hole) outerAlive.set(r.poly, r.alive);
  });
  rings.forEach((r, k) => {
    if (r.alive) return;
    const part = polygons[r.poly].part;
    if (!r.hole) {
      const pixels = polygonPixels(rings, polygons, k);
      report.droppedPolygons.push({ part, pixels, reason: r.dropReason });
      if (r.dropReason === 'inside-filled-hole') report.addedPixels -= pixels;
      else report.lostPixels += pixels;
    } else if (outerAlive.get(r.poly)) {
      report.droppedHoles.push({ part, pixels: -r.area });
      report.addedPixels += -r.area;
    }
  });
}

/** The surviving polygons, in their original order, with kept vertices only. */
function rebuild(rings: RingState[], polygons: Polygon[]): Polygon[] {
  const out: Polygon[] = [];
  let k = 0;
  for (const p of polygons) {
    const outer = rings[k++];
    const holes: Int32Array[] = [];
    for (let h = 0; h < p.holes.length; h++) {
      const r = rings[k++];
      if (outer.alive && r.alive) holes.push(keptRing(r));
    }
    if (outer.alive) out.push({ outer: keptRing(outer), holes, part: p.part, depth: p.depth });
  }
  return out;
}

