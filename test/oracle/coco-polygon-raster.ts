/**
 * Test oracle for the COCO API's polygon rasteriser (maskApi.c `rleFrPoly`, reached through pycocotools
 * `frPyObjects`), written plainly from the C semantics: build the whole dense point list, collect the boundary
 * points, sort their linear positions, turn them into run lengths dropping zero-length runs pairwise. Slow and
 * literal on purpose; src/polygon/coco-raster.ts is the streaming implementation checked against it.
 * Returns the plain COCO counts (column-major runs, zeros first).
 */
export function oracleRleFromPolygon(xy: number[], h: number, w: number): number[] {
  const k = Math.floor(xy.length / 2);
  const scale = 5;
  // C `(int)` conversion: truncation towards zero; NaN becomes INT_MIN on x86-64.
  const toInt = (v: number): number => (Number.isNaN(v) ? -2147483648 : Math.trunc(v));
  const x: number[] = [];
  const y: number[] = [];
  for (let j = 0; j < k; j++) x.push(toInt(scale * xy[2 * j] + 0.5));
  for (let j = 0; j < k; j++) y.push(toInt(scale * xy[2 * j + 1] + 0.5));
  x.push(x[0]);
  y.push(y[0]);
  const u: number[] = [];
  const v: number[] = [];
  for (let j = 0; j < k; j++) {
    let xs = x[j];
    let xe = x[j + 1];
    let ys = y[j];
    let ye = y[j + 1];
    const dx = Math.abs(xe - xs);
    const dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      [xs, xe] = [xe, xs];
      [ys, ye] = [ye, ys];
    }
    const s = dx >= dy ? (ye - ys) / dx : (xe - xs) / dy;
    if (dx >= dy) {
      for (let d = 0; d <= dx; d++) {
        const t = flip ? dx - d : d;
        u.push(t + xs);
        v.push(toInt(ys + s * t + 0.5));
      }
    } else {
      for (let d = 0; d <= dy; d++) {
        const t = flip ? dy - d : d;
        v.push(t + ys);
        u.push(toInt(xs + s * t + 0.5));
      }
    }
  }
  const bx: number[] = [];
  const by: number[] = [];
  for (let j = 1; j < u.length; j++) {
    if (u[j] === u[j - 1]) continue;
    let xd = u[j] < u[j - 1] ? u[j] : u[j] - 1;
    xd = (xd + 0.5) / scale - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > w - 1) continue;
    let yd = v[j] < v[j - 1] ? v[j] : v[j - 1];
    yd = (yd + 0.5) / scale - 0.5;
    if (yd < 0) yd = 0;
    else if (yd > h) yd = h;
    yd = Math.ceil(yd);
    bx.push(xd);
    by.push(yd);
  }
  const a: number[] = bx.map((xx, j) => (xx * h + by[j]) >>> 0);
  a.push((h * w) >>> 0);
  a.sort((p, q) => p - q);
  let prev = 0;
  for (let j = 0; j < a.length; j++) {
    const t = a[j];
    a[j] -= prev;
    prev = t;
  }
  const counts: number[] = [a[0]];
  let j = 1;
  while (j < a.length) {
    if (a[j] > 0) counts.push(a[j++]);
    else {
      j++;
      if (j < a.length) counts[counts.length - 1] += a[j++];
    }
  }
  return counts;
}
