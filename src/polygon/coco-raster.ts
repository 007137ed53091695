/**
 * The COCO API's polygon rasteriser (pycocotools `frPyObjects` → maskApi.c `rleFrPoly`), reimplemented from its
 * definition so that polygons we write decode, here and in pycocotools, to the same pixels.
 *
 * The rule: vertices are scaled by 5 and rounded ((int)(5v + 0.5), truncating towards zero); every edge is walked
 * one step per unit of its major axis, the minor coordinate rounded the same way (from the edge's lower end on the
 * major axis, whichever way the edge runs). Wherever the walk moves from one upsampled column to the next across a
 * pixel centre line (x = X + 0.5 in polygon coordinates, X in [0, w−1]), column X toggles from row
 * Y = ceil((v − 2) / 5) on, v the smaller upsampled y of the two points, clamped to [0, h]. Toggles are applied in
 * column-major order with even multiplicities cancelling, which makes the fill even–odd per polygon. In pixel-edge
 * coordinates (pixel (x, y) covers [x, x+1] × [y, y+1]) a pixel is set when its centre is inside the polygon, give or
 * take the 1/5-pixel rounding; a polygon along pixel edges comes back exactly.
 *
 * Several polygons of one annotation are rasterised one by one and merged by union (pycocotools `annToRLE`).
 */
import { RleBuilder, type Rle } from '../rle/rle.js';
import { rleUnion } from './rle-union.js';

const SCALE = 5;
/** What the C cast `(int)NaN` gives on x86-64 (cvttsd2si): the walk point of a zero-length edge. */
const INT_MIN = -2147483648;

/**
 * Rasterises one polygon (flat [x1, y1, x2, y2, …], at least 3 points) into an h × w mask with the COCO rule.
 * @throws RangeError on an odd-length list, fewer than 3 points or a non-finite coordinate
 */
export function rleFromPolygon(poly: ArrayLike<number>, h: number, w: number): Rle {
  checkPolygon(poly);
  const k = poly.length >> 1;
  const xs = new Int32Array(k + 1);
  const ys = new Int32Array(k + 1);
  for (let j = 0; j < k; j++) {
    xs[j] = Math.trunc(SCALE * poly[2 * j] + 0.5);
    ys[j] = Math.trunc(SCALE * poly[2 * j + 1] + 0.5);
  }
  xs[k] = xs[0];
  ys[k] = ys[0];
  const toggles = new ToggleList(h, w);
  // The walk is one closed sequence of points; `pu`, `pv` is the point before the current one.
  let pu = 0;
  let pv = 0;
  let first = true;
  const visit = (u: number, v: number): void => {
    if (!first && u !== pu) toggles.crossing(pu, pv, u, v);
    first = false;
    pu = u;
    pv = v;
  };
  for (let j = 0; j < k; j++) walkEdge(xs[j], ys[j], xs[j + 1], ys[j + 1], visit);
  return toggles.toRle();
}

/**
 * Rasterises the polygons of one annotation and takes their union, as the COCO API's `annToRLE` does.
 * An empty list gives an empty mask.
 */
export function rleFromPolygons(polys: ArrayLike<ArrayLike<number>>, h: number, w: number): Rle {
  let acc: Rle | null = null;
  for (let i = 0; i < polys.length; i++) {
    const r = rleFromPolygon(polys[i], h, w);
    acc = acc === null ? r : rleUnion(acc, r);
  }
  if (acc !== null) return acc;
  const b = new RleBuilder(h, w);
  b.push(0, h * w);
  return b.finish();
}

function checkPolygon(poly: ArrayLike<number>): void {
  if (poly.length % 2 !== 0) throw new RangeError(`COCO polygon: ${poly.length} numbers, expected x, y pairs`);
  if (poly.length < 6) throw new RangeError(`COCO polygon: ${poly.length / 2} points, at least 3 needed`);
  for (let i = 0; i < poly.length; i++) {
    if (!Number.isFinite(poly[i])) throw new RangeError(`COCO polygon: coordinate ${i} is ${poly[i]}`);
  }
}

/**
 * Visits the upsampled points of one edge in its own direction, both ends included. The minor coordinate is
 * always computed from the end with the smaller major coordinate, as the reference does, so an edge and its
 * reverse visit the same points.
 */
function walkEdge(x0: number, y0: number, x1: number, y1: number, visit: (u: number, v: number) => void): void {
  const dx = Math.abs(x1 - x0);
  const dy = Math.abs(y1 - y0);
  if (dx === 0 && dy === 0) {
    // The reference divides 0 by 0 here and truncates NaN; x86-64 gives INT_MIN. The point shares its column with
    // its neighbours, so it can only matter next to a negative coordinate.
    visit(x0, INT_MIN);
    return;
  }
  if (dx >= dy) {
    const reversed = x0 > x1;
    const ax = reversed ? x1 : x0;
    const ay = reversed ? y1 : y0;
    const slope = ((reversed ? y0 : y1) - ay) / dx;
    for (let d = 0; d <= dx; d++) {
      const t = reversed ? dx - d : d;
      visit(ax + t, Math.trunc(ay + slope * t + 0.5));
    }
  } else {
    const reversed = y0 > y1;
    const ax = reversed ? x1 : x0;
    const ay = reversed ? y1 : y0;
    const slope = ((reversed ? x0 : x1) - ax) / dy;
    for (let d = 0; d <= dy; d++) {
      const t = reversed ? dy - d : d;
      visit(Math.trunc(ax + slope * t + 0.5), ay + t);
    }
  }
}

/** Column toggles collected from column crossings, turned into runs with even multiplicities cancelling. */
class ToggleList {
  private pos: Float64Array = new Float64Array(64);
  private n = 0;

  constructor(
    private readonly h: number,
    private readonly w: number,
  ) {}

  /** Records the toggle of a step between upsampled points (u0, v0) → (u1, v1), u0 ≠ u1, if it crosses a centre line. */
  crossing(u0: number, v0: number, u1: number, v1: number): void {
    const col = u1 < u0 ? u1 : u1 - 1;
    // Centre line of pixel column X lies between upsampled columns 5X+2 and 5X+3.
    const rest = col - 2;
    if (rest % SCALE !== 0) return;
    const X = rest / SCALE;
    if (X < 0 || X > this.w - 1) return;
    const v = v0 < v1 ? v0 : v1;
    const Y = Math.min(this.h, Math.max(0, Math.ceil((v - 2) / SCALE)));
    if (this.n === this.pos.length) {
      const grown = new Float64Array(this.n * 2);
      grown.set(this.pos);
      this.pos = grown;
    }
    this.pos[this.n++] = X * this.h + Y;
  }

  toRle(): Rle {
    const total = this.h * this.w;
    const sorted = this.pos.subarray(0, this.n).sort();
    const b = new RleBuilder(this.h, this.w);
    let bit: 0 | 1 = 0;
    let last = 0;
    for (let i = 0; i < sorted.length; ) {
      const p = sorted[i];
      let j = i;
      while (j < sorted.length && sorted[j] === p) j++;
      // An odd number of toggles at one position is one toggle; toggles at the very end change nothing.
      if ((j - i) & 1 && p < total) {
        b.push(bit, p - last);
        bit = bit === 0 ? 1 : 0;
        last = p;
      }
      i = j;
    }
    b.push(bit, total - last);
    return b.finish();
  }
}
