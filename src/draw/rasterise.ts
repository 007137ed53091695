/**
 * The mask rasteriser: fills, outlines, boxes, prompt points and id labels drawn into an RGBA frame (frame.ts)
 * straight from each mask's column runs (COCO RLE), so no mask is ever decoded into a full-size bitmap: a fill walks
 * the runs, an outline compares each column's runs with its neighbours', and what a mask needs in memory grows with
 * its runs and box, never with the image. `--overlay` PNGs, the HTML report and the AMG page all draw with this
 * module, in one draw order and with one line-width rule. Browser-safe: it imports only the RLE module.
 *
 * Downscaled frames (scale s > 1, for images too large to draw pixel for pixel): a frame pixel's fill is the
 * mask's colour at the mask's opacity times the share of its s×s image pixels the mask covers; an outline, box,
 * point or label is drawn at the frame pixels its image pixels fall in, its width counted in frame pixels.
 */
import { forEachColumnSegment, rleBoxXYXY, type Rle } from '../rle/rle.js';
import { drawText, GLYPH_H, textWidth } from './bitmap-font.js';
import { alpha256, blendPixel, fillRect, placement, type Frame, type FrameGeometry, type Rgb } from './frame.js';

/** One mask to draw, in image coordinates (its RLE is the whole image's size). */
export interface DrawMask {
  rle: Rle;
  /** Its pixel count: larger masks are drawn first; a mask of area 0 gets no box. */
  area: number;
  /** The record's box [x, y, w, h], corners inclusive (max x = x + w), as the box layer draws it. */
  bbox: readonly number[];
  colour: Rgb;
  /** Fill opacity 0..1 of this mask (default: the style's). */
  alpha?: number;
  /** The prompt point (x, y): where its point and label are drawn. */
  point?: readonly number[];
  /** The label text (digits), drawn centred on the point. */
  label?: string;
}

/** What {@link drawMasks} draws: each layer for every mask, layer by layer in the order of these fields. */
export interface DrawStyle {
  fill?: boolean;
  outline?: boolean;
  box?: boolean;
  points?: boolean;
  labels?: boolean;
  /** Fill opacity 0..1 where a mask gives none (default 1). */
  alpha?: number;
  /** Width of outlines, boxes and points in frame pixels (default: {@link lineWidth} of the frame). */
  lineWidth?: number;
  /** Frame pixels per font pixel of the labels (default: {@link labelScale} of the frame). */
  labelScale?: number;
}

/** The widest line {@link lineWidth} gives (and `--overlay-style width=N` allows). */
export const MAX_LINE_WIDTH = 64;

/**
 * The line width rule, in frame pixels: lines about one screen pixel wide when the W×H frame is shown
 * `shownWidth` screen pixels wide, or, where that is not known (a PNG), as if its short side were shown at 800
 * pixels; at least 1, at most {@link MAX_LINE_WIDTH}.
 */
export function lineWidth(width: number, height: number, shownWidth?: number): number {
  const perScreenPixel = shownWidth !== undefined && shownWidth > 0 ? width / shownWidth : Math.min(width, height) / 800;
  return Math.min(MAX_LINE_WIDTH, Math.max(1, Math.round(perScreenPixel)));
}

/** Frame pixels per font pixel of labels on a W×H frame: 1 up to 600 on the short side, growing beyond. */
export function labelScale(width: number, height: number): number {
  return Math.max(1, Math.round(Math.min(width, height) / 400));
}

/**
 * The order masks are drawn in: largest first (ties: list order), so that small masks end up on top. `subset`
 * picks the indices to draw (default all).
 */
export function drawOrder(masks: readonly { area: number }[], subset?: readonly number[]): number[] {
  const order = subset === undefined ? masks.map((_, i) => i) : [...subset];
  return order.sort((a, b) => masks[b].area - masks[a].area || a - b);
}

/**
 * Draws `masks` into `frame`: every mask's fill (in `order`, default {@link drawOrder}), then every outline, box,
 * point and label, each layer in the same order, so that lines are never hidden under a later mask's fill.
 */
