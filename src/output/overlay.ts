/**
 * Overlays (`--overlay DIR`): one PNG per image showing its masks over the photo, the way SAM's notebooks show
 * automatic masks — every mask filled with its own colour at partial opacity, largest first so that small masks
 * stay visible on top — with optional outlines, bounding boxes, prompt points and id labels (`--overlay-style`).
 *
 * Deterministic: a mask's colour depends only on its position in the record list, blending is integer
 * arithmetic, labels use a built-in bitmap font, and sharp's PNG encoder is given fixed settings, so the same
 * result gives the same bytes.
 */
import sharp from 'sharp';
import type { MaskRecord, RgbImage } from '../base/types.js';
import { decodeToRowMajor, forEachColumnSegment } from '../rle/rle.js';
import { drawText, fillRect, GLYPH_H, textWidth } from './bitmap-font.js';
import { MASK_FILL_ALPHA, maskColour } from './mask-colour.js';
import { sa1bPathFor } from './sa1b.js';

export { maskColour } from './mask-colour.js';

/** What an overlay draws. */
export interface OverlayStyle {
  fill: boolean;
  outline: boolean;
  box: boolean;
  points: boolean;
  /** Opacity of the fill, 0..1. */
  alpha: number;
  /** Each mask's id at its prompt point (default off). */
  labels?: boolean;
  /** Line width in pixels of outlines, boxes and points, and the label font's pixel size (default: from the image size). */
  width?: number;
}

/** `fill,outline` at 45 % opacity. */
export const DEFAULT_OVERLAY_STYLE: Readonly<OverlayStyle> = { fill: true, outline: true, box: false, points: false, alpha: MASK_FILL_ALPHA };

const STYLE_WORDS = ['fill', 'outline', 'box', 'points', 'labels'] as const;

/** The largest `width=N`. */
const MAX_WIDTH = 64;

/**
 * Parses `--overlay-style`: a comma-separated list of `fill`, `outline`, `box`, `points`, `labels`, `alpha=X`
 * (0 < X ≤ 1) and `width=N` (integer pixels, 1..64). The words given replace the default set; `alpha=` and
 * `width=` alone keep it. Throws with the offending token.
 */
export function parseOverlayStyle(text: string): OverlayStyle {
  const tokens = text.split(',').map((t) => t.trim()).filter((t) => t !== '');
  if (tokens.length === 0) throw new Error('--overlay-style: empty; use e.g. fill,outline,box,points,labels,alpha=0.5,width=2');
  let alpha = DEFAULT_OVERLAY_STYLE.alpha;
  let width: number | undefined;
  const words = new Set<string>();
  for (const t of tokens) {
    const m = /^alpha=(.+)$/u.exec(t);
    const w = /^width=(.+)$/u.exec(t);
    if (m) {
      const a = Number(m[1]);
      if (!(a > 0 && a <= 1)) throw new Error(`--overlay-style: alpha must be in (0, 1], got '${m[1]}'`);
      alpha = a;
    } else if (w) {
      const n = Number(w[1]);
      if (!(Number.isInteger(n) && n >= 1 && n <= MAX_WIDTH)) throw new Error(`--overlay-style: width must be an integer in 1..${MAX_WIDTH}, got '${w[1]}'`);
      width = n;
    } else if ((STYLE_WORDS as readonly string[]).includes(t)) {
      words.add(t);
    } else {
      throw new Error(`--overlay-style: unknown item '${t}' (expected ${STYLE_WORDS.join(', ')}, alpha=X or width=N)`);
    }
  }
  const style: OverlayStyle =
    words.size === 0
      ? { ...DEFAULT_OVERLAY_STYLE, alpha }
      : { fill: words.has('fill'), outline: words.has('outline'), box: words.has('box'), points: words.has('points'), alpha };
  // Optional keys only when asked for, so that styles compare equal to the plain ones otherwise.
  if (words.has('labels')) style.labels = true;
  if (width !== undefined) style.width = width;
  return style;
}

