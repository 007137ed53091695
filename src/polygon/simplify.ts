/**
 * Topology-preserving Douglas–Peucker simplification of a mask's polygons.
 *
 * Each ring is simplified with Douglas–Peucker (distance to the chord segment, a vertex is kept when it lies more
 * than `tolerance` pixels away), anchored at its first (top-left) vertex and at every pinch vertex it shares with
 * another ring, so rings that touch keep touching at exactly that point. The result is then checked and repaired
 * until it is valid: wherever two simplified segments cross, touch or overlap (other than at a shared vertex), two
 * rings cross at a pinch vertex, a ring turns over, or a ring ends up on the other side of another ring, the
 * offending shortcuts get back their farthest vertex. Repair only adds original vertices, and the original rings are
 * valid, so it always ends. Vertices are a subset of the traced ones, so coordinates stay integers.
 *
 * A ring that simplifies to fewer than 3 vertices collapses: a collapsed hole is filled, a collapsed outer ring
 * drops its polygon, and everything inside a dropped ring goes with it. All of it is reported. If every polygon of
 * the mask collapses, the largest (by pixels) is kept unsimplified, so a non-empty mask always keeps a polygon.
 */
import { BoxGrid } from './box-grid.js';
import { enclosingHoles } from './nesting.js';
import { pointInRing, ringBounds, signedArea } from './ring-geometry.js';
import { segmentDistance2, segmentsConflict } from './segment-geometry.js';
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

/** Ring under simplification. */
interface RingState {
  orig: Int32Array;
  n: number;
  kept: Uint8Array;
  poly: number;
  hole: boolean;
  area: number;
  box: [number, number, number, number];
  /** Ring index of the smallest ring containing this one (-1: none). */
  parent: number;
  alive: boolean;
  /** Index of a kept vertex shared with no other ring, the ring's witness for side checks (-1: none). */
  witness: number;
  /** Why the ring was dropped (meaningful when not alive). */
  dropReason: DroppedPolygon['reason'];
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
      const key = r.orig[2 * i + 1] * (w + 1) + r.orig[2 * i];
      if (seen.has(key)) shared.add(key);
      else seen.add(key);
    }
  }
  return shared;
}

function vertexKey(r: RingState, i: number, w: number): number {
  return r.orig[2 * i + 1] * (w + 1) + r.orig[2 * i];
}

/** Marks the vertices Douglas–Peucker keeps, anchored at vertex 0, at shared vertices and (if needed) the farthest one. */
function douglasPeucker(r: RingState, fixed: Set<number>, w: number, tol2: number): void {
  const { orig, n, kept } = r;
  kept[0] = 1;
  let anchors = 1;
  for (let i = 1; i < n; i++) {
    if (fixed.has(vertexKey(r, i, w))) {
      kept[i] = 1;
      anchors++;
    }
  }
  if (anchors === 1) {
    // A ring needs two anchors to have chords; the vertex farthest from vertex 0 is the usual choice.
    let far = 1;
    let best = -1;
    for (let i = 1; i < n; i++) {
      const dx = orig[2 * i] - orig[0];
      const dy = orig[2 * i + 1] - orig[1];
      const d = dx * dx + dy * dy;
      if (d > best) {
        best = d;
        far = i;
      }
    }
    kept[far] = 1;
  }
  const stack: number[] = [];
  let prev = 0;
  for (let k = 1; k <= n; k++) {
    if (k < n && !kept[k]) continue;
    stack.push(prev, k);
    prev = k;
  }
  while (stack.length > 0) {
    const b = stack.pop() as number;
    const a = stack.pop() as number;
    const far = farthest(r, a, b);
    if (far !== -1 && far.d2 > tol2) {
      kept[far.i] = 1;
      stack.push(a, far.i, far.i, b);
    }
  }
}