export function drawMasks(frame: Frame, masks: readonly DrawMask[], style: DrawStyle, order: readonly number[] = drawOrder(masks)): void {
  placement(frame);
  const lw = style.lineWidth ?? lineWidth(frame.width, frame.height);
  if (style.fill) for (const i of order) fillMask(frame, masks[i].rle, masks[i].colour, masks[i].alpha ?? style.alpha ?? 1);
  if (style.outline) for (const i of order) outlineMask(frame, masks[i].rle, masks[i].colour, lw);
  if (style.box) for (const i of order) if (masks[i].area > 0) boxOutline(frame, masks[i].bbox, masks[i].colour, lw);
  if (style.points) {
    for (const i of order) {
      const p = masks[i].point;
      if (p !== undefined) drawPoint(frame, p, masks[i].colour, lw);
    }
  }
  if (style.labels) {
    const s = style.labelScale ?? labelScale(frame.width, frame.height);
    for (const i of order) {
      const { point, label } = masks[i];
      if (point !== undefined && label !== undefined) drawLabel(frame, point, label, masks[i].colour, s);
    }
  }
}

/** `Math.floor(a / s)` for the integer image → frame mapping. */
function frameOf(a: number, s: number): number {
  return Math.floor(a / s);
}

/**
 * Blends colour `c` at opacity `alpha` (0..1) over the mask's pixels. At scale s > 1 the opacity of a frame pixel
 * is `alpha` × (mask pixels in its block) / s², counted from the runs in a buffer the size of the mask's box / s².
 */
export function fillMask(frame: Frame, rle: Rle, c: Rgb, alpha: number): void {
  const { width: W, height: H, x0, y0, scale: s } = placement(frame);
  const a = alpha256(alpha);
  if (a === 0 || W === 0 || H === 0) return;
  const px = frame.data;
  const [r, g, b] = c;
  if (s === 1) {
    // blendPixel's opaque case written out: nearly every pixel of an overlay, and V8 does not inline the whole of it.
    const keep = 256 - a;
    const cr = r * a + 128;
    const cg = g * a + 128;
    const cb = b * a + 128;
    const stride = W * 4;
    forEachColumnSegment(rle, (x, ya, yb) => {
      const fx = x - x0;
      if (fx < 0 || fx >= W) return;
      const end = (Math.min(yb - y0, H) * W + fx) * 4;
      for (let o = (Math.max(ya - y0, 0) * W + fx) * 4; o < end; o += stride) {
        if (px[o + 3] === 255) {
          px[o] = (px[o] * keep + cr) >> 8;
          px[o + 1] = (px[o + 1] * keep + cg) >> 8;
          px[o + 2] = (px[o + 2] * keep + cb) >> 8;
        } else {
          blendPixel(px, o, r, g, b, a);
        }
      }
    });
    return;
  }
  const [bx0, by0, bx1, by1] = rleBoxXYXY(rle);
  const fxa = Math.max(0, frameOf(bx0 - x0, s));
  const fya = Math.max(0, frameOf(by0 - y0, s));
  const fxb = Math.min(W - 1, frameOf(bx1 - x0, s));
  const fyb = Math.min(H - 1, frameOf(by1 - y0, s));
  if (fxa > fxb || fya > fyb) return;
  const cw = fxb - fxa + 1;
  const cover = new Uint32Array(cw * (fyb - fya + 1));
  // Image rows the frame window [fya, fyb] spans.
  const rowLo = y0 + fya * s;
  const rowHi = y0 + (fyb + 1) * s;
  let any = false;
  forEachColumnSegment(rle, (x, ya, yb) => {
    const fx = frameOf(x - x0, s);
    if (fx < fxa || fx > fxb) return;
    const end = Math.min(yb, rowHi);
    for (let y = Math.max(ya, rowLo); y < end; ) {
      const fy = frameOf(y - y0, s);
      const next = Math.min(end, y0 + (fy + 1) * s);
      cover[(fy - fya) * cw + (fx - fxa)] += next - y;
      any = true;
      y = next;
    }
  });
  if (!any) return;
  const n = s * s;
  const half = n >> 1;
  for (let fy = fya, k = 0; fy <= fyb; fy++) {
    for (let fx = fxa; fx <= fxb; fx++, k++) {
      const cv = cover[k];
      if (cv === 0) continue;
      const ak = Math.floor((a * cv + half) / n);
      if (ak > 0) blendPixel(px, (fy * W + fx) * 4, r, g, b, ak);
    }
  }
}

