/**
 * Overlays (`--overlay DIR`): one PNG per image showing its masks over the photo, the way SAM's notebooks show
 * automatic masks — every mask filled with its own colour at partial opacity, largest first so that small masks
 * stay visible on top — with optional outlines, bounding boxes and prompt points (`--overlay-style`).
 *
 * Deterministic: a mask's colour depends only on its position in the record list, blending is integer
 * arithmetic, and sharp's PNG encoder is given fixed settings, so the same result gives the same bytes.
 */
import sharp from 'sharp';
import type { MaskRecord, RgbImage } from '../amg/types.js';
import { decodeToRowMajor } from '../rle/rle.js';
import { sa1bPathFor } from './sa1b.js';

/** What an overlay draws. */
export interface OverlayStyle {
  fill: boolean;
  outline: boolean;
  box: boolean;
  points: boolean;
  /** Opacity of the fill, 0..1. */
  alpha: number;
}

/** `fill,outline` at 45 % opacity. */
export const DEFAULT_OVERLAY_STYLE: Readonly<OverlayStyle> = { fill: true, outline: true, box: false, points: false, alpha: 0.45 };

const STYLE_WORDS = ['fill', 'outline', 'box', 'points'] as const;

/**
 * Parses `--overlay-style`: a comma-separated list of `fill`, `outline`, `box`, `points` and `alpha=X`
 * (0 < X ≤ 1). The words given replace the default set; `alpha=` alone keeps it. Throws with the offending token.
 */
export function parseOverlayStyle(text: string): OverlayStyle {
  const tokens = text.split(',').map((t) => t.trim()).filter((t) => t !== '');
  if (tokens.length === 0) throw new Error('--overlay-style: empty; use e.g. fill,outline,box,points,alpha=0.5');
  let alpha = DEFAULT_OVERLAY_STYLE.alpha;
  const words = new Set<string>();
  for (const t of tokens) {
    const m = /^alpha=(.+)$/u.exec(t);
    if (m) {
      const a = Number(m[1]);
      if (!(a > 0 && a <= 1)) throw new Error(`--overlay-style: alpha must be in (0, 1], got '${m[1]}'`);
      alpha = a;
    } else if ((STYLE_WORDS as readonly string[]).includes(t)) {
      words.add(t);
    } else {
      throw new Error(`--overlay-style: unknown item '${t}' (expected ${STYLE_WORDS.join(', ')} or alpha=X)`);
    }
  }
  if (words.size === 0) return { ...DEFAULT_OVERLAY_STYLE, alpha };
  return { fill: words.has('fill'), outline: words.has('outline'), box: words.has('box'), points: words.has('points'), alpha };
}

/** `DIR/<relPath without its extension>.png`; refuses names that would leave DIR, as sa1bPathFor does. */
export function overlayPathFor(dir: string, relPath: string): string {
  return `${sa1bPathFor(dir, relPath).slice(0, -'.json'.length)}.png`;
}

/**
 * The colour of mask `i`: hues spaced by the golden angle (neighbouring indices never look alike), fully
 * saturated and bright, as 8-bit RGB.
 */
export function maskColour(i: number): [number, number, number] {
  const h = (((i * 0.6180339887498949 + 0.12) % 1) + 1) % 1;
  return hsvToRgb(h, 0.85, 1);
}

function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const i = Math.floor(h * 6);
  const f = h * 6 - i;
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  const [r, g, b] = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ][i % 6];
  return [Math.round(r * 255), Math.round(g * 255), Math.round(b * 255)];
}

/** Line width in pixels for an image: 1 up to 800 px on the short side, growing slowly beyond. */
export function lineWidth(width: number, height: number): number {
  return Math.max(1, Math.round(Math.min(width, height) / 800));
}

/**
 * Draws the overlay into a copy of the image's RGB bytes and returns it (row-major, 3 bytes per pixel).
 * Throws when a mask's size is not the image's.
 */
export function renderOverlay(image: RgbImage, records: MaskRecord[], style: OverlayStyle = DEFAULT_OVERLAY_STYLE): Uint8Array {
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
  const lw = lineWidth(W, H);
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
  return out;
}

/** The overlay as PNG bytes. */
export async function overlayPng(image: RgbImage, records: MaskRecord[], style: OverlayStyle = DEFAULT_OVERLAY_STYLE): Promise<Buffer> {
  const rgb = renderOverlay(image, records, style);
  return sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength), {
    raw: { width: image.width, height: image.height, channels: 3 },
  })
    .png({ compressionLevel: 6, adaptiveFiltering: false, palette: false })
    .toBuffer();
}

/** Blends the mask's pixels towards `c`, walking the column-major runs directly (no full-size bitmap). */
function fillRle(out: Uint8Array, r: MaskRecord, c: [number, number, number], a256: number): void {
  const { h, w, counts } = r.segmentation;
  const keep = 256 - a256;
  const cr = c[0] * a256 + 128;
  const cg = c[1] * a256 + 128;
  const cb = c[2] * a256 + 128;
  let pos = 0;
  for (let k = 0; k < counts.length; k++) {
    const end = pos + counts[k];
    if (k & 1) {
      let p = pos;
      while (p < end) {
        const x = Math.floor(p / h);
        const y0 = p - x * h;
        const y1 = Math.min(h, y0 + (end - p));
        for (let y = y0; y < y1; y++) {
          const o = (y * w + x) * 3;
          out[o] = (out[o] * keep + cr) >> 8;
          out[o + 1] = (out[o + 1] * keep + cg) >> 8;
          out[o + 2] = (out[o + 2] * keep + cb) >> 8;
        }
        p += y1 - y0;
      }
    }
    pos = end;
  }
}

function paint(out: Uint8Array, W: number, H: number, x0: number, y0: number, size: number, c: [number, number, number]): void {
  const xa = Math.max(0, x0);
  const ya = Math.max(0, y0);
  const xb = Math.min(W, x0 + size);
  const yb = Math.min(H, y0 + size);
  for (let y = ya; y < yb; y++) {
    for (let x = xa; x < xb; x++) {
      const o = (y * W + x) * 3;
      out[o] = c[0];
      out[o + 1] = c[1];
      out[o + 2] = c[2];
    }
  }
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

function clampInt(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Math.round(v)));
}