/** The vertex strictly between a and b (b may be n for vertex 0) farthest from chord a–b, or -1 when adjacent. */
function farthest(r: RingState, a: number, b: number): { i: number; d2: number } | -1 {
  if (b - a < 2) return -1;
  const o = r.orig;
  const bi = b % r.n;
  const ax = o[2 * a];
  const ay = o[2 * a + 1];
  const bx = o[2 * bi];
  const by = o[2 * bi + 1];
  let best = -1;
  let bestD = -1;
  for (let i = a + 1; i < b; i++) {
    const v = i % r.n;
    const d = segmentDistance2(o[2 * v], o[2 * v + 1], ax, ay, bx, by);
    if (d > bestD) {
      bestD = d;
      best = i;
    }
  }
  return { i: best, d2: bestD };
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

function keptCount(r: RingState): number {
  let c = 0;
  for (let i = 0; i < r.n; i++) c += r.kept[i];
  return c;
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

/** Each live ring's witness: a kept vertex that no other ring shares (-1 if all its kept vertices are shared). */
function chooseWitnesses(rings: RingState[], fixed: Set<number>, w: number): void {
  for (const r of rings) {
    if (!r.alive) continue;
    r.witness = -1;
    for (let i = 0; i < r.n; i++) {
      if (r.kept[i] && !fixed.has(vertexKey(r, i, w))) {
        r.witness = i;
        break;
      }
    }
  }
}

/** Simplified segments of the live rings, in flat arrays. */
interface Segments {
  count: number;
  ring: Int32Array;
  /** Original vertex indices of the ends; `b` may equal n for the closing segment. */
  a: Int32Array;
  b: Int32Array;
  coords: Float64Array;
}

function buildSegments(rings: RingState[]): Segments {
  let count = 0;
  for (const r of rings) if (r.alive) count += keptCount(r);
  const s: Segments = {
    count,
    ring: new Int32Array(count),
    a: new Int32Array(count),
    b: new Int32Array(count),
    coords: new Float64Array(4 * count),
  };
  let m = 0;
  rings.forEach((r, k) => {
    if (!r.alive) return;
    let first = -1;
    let prev = -1;
    const add = (a: number, b: number): void => {
      const bi = b % r.n;
      s.ring[m] = k;
      s.a[m] = a;
      s.b[m] = b;
      s.coords[4 * m] = r.orig[2 * a];
      s.coords[4 * m + 1] = r.orig[2 * a + 1];
      s.coords[4 * m + 2] = r.orig[2 * bi];
      s.coords[4 * m + 3] = r.orig[2 * bi + 1];
      m++;
    };
    for (let i = 0; i < r.n; i++) {
      if (!r.kept[i]) continue;
      if (first < 0) first = i;
      else add(prev, i);
      prev = i;
    }
    add(prev, first + r.n);
  });
  return s;
}

/** Puts back the farthest vertex of segment m's shortcut; false if it is an original edge. */
function refine(rings: RingState[], s: Segments, m: number): boolean {
  const r = rings[s.ring[m]];
  const f = farthest(r, s.a[m], s.b[m]);
  if (f === -1) return false;
  r.kept[f.i % r.n] = 1;
  return true;
}

function repairTopology(rings: RingState[], fixed: Set<number>, w: number): void {
  for (;;) {
    const s = buildSegments(rings);
    if (repairCrossings(rings, s)) continue;
    if (repairPinches(rings, s, fixed, w)) continue;
    if (repairOrientation(rings, s)) continue;
    if (repairSides(rings, s)) continue;
    return;
  }
}

/** Segments that meet other than at a shared vertex; only segments in a common grid cell are compared. */
function repairCrossings(rings: RingState[], s: Segments): boolean {
  const c = s.coords;
  if (s.count === 0) return false;
  const grid = new BoxGrid(coordBounds(c), s.count);
  // Segment boxes: [minX, minY, maxX, maxY] per segment.
  const box = new Float64Array(4 * s.count);
  for (let m = 0; m < s.count; m++) {
    box[4 * m] = Math.min(c[4 * m], c[4 * m + 2]);
    box[4 * m + 1] = Math.min(c[4 * m + 1], c[4 * m + 3]);
    box[4 * m + 2] = Math.max(c[4 * m], c[4 * m + 2]);
    box[4 * m + 3] = Math.max(c[4 * m + 1], c[4 * m + 3]);
    grid.insert(m, box[4 * m], box[4 * m + 1], box[4 * m + 2], box[4 * m + 3]);
  }
  const bad = new Uint8Array(s.count);
  // stamp[q] === m + 1: pair (m, q) already tested.
  const stamp = new Int32Array(s.count);
  for (let m = 0; m < s.count; m++) {
    const x0 = box[4 * m];
    const y0 = box[4 * m + 1];
    const x1 = box[4 * m + 2];
    const y1 = box[4 * m + 3];
    grid.query(x0, y0, x1, y1, (q) => {
      if (q <= m || stamp[q] === m + 1) return;
      stamp[q] = m + 1;
      if (box[4 * q + 2] < x0 || box[4 * q] > x1 || box[4 * q + 3] < y0 || box[4 * q + 1] > y1) return;
      if (segmentsConflict(c[4 * m], c[4 * m + 1], c[4 * m + 2], c[4 * m + 3], c[4 * q], c[4 * q + 1], c[4 * q + 2], c[4 * q + 3])) {
        bad[m] = 1;
        bad[q] = 1;
      }
    });
  }
  let changed = false;
  for (let m = 0; m < s.count; m++) if (bad[m] && refine(rings, s, m)) changed = true;
  return changed;
}

function coordBounds(c: Float64Array): [number, number, number, number] {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < c.length; i += 2) {
    if (c[i] < minX) minX = c[i];
    if (c[i] > maxX) maxX = c[i];
    if (c[i + 1] < minY) minY = c[i + 1];
    if (c[i + 1] > maxY) maxY = c[i + 1];
  }
  return [minX, minY, maxX, maxY];
}

/**
 * Two rings through one pinch vertex must stay on their own sides of each other there: the two segments of one
 * ring may not straddle the wedge of the other.
 */
function repairPinches(rings: RingState[], s: Segments, fixed: Set<number>, w: number): boolean {
  // For each shared vertex: the segments arriving at it and leaving it, per ring.
  const at = new Map<number, { ring: number; inSeg: number; outSeg: number }[]>();
  for (let m = 0; m < s.count; m++) {
    const r = rings[s.ring[m]];
    for (const end of [0, 1] as const) {
      const i = (end === 0 ? s.a[m] : s.b[m]) % r.n;
      const key = vertexKey(r, i, w);
      if (!fixed.has(key)) continue;
      let list = at.get(key);
      if (list === undefined) at.set(key, (list = []));
      let entry = list.find((e) => e.ring === s.ring[m]);
      if (entry === undefined) list.push((entry = { ring: s.ring[m], inSeg: -1, outSeg: -1 }));
      if (end === 0) entry.outSeg = m;
      else entry.inSeg = m;
    }
  }
  const c = s.coords;
  // Direction angle from the shared vertex along segment m (towards its other end).
  const angle = (m: number, fromStart: boolean): number =>
    fromStart
      ? Math.atan2(c[4 * m + 3] - c[4 * m + 1], c[4 * m + 2] - c[4 * m])
      : Math.atan2(c[4 * m + 1] - c[4 * m + 3], c[4 * m] - c[4 * m + 2]);
  const TAU = 2 * Math.PI;
  const sweep = (from: number, to: number): number => (((to - from) % TAU) + TAU) % TAU;
  let changed = false;
  for (const list of at.values()) {
    if (list.length < 2) continue;
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const p = list[i];
        const q = list[j];
        const a0 = angle(p.outSeg, true);
        const span = sweep(a0, angle(p.inSeg, false));
        const q1 = sweep(a0, angle(q.outSeg, true)) < span;
        const q2 = sweep(a0, angle(q.inSeg, false)) < span;
        if (q1 === q2) continue;
        for (const m of [p.inSeg, p.outSeg, q.inSeg, q.outSeg]) if (refine(rings, s, m)) changed = true;
      }
    }
  }
  return changed;
}

