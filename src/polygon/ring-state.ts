/** State of one ring during simplification, and small helpers on it. */
import { segmentDistance2 } from './segment-geometry.js';

/** Ring under simplification. */
export interface RingState {
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
  dropReason: 'collapsed' | 'inside-collapsed' | 'inside-filled-hole';
}

/** Key of vertex i for vertex sets: y·(w+1) + x. */
export function vertexKey(r: RingState, i: number, w: number): number {
  return r.orig[2 * i + 1] * (w + 1) + r.orig[2 * i];
}

export function keptCount(r: RingState): number {
  let c = 0;
  for (let i = 0; i < r.n; i++) c += r.kept[i];
  return c;
}

/** The vertex strictly between a and b (b may be n for vertex 0) farthest from chord a–b, or -1 when adjacent. */
export function farthest(r: RingState, a: number, b: number): { i: number; d2: number } | -1 {
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

/** The kept vertices as a ring. */
export function keptRing(r: RingState): Int32Array {
  const out = new Int32Array(2 * keptCount(r));
  let m = 0;
  for (let i = 0; i < r.n; i++) {
    if (!r.kept[i]) continue;
    out[m++] = r.orig[2 * i];
    out[m++] = r.orig[2 * i + 1];
  }
  return out;
}
