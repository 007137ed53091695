/**
 * Exact predicates on segments with integer (or otherwise exactly representable) coordinates, for the
 * simplifier's topology checks. Products stay far below 2^53 for any image size we can hold.
 */

/** Sign of the turn a → b → c: > 0 counter-clockwise in a y-up frame, 0 collinear. */
export function orient(ax: number, ay: number, bx: number, by: number, cx: number, cy: number): number {
  return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
}

/** Whether c, known to be collinear with a–b, lies on the closed segment a–b. */
function onSegment(ax: number, ay: number, bx: number, by: number, cx: number, cy: number): boolean {
  return Math.min(ax, bx) <= cx && cx <= Math.max(ax, bx) && Math.min(ay, by) <= cy && cy <= Math.max(ay, by);
}

/**
 * Whether segments a1–a2 and b1–b2 meet anywhere except at one shared endpoint: a crossing, an endpoint on the
 * other segment's inside, or a collinear overlap all count. Rings may only meet at common vertices.
 */
export function segmentsConflict(
  a1x: number,
  a1y: number,
  a2x: number,
  a2y: number,
  b1x: number,
  b1y: number,
  b2x: number,
  b2y: number,
): boolean {
  const o1 = orient(a1x, a1y, a2x, a2y, b1x, b1y);
  const o2 = orient(a1x, a1y, a2x, a2y, b2x, b2y);
  const o3 = orient(b1x, b1y, b2x, b2y, a1x, a1y);
  const o4 = orient(b1x, b1y, b2x, b2y, a2x, a2y);
  if (((o1 > 0 && o2 < 0) || (o1 < 0 && o2 > 0)) && ((o3 > 0 && o4 < 0) || (o3 < 0 && o4 > 0))) return true;
  // Touch points: endpoints lying on the other segment. Allowed only when they are all one common endpoint.
  let touches = 0;
  let tx = 0;
  let ty = 0;
  for (let k = 0; k < 4; k++) {
    let on: boolean;
    let x: number;
    let y: number;
    if (k === 0) [on, x, y] = [o1 === 0 && onSegment(a1x, a1y, a2x, a2y, b1x, b1y), b1x, b1y];
    else if (k === 1) [on, x, y] = [o2 === 0 && onSegment(a1x, a1y, a2x, a2y, b2x, b2y), b2x, b2y];
    else if (k === 2) [on, x, y] = [o3 === 0 && onSegment(b1x, b1y, b2x, b2y, a1x, a1y), a1x, a1y];
    else [on, x, y] = [o4 === 0 && onSegment(b1x, b1y, b2x, b2y, a2x, a2y), a2x, a2y];
    if (!on) continue;
    if (touches > 0 && (x !== tx || y !== ty)) return true;
    tx = x;
    ty = y;
    touches++;
  }
  if (touches === 0) return false;
  const endOfA = (tx === a1x && ty === a1y) || (tx === a2x && ty === a2y);
  const endOfB = (tx === b1x && ty === b1y) || (tx === b2x && ty === b2y);
  return !(endOfA && endOfB);
}

/** Squared distance from point p to the closed segment a–b. */
export function segmentDistance2(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  let t = len2 === 0 ? 0 : ((px - ax) * dx + (py - ay) * dy) / len2;
  if (t < 0) t = 0;
  else if (t > 1) t = 1;
  const ex = ax + t * dx - px;
  const ey = ay + t * dy - py;
  return ex * ex + ey * ey;
}
