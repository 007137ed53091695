/** Douglas–Peucker on one ring, anchored so that rings sharing a vertex keep it. */
import { farthest, vertexKey, type RingState } from './ring-state.js';

/** Marks the vertices Douglas–Peucker keeps, anchored at vertex 0, at shared vertices and (if needed) the farthest one. */
export function douglasPeucker(r: RingState, fixed: Set<number>, w: number, tol2: number): void {
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
