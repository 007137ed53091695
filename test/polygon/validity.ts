/**
 * Independent validity check of a mask's polygons, brute force: rings simple with ≥ 3 vertices, no two segments
 * meeting except at a common vertex, rings that share a vertex not crossing there, and a winding-number field that
 * is 0 or 1 everywhere (so polygons do not overlap and holes lie inside their own outer ring) and 1 exactly inside
 * the polygons. Returns the problems found (empty when valid).
 */
import type { MaskPolygons } from '../../src/polygon/types.js';

type Pt = [number, number];

function cross(ax: number, ay: number, bx: number, by: number): number {
  return ax * by - ay * bx;
}

/** Where two segments meet: 'none', 'endpoint' (only one point, an endpoint of both) or 'bad'. */
function meet(p: Pt, p2: Pt, q: Pt, q2: Pt): 'none' | 'endpoint' | 'bad' {
  const r: Pt = [p2[0] - p[0], p2[1] - p[1]];
  const u: Pt = [q2[0] - q[0], q2[1] - q[1]];
  const rxu = cross(r[0], r[1], u[0], u[1]);
  const qp: Pt = [q[0] - p[0], q[1] - p[1]];
  if (rxu !== 0) {
    // Parameters as exact fractions sN/rxu, tN/rxu.
    const sN = cross(qp[0], qp[1], u[0], u[1]);
    const tN = cross(qp[0], qp[1], r[0], r[1]);
    const inRange = (n: number): boolean => (rxu > 0 ? n >= 0 && n <= rxu : n <= 0 && n >= rxu);
    if (!inRange(sN) || !inRange(tN)) return 'none';
    const sEnd = sN === 0 || sN === rxu;
    const tEnd = tN === 0 || tN === rxu;
    return sEnd && tEnd ? 'endpoint' : 'bad';
  }
  if (cross(qp[0], qp[1], r[0], r[1]) !== 0) return 'none';
  // Collinear: overlap of the projections on r (or u if r is a point).
  const d = r[0] !== 0 || r[1] !== 0 ? r : u;
  const proj = (a: Pt): number => a[0] * d[0] + a[1] * d[1];
  const [a0, a1] = [proj(p), proj(p2)].sort((x, y) => x - y);
  const [b0, b1] = [proj(q), proj(q2)].sort((x, y) => x - y);
  const lo = Math.max(a0, b0);
  const hi = Math.min(a1, b1);
  if (lo > hi) return 'none';
  if (lo < hi) return 'bad';
  return 'endpoint';
}

function ringPoints(ring: ArrayLike<number>): Pt[] {
  const pts: Pt[] = [];
  for (let i = 0; i < ring.length; i += 2) pts.push([ring[i], ring[i + 1]]);
  return pts;
}

/** Winding number of a closed ring around (x, y) (y-up sense of the shoelace sign). */
function winding(pts: Pt[], x: number, y: number): number {
  let wn = 0;
  for (let i = 0; i < pts.length; i++) {
    const [ax, ay] = pts[i];
    const [bx, by] = pts[(i + 1) % pts.length];
    const side = cross(bx - ax, by - ay, x - ax, y - ay);
    if (ay <= y) {
      if (by > y && side > 0) wn++;
    } else if (by <= y && side < 0) wn--;
  }
  return wn;
}

