/**
 * Drawing masks into RGBA pixel buffers (canvas ImageData), one buffer pixel per mask pixel: the masks are drawn
 * at the output's full resolution and the page scales the canvas, never the masks. Runs are walked straight from
 * the column-major RLE; only outlines need a decoded bitmap, and only inside the mask's box.
 */
import { decodeToColMajor, forEachColumnSegment, fromCoco, type Rle } from '../../src/rle/rle.js';
import type { ReportMask } from '../../src/report/data.js';

/** 8-bit RGB. */
export type Rgb = readonly [number, number, number];

/** The masks of one side, decoded from their counts strings (throws on a malformed one). */
export function decodeMasks(masks: readonly ReportMask[], width: number, height: number): Rle[] {
  return masks.map((m) => fromCoco({ size: [height, width], counts: m.counts }));
}

/** The order masks are drawn in: largest first (ties: file order), so small masks end up on top, as in --overlay. */
export function drawOrder(masks: readonly { area: number }[], visible: readonly number[]): number[] {
  return [...visible].sort((a, b) => masks[b].area - masks[a].area || a - b);
}

/** Blends colour `c` at opacity `a` (0..1) over pixel `o` (byte offset) of a straight-alpha RGBA buffer. */
function blend(px: Uint8ClampedArray, o: number, c: Rgb, a: number): void {
  const da = px[o + 3] / 255;
  const oa = a + da * (1 - a);
  if (oa <= 0) return;
  const k = (da * (1 - a)) / oa;
  const j = a / oa;
  px[o] = c[0] * j + px[o] * k;
  px[o + 1] = c[1] * j + px[o + 1] * k;
  px[o + 2] = c[2] * j + px[o + 2] * k;
  px[o + 3] = oa * 255;
}

/** Fills the mask's pixels with `c` at opacity `a`. The buffer is W×H (the RLE's size), 4 bytes per pixel. */
export function fillMask(px: Uint8ClampedArray, rle: Rle, c: Rgb, a: number): void {
  const w = rle.w;
  forEachColumnSegment(rle, (x, y0, y1) => {
    for (let y = y0; y < y1; y++) blend(px, (y * w + x) * 4, c, a);
  });
}

/** Writes `value` into the hit map at every pixel of the mask (the last mask written wins). */
export function markHits(hit: Int32Array, rle: Rle, value: number): void {
  const w = rle.w;
  forEachColumnSegment(rle, (x, y0, y1) => {
    for (let y = y0; y < y1; y++) hit[y * w + x] = value;
  });
}

/** An opaque `size`×`size` square at (x0, y0), clipped to the buffer. */
function square(px: Uint8ClampedArray, W: number, H: number, x0: number, y0: number, size: number, c: Rgb, a: number): void {
  const xb = Math.min(W, x0 + size);
  const yb = Math.min(H, y0 + size);
  for (let y = Math.max(0, y0); y < yb; y++) {
    for (let x = Math.max(0, x0); x < xb; x++) blend(px, (y * W + x) * 4, c, a);
  }
}

/**
 * The mask's inner border (mask pixels with a 4-neighbour outside the mask or the image), `lw` pixels wide,
 * drawn into a buffer of `W`×`H` pixels whose top-left corner is image pixel (ox, oy) (a window of the image, or
 * the whole of it). `scratch` holds at least h*w bytes.
 */
export function outlineMask(
  px: Uint8ClampedArray,
  W: number,
  H: number,
  ox: number,
  oy: number,
  rle: Rle,
  bbox: readonly number[],
  c: Rgb,
  lw: number,
  scratch: Uint8Array,
  a = 1,
): void {
  strokeInnerBorder(px, W, H, ox, oy, decodeToColMajor(rle, scratch), rle.h, rle.w, bbox, c, lw, a);
}