/**
 * A mask's runs, one column's pieces after another (x ascending, then y), with pieces that touch in a column
 * joined (an RLE may hold empty runs between two runs of ones).
 */
class ColumnRuns {
  n = 0;
  x = new Int32Array(64);
  ya = new Int32Array(64);
  yb = new Int32Array(64);

  constructor(rle: Rle) {
    forEachColumnSegment(rle, (x, ya, yb) => {
      const last = this.n - 1;
      if (last >= 0 && this.x[last] === x && this.yb[last] === ya) {
        this.yb[last] = yb;
        return;
      }
      if (this.n === this.x.length) this.grow();
      this.x[this.n] = x;
      this.ya[this.n] = ya;
      this.yb[this.n] = yb;
      this.n++;
    });
  }

  /** The end (exclusive) of the column that starts at piece i. */
  columnEnd(i: number): number {
    const x = this.x[i];
    let j = i;
    while (j < this.n && this.x[j] === x) j++;
    return j;
  }

  private grow(): void {
    const size = this.x.length * 2;
    for (const key of ['x', 'ya', 'yb'] as const) {
      const next = new Int32Array(size);
      next.set(this[key]);
      this[key] = next;
    }
  }
}

/**
 * The mask's inner border, `lw` frame pixels wide, in solid colour `c`: the mask pixels with a 4-neighbour outside
 * the mask or the image, each the centre of an lw×lw square (offset ⌊(lw−1)/2⌋ up and left, as canvas strokes
 * are). Found from the runs: a piece's first and last rows, and the rows its left or right neighbour column does
 * not cover.
 */
export function outlineMask(frame: Frame, rle: Rle, c: Rgb, lw: number): void {
  const pl = placement(frame);
  if (pl.width === 0 || pl.height === 0) return;
  const runs = new ColumnRuns(rle);
  const { x: xs, ya: as, yb: bs } = runs;
  const half = Math.floor((lw - 1) / 2);
  const { x0, y0, scale: s } = pl;
  // A vertical stretch [ya, yb) of border pixels in image column x, as one rectangle of the frame.
  const paint = (x: number, ya: number, yb: number): void => {
    const fx = frameOf(x - x0, s);
    const fya = frameOf(ya - y0, s);
    const fyb = frameOf(yb - 1 - y0, s);
    fillRect(frame, fx - half, fya - half, lw, fyb - fya + lw, c);
  };
  // Paints the rows of [ya, yb) that no piece in [from, to) of a neighbour column covers; returns where the next
  // piece of this column may start looking (pieces go down a column, so the pointer only moves forward).
  const paintUncovered = (x: number, ya: number, yb: number, from: number, to: number): number => {
    let k = from;
    while (k < to && bs[k] <= ya) k++;
    const next = k;
    let y = ya;
    for (; k < to && as[k] < yb && y < yb; k++) {
      if (as[k] > y) paint(x, y, as[k]);
      if (bs[k] > y) y = bs[k];
    }
    if (y < yb) paint(x, y, yb);
    return next;
  };
  const W = rle.w;
  let prevStart = 0;
  let prevEnd = 0;
  for (let i = 0; i < runs.n; ) {
    const x = xs[i];
    const end = runs.columnEnd(i);
    // The neighbour columns' pieces: [left, leftEnd) and [right, rightEnd), empty where a column has none.
    const leftEnd = prevEnd > prevStart && xs[prevStart] === x - 1 ? prevEnd : prevStart;
    const rightEnd = end < runs.n && xs[end] === x + 1 ? runs.columnEnd(end) : end;
    let left = prevStart;
    let right = end;
    for (let k = i; k < end; k++) {
      const ya = as[k];
      const yb = bs[k];
      if (x === 0 || x === W - 1) {
        paint(x, ya, yb);
        continue;
      }
      paint(x, ya, ya + 1);
      if (yb - 1 > ya) paint(x, yb - 1, yb);
      left = paintUncovered(x, ya, yb, left, leftEnd);
      right = paintUncovered(x, ya, yb, right, rightEnd);
    }
    prevStart = i;
    prevEnd = end;
    i = end;
  }
}