export function polygonProblems(mp: MaskPolygons, samplesPerSide = 2): string[] {
  const problems: string[] = [];
  const rings: { pts: Pt[]; name: string; hole: boolean }[] = [];
  mp.polygons.forEach((p, k) => {
    rings.push({ pts: ringPoints(p.outer), name: `polygon ${k} outer`, hole: false });
    p.holes.forEach((h, j) => rings.push({ pts: ringPoints(h), name: `polygon ${k} hole ${j}`, hole: true }));
  });
  for (const r of rings) {
    const keys = new Set(r.pts.map(([x, y]) => `${x},${y}`));
    if (r.pts.length < 3) problems.push(`${r.name}: ${r.pts.length} vertices`);
    if (keys.size !== r.pts.length) problems.push(`${r.name}: repeated vertex`);
  }
  // Segment pairs, swept in x so only pairs with overlapping x ranges are compared.
  const segs: { a: Pt; b: Pt; ring: number; idx: number; x0: number; x1: number; y0: number; y1: number }[] = [];
  rings.forEach((r, k) =>
    r.pts.forEach((a, i) => {
      const b = r.pts[(i + 1) % r.pts.length];
      segs.push({ a, b, ring: k, idx: i, x0: Math.min(a[0], b[0]), x1: Math.max(a[0], b[0]), y0: Math.min(a[1], b[1]), y1: Math.max(a[1], b[1]) });
    }),
  );
  segs.sort((s, t) => s.x0 - t.x0);
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i];
    for (let j = i + 1; j < segs.length && segs[j].x0 <= s.x1; j++) {
      const t = segs[j];
      if (t.y0 > s.y1 || t.y1 < s.y0) continue;
      const m = meet(s.a, s.b, t.a, t.b);
      if (m === 'bad') problems.push(`${rings[s.ring].name} segment ${s.idx} meets ${rings[t.ring].name} segment ${t.idx}`);
    }
  }
  // Shared vertices: the other ring's two neighbours must lie on one side of this ring there.
  const at = new Map<string, { ring: number; prev: Pt; next: Pt; v: Pt }[]>();
  rings.forEach((r, k) =>
    r.pts.forEach((v, i) => {
      const key = `${v[0]},${v[1]}`;
      const list = at.get(key) ?? [];
      list.push({ ring: k, prev: r.pts[(i + r.pts.length - 1) % r.pts.length], next: r.pts[(i + 1) % r.pts.length], v });
      at.set(key, list);
    }),
  );
  for (const list of at.values()) {
    for (let i = 0; i < list.length; i++) {
      for (let j = 0; j < list.length; j++) {
        if (i === j) continue;
        const A = list[i];
        const B = list[j];
        const u: Pt = [A.next[0] - A.v[0], A.next[1] - A.v[1]];
        const v: Pt = [A.prev[0] - A.v[0], A.prev[1] - A.v[1]];
        const inCone = (p: Pt): boolean => {
          const d: Pt = [p[0] - A.v[0], p[1] - A.v[1]];
          if (cross(u[0], u[1], v[0], v[1]) > 0) return cross(u[0], u[1], d[0], d[1]) > 0 && cross(d[0], d[1], v[0], v[1]) > 0;
          return !(cross(v[0], v[1], d[0], d[1]) >= 0 && cross(d[0], d[1], u[0], u[1]) >= 0);
        };
        if (inCone(B.prev) !== inCone(B.next)) problems.push(`${rings[B.ring].name} crosses ${rings[A.ring].name} at ${A.v}`);
      }
    }
  }
  // Winding field on a grid of off-lattice sample points.
  const all = rings.flatMap((r) => r.pts);
  if (all.length > 0) {
    const xs = all.map((p) => p[0]);
    const ys = all.map((p) => p[1]);
    const x0 = Math.min(...xs);
    const x1 = Math.max(...xs);
    const y0 = Math.min(...ys);
    const y1 = Math.max(...ys);
    const step = 1 / samplesPerSide;
    let bad = 0;
    for (let y = y0 + 0.2718281828 * step; y < y1; y += step) {
      for (let x = x0 + 0.3183098861 * step; x < x1; x += step) {
        let wn = 0;
        for (const r of rings) wn += winding(r.pts, x, y);
        // Outer rings have a positive shoelace area, so they wind +1 around their inside; holes −1.
        if (wn !== 0 && wn !== 1) bad++;
      }
    }
    if (bad > 0) problems.push(`winding number outside {0, 1} at ${bad} sample points`);
  }
  return problems;
}
