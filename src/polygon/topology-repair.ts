/**
 * Repairs a simplification until it is valid: segments that cross, touch or overlap (other than at a shared vertex),
 * rings crossing at a pinch vertex, rings turned over, and rings that ended up on the other side of another ring all
 * get the farthest traced vertex of their shortcuts back. Repair only adds traced vertices, and the traced rings are
 * valid, so it always ends.
 */
import { BoxGrid } from './box-grid.js';
import { pointInRing, signedArea } from './ring-geometry.js';
import { farthest, keptCount, vertexKey, type RingState } from './ring-state.js';
import { segmentsConflict } from './segment-geometry.js';

/** Each live ring's witness: a kept vertex that no other ring shares (-1 if all its kept vertices are shared). */
export function chooseWitnesses(rings: RingState[], fixed: Set<number>, w: number): void {
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

export function repairTopology(rings: RingState[], fixed: Set<number>, w: number): void {
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