/** {@link outlineMask} on a mask already decoded column-major (`m`, h×w), for callers that stroke it twice. */
function strokeInnerBorder(
  px: Uint8ClampedArray,
  W: number,
  H: number,
  ox: number,
  oy: number,
  m: Uint8Array,
  h: number,
  w: number,
  bbox: readonly number[],
  c: Rgb,
  lw: number,
  a: number,
): void {
  const half = Math.floor((lw - 1) / 2);
  const x0 = Math.max(0, Math.floor(bbox[0]));
  const y0 = Math.max(0, Math.floor(bbox[1]));
  const x1 = Math.min(w - 1, Math.ceil(bbox[0] + bbox[2]));
  const y1 = Math.min(h - 1, Math.ceil(bbox[1] + bbox[3]));
  for (let x = x0; x <= x1; x++) {
    for (let y = y0; y <= y1; y++) {
      const i = x * h + y;
      if (!m[i]) continue;
      const edge = x === 0 || y === 0 || x === w - 1 || y === h - 1 || !m[i - h] || !m[i + h] || !m[i - 1] || !m[i + 1];
      if (edge) square(px, W, H, x - ox - half, y - oy - half, lw, c, a);
    }
  }
}

/** The record's box (corners inclusive) as an `lw`-wide frame. */
export function boxOutline(px: Uint8ClampedArray, W: number, H: number, bbox: readonly number[], c: Rgb, lw: number): void {
  const [x, y, bw, bh] = bbox.map((v) => Math.round(v));
  for (let t = 0; t < lw; t++) {
    for (let xx = x; xx <= x + bw; xx++) {
      square(px, W, H, xx, y + t, 1, c, 1);
      square(px, W, H, xx, y + bh - t, 1, c, 1);
    }
    for (let yy = y; yy <= y + bh; yy++) {
      square(px, W, H, x + t, yy, 1, c, 1);
      square(px, W, H, x + bw - t, yy, 1, c, 1);
    }
  }
}

/** Lines one screen pixel wide at the scale the canvas is shown at (1 while it is not laid out), at most 32. */
export function lineWidth(imageWidth: number, shownWidth: number): number {
  if (!(shownWidth > 0)) return 1;
  return Math.min(32, Math.max(1, Math.round(imageWidth / shownWidth)));
}

/**
 * A white wash and a black-and-white border over one mask on the (cleared) highlight canvas, drawn into the mask's
 * box only; `lw` is the border's inner line width in image pixels.
 */
export function drawHighlight(
  ctx: CanvasRenderingContext2D,
  W: number,
  H: number,
  rle: Rle,
  bbox: readonly number[],
  lw: number,
  scratch: Uint8Array,
): void {
  const pad = 2 * lw;
  const x0 = Math.max(0, Math.floor(bbox[0]) - pad);
  const y0 = Math.max(0, Math.floor(bbox[1]) - pad);
  const x1 = Math.min(W, Math.ceil(bbox[0] + bbox[2]) + 1 + pad);
  const y1 = Math.min(H, Math.ceil(bbox[1] + bbox[3]) + 1 + pad);
  if (x1 <= x0 || y1 <= y0) return;
  const w = x1 - x0;
  const h = y1 - y0;
  const image = ctx.createImageData(w, h);
  // The wash comes from the mask itself, not the hit map: the highlighted mask may lie under others.
  forEachColumnSegment(rle, (x, ya, yb) => {
    for (let y = ya; y < yb; y++) {
      const o = ((y - y0) * w + (x - x0)) * 4;
      image.data[o] = image.data[o + 1] = image.data[o + 2] = 255;
      image.data[o + 3] = 110;
    }
  });
  // Decoded once for both strokes: the wide black one under the thin white one.
  const m = decodeToColMajor(rle, scratch);
  strokeInnerBorder(image.data, w, h, x0, y0, m, rle.h, rle.w, bbox, [0, 0, 0], 3 * lw, 1);
  strokeInnerBorder(image.data, w, h, x0, y0, m, rle.h, rle.w, bbox, [255, 255, 255], lw, 1);
  ctx.putImageData(image, x0, y0);
}
