/**
 * Joins the rings of a multi-part mask into one closed path, the way Ultralytics' `merge_multi_segment`
 * (ultralytics/data/converter.py) joins the polygons of a COCO annotation into one YOLO segment: consecutive rings
 * are linked by a zero-width bridge between their closest vertices, the path goes out through the rings in order
 * and comes back through the middle ones. Each bridge is walked once out and once back.
 *
 * One deliberate difference: when a middle ring's exit vertex comes before its entry vertex, Ultralytics reverses
 * the ring but keeps the old indices, so its bridges can leave from the wrong vertices; here the ring is walked
 * backwards from the true entry to the true exit, so every bridge joins the closest pair as intended.
 */

/** Closest vertex pair of two rings (first minimum in row-major order of the distance matrix, like numpy's argmin). */
function closestPair(a: ArrayLike<number>, b: ArrayLike<number>): [number, number] {
  let best = Infinity;
  let bi = 0;
  let bj = 0;
  for (let i = 0; i < a.length; i += 2) {
    for (let j = 0; j < b.length; j += 2) {
      const dx = a[i] - b[j];
      const dy = a[i + 1] - b[j + 1];
      const d = dx * dx + dy * dy;
      if (d < best) {
        best = d;
        bi = i >> 1;
        bj = j >> 1;
      }
    }
  }
  return [bi, bj];
}

/**
 * One flat [x1, y1, …] path through all `rings` (each interleaved x, y, closed implicitly). A single ring comes back
 * as it is; with several, vertices repeat where the path closes a ring or crosses a bridge.
 */
export function joinSegments(rings: ArrayLike<number>[]): number[] {
  if (rings.length === 0) return [];
  if (rings.length === 1) return Array.from(rings[0]);
  const n = rings.length;
  // entry[i]: vertex where the path arrives from ring i-1; exit[i]: vertex where it leaves for ring i+1.
  const entry = new Array<number>(n).fill(-1);
  const exit = new Array<number>(n).fill(-1);
  for (let i = 1; i < n; i++) {
    const [a, b] = closestPair(rings[i - 1], rings[i]);
    exit[i - 1] = a;
    entry[i] = b;
  }
  const out: number[] = [];
  const put = (ring: ArrayLike<number>, v: number): void => {
    out.push(ring[2 * v], ring[2 * v + 1]);
  };
  // Walks `ring` from vertex `from` for `steps` steps in direction `dir` (+1 or -1), both ends included.
  const walk = (ring: ArrayLike<number>, from: number, steps: number, dir: number): void => {
    const m = ring.length >> 1;
    for (let s = 0; s <= steps; s++) put(ring, (((from + dir * s) % m) + m) % m);
  };
  const m = (i: number): number => rings[i].length >> 1;
  // Out: the first ring whole (closed), the middle rings from entry to exit, the last ring whole.
  walk(rings[0], exit[0], m(0), 1);
  const dirs = new Array<number>(n).fill(1);
  for (let i = 1; i < n - 1; i++) {
    dirs[i] = exit[i] >= entry[i] ? 1 : -1;
    walk(rings[i], entry[i], Math.abs(exit[i] - entry[i]), dirs[i]);
  }
  walk(rings[n - 1], entry[n - 1], m(n - 1), 1);
  // Back: the rest of each middle ring, from its exit on round to its entry.
  for (let i = n - 2; i >= 1; i--) walk(rings[i], exit[i], m(i) - Math.abs(exit[i] - entry[i]), dirs[i]);
  return out;
}