/** The record's box [x, y, w, h] (each rounded; corners inclusive) as a solid frame `lw` frame pixels wide, inside it. */
export function boxOutline(frame: Frame, bbox: readonly number[], c: Rgb, lw: number): void {
  const { x0, y0, scale: s } = placement(frame);
  const [x, y, w, h] = bbox.map((v) => Math.round(v));
  const fxa = frameOf(x - x0, s);
  const fya = frameOf(y - y0, s);
  const fxb = frameOf(x + w - x0, s);
  const fyb = frameOf(y + h - y0, s);
  const bw = fxb - fxa + 1;
  const bh = fyb - fya + 1;
  fillRect(frame, fxa, fya, bw, lw, c);
  fillRect(frame, fxa, fyb - lw + 1, bw, lw, c);
  fillRect(frame, fxa, fya, lw, bh, c);
  fillRect(frame, fxb - lw + 1, fya, lw, bh, c);
}

const WHITE: Rgb = [255, 255, 255];
const BLACK: Rgb = [0, 0, 0];

/** A prompt point: a disc in colour `c` inside a white ring, radius 2 + 2·lw frame pixels. */
export function drawPoint(frame: Frame, point: readonly number[], c: Rgb, lw: number): void {
  const { x0, y0, scale: s } = placement(frame);
  const cx = frameOf(Math.round(point[0]) - x0, s);
  const cy = frameOf(Math.round(point[1]) - y0, s);
  const outer = 2 + 2 * lw;
  const inner = outer - Math.max(1, lw);
  for (let dy = -outer; dy <= outer; dy++) {
    for (let dx = -outer; dx <= outer; dx++) {
      const d2 = dx * dx + dy * dy;
      if (d2 <= outer * outer) fillRect(frame, cx + dx, cy + dy, 1, 1, d2 <= inner * inner ? c : WHITE);
    }
  }
}

/**
 * `text` centred on `point` (moved inside the frame where it would stick out) in a tag that reads on any
 * background: a black frame around the mask's colour, digits in black or white, whichever contrasts more. `s` is
 * the frame pixels per font pixel: frame s, padding s, text, padding s, frame s.
 */
export function drawLabel(frame: Frame, point: readonly number[], text: string, c: Rgb, s: number): void {
  const { width: W, height: H, x0, y0, scale } = placement(frame);
  const bw = textWidth(text, s) + 4 * s;
  const bh = GLYPH_H * s + 4 * s;
  const cx = frameOf(Math.round(point[0]) - x0, scale);
  const cy = frameOf(Math.round(point[1]) - y0, scale);
  const left = Math.max(0, Math.min(W - bw, cx - Math.floor(bw / 2)));
  const top = Math.max(0, Math.min(H - bh, cy - Math.floor(bh / 2)));
  const ink = c[0] * 299 + c[1] * 587 + c[2] * 114 > 150_000 ? BLACK : WHITE;
  fillRect(frame, left, top, bw, bh, BLACK);
  fillRect(frame, left + s, top + s, bw - 2 * s, bh - 2 * s, c);
  drawText(frame, left + 2 * s, top + 2 * s, text, s, ink);
}

/**
 * Writes `value` into the hit map (one Int32 per frame pixel, row-major) at every frame pixel the mask touches;
 * called in draw order, the mask on top wins, as it does on screen.
 */
export function markHits(hits: Int32Array, geometry: FrameGeometry, rle: Rle, value: number): void {
  const { width: W, height: H, x0, y0, scale: s } = placement(geometry);
  if (hits.length < W * H) throw new RangeError(`markHits: ${hits.length} entries for a ${W}x${H} frame`);
  forEachColumnSegment(rle, (x, ya, yb) => {
    const fx = frameOf(x - x0, s);
    if (fx < 0 || fx >= W) return;
    const end = Math.min(H - 1, frameOf(yb - 1 - y0, s));
    for (let fy = Math.max(0, frameOf(ya - y0, s)); fy <= end; fy++) hits[fy * W + fx] = value;
  });
}