/** A ring whose simplified area changed sign or vanished gets every shortcut refined. */
function repairOrientation(rings: RingState[], s: Segments): boolean {
  let changed = false;
  rings.forEach((r, k) => {
    if (!r.alive) return;
    const pts: number[] = [];
    for (let i = 0; i < r.n; i++) if (r.kept[i]) pts.push(r.orig[2 * i], r.orig[2 * i + 1]);
    const area = signedArea(pts);
    if (area !== 0 && area > 0 === r.area > 0) return;
    for (let m = 0; m < s.count; m++) if (s.ring[m] === k && refine(rings, s, m)) changed = true;
  });
  return changed;
}

/**
 * With no crossings left, a ring lies wholly inside or outside each other ring, which its witness vertex tells.
 * Where that differs from the original, the other ring's shortcuts around the witness are refined.
 */
function repairSides(rings: RingState[], s: Segments): boolean {
  const live = rings.map((r, k) => k).filter((k) => rings[k].alive);
  const bounds: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const k of live) {
    const b = rings[k].box;
    bounds[0] = Math.min(bounds[0], b[0]);
    bounds[1] = Math.min(bounds[1], b[1]);
    bounds[2] = Math.max(bounds[2], b[2]);
    bounds[3] = Math.max(bounds[3], b[3]);
  }
  const grid = new BoxGrid(bounds, live.length);
  for (const k of live) grid.insert(k, ...rings[k].box);
  const simplified = new Map<number, Float64Array>();
  const simplifiedRing = (j: number): Float64Array => {
    let pts = simplified.get(j);
    if (pts === undefined) {
      const r = rings[j];
      const out: number[] = [];
      for (let i = 0; i < r.n; i++) if (r.kept[i]) out.push(r.orig[2 * i], r.orig[2 * i + 1]);
      simplified.set(j, (pts = Float64Array.from(out)));
    }
    return pts;
  };
  const segmentsOf = new Map<number, number[]>();
  for (let m = 0; m < s.count; m++) {
    const list = segmentsOf.get(s.ring[m]);
    if (list === undefined) segmentsOf.set(s.ring[m], [m]);
    else list.push(m);
  }
  let changed = false;
  for (const k of live) {
    const r = rings[k];
    if (r.witness < 0) continue;
    const x = r.orig[2 * r.witness];
    const y = r.orig[2 * r.witness + 1];
    const tested = new Set<number>();
    grid.query(x, y, x, y, (j) => {
      if (j === k || tested.has(j)) return;
      tested.add(j);
      const q = rings[j];
      if (x < q.box[0] || x > q.box[2] || y < q.box[1] || y > q.box[3]) return;
      if (pointInRing(q.orig, x, y) === pointInRing(simplifiedRing(j), x, y)) return;
      for (const m of segmentsOf.get(j) ?? []) {
        if (s.b[m] - s.a[m] < 2) continue;
        const [bx0, by0, bx1, by1] = chainBounds(q, s.a[m], s.b[m]);
        if (x >= bx0 && x <= bx1 && y >= by0 && y <= by1 && refine(rings, s, m)) changed = true;
      }
    });
  }
  return changed;
}

function chainBounds(r: RingState, a: number, b: number): [number, number, number, number] {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (let i = a; i <= b; i++) {
    const v = i % r.n;
    const x = r.orig[2 * v];
    const y = r.orig[2 * v + 1];
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  return [minX, minY, maxX, maxY];
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

function keptRing(r: RingState): Int32Array {
  const out = new Int32Array(2 * keptCount(r));
  let m = 0;
  for (let i = 0; i < r.n; i++) {
    if (!r.kept[i]) continue;
    out[m++] = r.orig[2 * i];
    out[m++] = r.orig[2 * i + 1];
  }
  return out;
}