/** `DIR/<relPath without its extension>.png`; refuses names that would leave DIR, as sa1bPathFor does. */
export function overlayPathFor(dir: string, relPath: string): string {
  return `${sa1bPathFor(dir, relPath).slice(0, -'.json'.length)}.png`;
}

/** Line width in pixels for an image: 1 up to 800 px on the short side, growing slowly beyond. */
export function lineWidth(width: number, height: number): number {
  return Math.max(1, Math.round(Math.min(width, height) / 800));
}

/** The label font's pixel size when `width=` is not given: 1 up to 600 px on the short side, growing beyond. */
export function labelScale(width: number, height: number): number {
  return Math.max(1, Math.round(Math.min(width, height) / 400));
}

/**
 * Draws the overlay into a copy of the image's RGB bytes and returns it (row-major, 3 bytes per pixel).
 * Labels show `firstId + i` for record `i` (1: the ids of sa1b and jsonl files; 0: the `<i>.png` names of
 * amg-png). Throws when a mask's size is not the image's.
 */
export function renderOverlay(image: RgbImage, records: MaskRecord[], style: OverlayStyle = DEFAULT_OVERLAY_STYLE, firstId = 1): Uint8Array {
  const { width: W, height: H } = image;
  const out = Uint8Array.from(image.data);
  for (const [i, r] of records.entries()) {
    if (r.segmentation.h !== H || r.segmentation.w !== W) {
      throw new Error(`overlay: mask ${i} is ${r.segmentation.w}x${r.segmentation.h} but the image is ${W}x${H}`);
    }
  }
  // Largest first (ties: record order), so that small masks end up on top.
  const order = records.map((_, i) => i).sort((a, b) => records[b].area - records[a].area || a - b);
  const a256 = Math.round(style.alpha * 256);
  const lw = style.width ?? lineWidth(W, H);
  if (style.fill) {
    for (const i of order) fillRle(out, records[i], maskColour(i), a256);
  }
  if (style.outline) {
    const bitmap = new Uint8Array(W * H);
    for (const i of order) drawOutline(out, W, H, records[i], maskColour(i), lw, bitmap);
  }
  if (style.box) {
    for (const i of order) drawBox(out, W, H, records[i], maskColour(i), lw);
  }
  if (style.points) {
    for (const i of order) drawPoint(out, W, H, records[i], maskColour(i), lw);
  }
  if (style.labels) {
    const scale = style.width ?? labelScale(W, H);
    for (const i of order) drawLabel(out, W, H, records[i].pointCoords, String(firstId + i), maskColour(i), scale);
  }
  return out;
}

/** The overlay as PNG bytes (see {@link renderOverlay} for `firstId`). */
export async function overlayPng(image: RgbImage, records: MaskRecord[], style: OverlayStyle = DEFAULT_OVERLAY_STYLE, firstId = 1): Promise<Buffer> {
  const rgb = renderOverlay(image, records, style, firstId);
  return sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength), {
    raw: { width: image.width, height: image.height, channels: 3 },
  })
    .png({ compressionLevel: 6, adaptiveFiltering: false, palette: false })
    .toBuffer();
}

/** Blends the mask's pixels towards `c`, walking the column-major runs directly (no full-size bitmap). */
function fillRle(out: Uint8Array, r: MaskRecord, c: [number, number, number], a256: number): void {
  const w = r.segmentation.w;
  const keep = 256 - a256;
  const cr = c[0] * a256 + 128;
  const cg = c[1] * a256 + 128;
  const cb = c[2] * a256 + 128;
  forEachColumnSegment(r.segmentation, (x, y0, y1) => {
    for (let y = y0; y < y1; y++) {
      const o = (y * w + x) * 3;
      out[o] = (out[o] * keep + cr) >> 8;
      out[o + 1] = (out[o + 1] * keep + cg) >> 8;
      out[o + 2] = (out[o + 2] * keep + cb) >> 8;
    }
  });
}

/** A size×size square at (x0, y0), clipped to the image. */
function paint(out: Uint8Array, W: number, H: number, x0: number, y0: number, size: number, c: readonly [number, number, number]): void {
  fillRect(out, W, H, x0, y0, size, size, c);
}

