/** Plain geometry of rings (interleaved x, y; closed implicitly): area, containment, bounds. */

/** Interleaved x, y coordinates of a closed ring (first vertex not repeated). */
export type RingCoords = ArrayLike<number>;

/** Shoelace area: positive when the ring runs counter-clockwise in a y-up frame (clockwise on a y-down screen). */
export function signedArea(ring: RingCoords): number {
  const n = ring.length;
  let twice = 0;
  for (let i = 0; i < n; i += 2) {
    const j = i + 2 < n ? i + 2 : 0;
    twice += ring[i] * ring[j + 1] - ring[j] * ring[i + 1];
  }
  return twice / 2;
}

/**
 * Whether point (px, py) lies inside the ring (even–odd crossing test). Only meaningful for points off the ring;
 * the tracer asks it for pixel centres, which never lie on a pixel-edge ring.
 */
export function pointInRing(ring: RingCoords, px: number, py: number): boolean {
  const n = ring.length;
  let inside = false;
  for (let i = 0, j = n - 2; i < n; j = i, i += 2) {
    const xi = ring[i];
    const yi = ring[i + 1];
    const xj = ring[j];
    const yj = ring[j + 1];
    if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** [minX, minY, maxX, maxY] of a ring's vertices. */
export function ringBounds(ring: RingCoords): [number, number, number, number] {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < ring.length; i += 2) {
    const x = ring[i];
    const y = ring[i + 1];
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  return [minX, minY, maxX, maxY];
}

/** Number of vertices of a ring. */
export function vertexCount(ring: RingCoords): number {
  return ring.length >> 1;
}