/** Solid `lw`-wide line on the mask's inner border: mask pixels with a 4-neighbour outside the mask or the image. */
function drawOutline(
  out: Uint8Array,
  W: number,
  H: number,
  r: MaskRecord,
  c: [number, number, number],
  lw: number,
  bitmap: Uint8Array,
): void {
  if (r.area <= 0) return;
  const m = decodeToRowMajor(r.segmentation, bitmap);
  // The record's bbox is [x, y, max x − min x, max y − min y]; scan only that window.
  const bx0 = clampInt(r.bbox[0], 0, W - 1);
  const by0 = clampInt(r.bbox[1], 0, H - 1);
  const bx1 = clampInt(r.bbox[0] + r.bbox[2], 0, W - 1);
  const by1 = clampInt(r.bbox[1] + r.bbox[3], 0, H - 1);
  const half = Math.floor((lw - 1) / 2);
  for (let y = by0; y <= by1; y++) {
    for (let x = bx0; x <= bx1; x++) {
      const i = y * W + x;
      if (!m[i]) continue;
      const edge = x === 0 || y === 0 || x === W - 1 || y === H - 1 || !m[i - 1] || !m[i + 1] || !m[i - W] || !m[i + W];
      if (edge) paint(out, W, H, x - half, y - half, lw, c);
    }
  }
}

/** The record's box as a solid `lw`-wide rectangle (corners inclusive, the record convention). */
function drawBox(out: Uint8Array, W: number, H: number, r: MaskRecord, c: [number, number, number], lw: number): void {
  if (r.area <= 0) return;
  const [x, y, w, h] = r.bbox.map((v) => Math.round(v));
  for (let t = 0; t < lw; t++) {
    for (let xx = x; xx <= x + w; xx++) {
      paint(out, W, H, xx, y + t, 1, c);
      paint(out, W, H, xx, y + h - t, 1, c);
    }
    for (let yy = y; yy <= y + h; yy++) {
      paint(out, W, H, x + t, yy, 1, c);
      paint(out, W, H, x + w - t, yy, 1, c);
    }
  }
}

/** The prompt point as a disc in the mask's colour inside a white ring. */
function drawPoint(out: Uint8Array, W: number, H: number, r: MaskRecord, c: [number, number, number], lw: number): void {
  const cx = Math.round(r.pointCoords[0]);
  const cy = Math.round(r.pointCoords[1]);
  const outer = 2 + 2 * lw;
  const inner = outer - Math.max(1, lw);
  for (let dy = -outer; dy <= outer; dy++) {
    for (let dx = -outer; dx <= outer; dx++) {
      const d2 = dx * dx + dy * dy;
      if (d2 > outer * outer) continue;
      paint(out, W, H, cx + dx, cy + dy, 1, d2 <= inner * inner ? c : [255, 255, 255]);
    }
  }
}

/**
 * `text` centred on `point` (moved inside the image when it would stick out) in a tag that reads on any
 * background: a black frame around the mask's colour, digits in black or white, whichever contrasts more.
 */
function drawLabel(
  out: Uint8Array,
  W: number,
  H: number,
  point: [number, number],
  text: string,
  c: [number, number, number],
  s: number,
): void {
  // Frame s, padding s, text, padding s, frame s.
  const bw = textWidth(text, s) + 4 * s;
  const bh = GLYPH_H * s + 4 * s;
  const x0 = Math.max(0, Math.min(W - bw, Math.round(point[0]) - Math.floor(bw / 2)));
  const y0 = Math.max(0, Math.min(H - bh, Math.round(point[1]) - Math.floor(bh / 2)));
  const ink: [number, number, number] = c[0] * 299 + c[1] * 587 + c[2] * 114 > 150_000 ? [0, 0, 0] : [255, 255, 255];
  fillRect(out, W, H, x0, y0, bw, bh, [0, 0, 0]);
  fillRect(out, W, H, x0 + s, y0 + s, bw - 2 * s, bh - 2 * s, c);
  drawText(out, W, H, x0 + 2 * s, y0 + 2 * s, text, s, ink);
}

function clampInt(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Math.round(v)));
}
