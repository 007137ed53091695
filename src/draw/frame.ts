/**
 * The pixel frame that masks are drawn into: RGBA bytes with straight (not premultiplied) alpha, as a canvas's
 * ImageData holds them, showing a window of the image in which each frame pixel covers scale×scale image pixels.
 * Browser-safe: no Node built-ins, no DOM types, so overlays (Node) and the pages (browser) draw with the same code.
 */

/** 8-bit RGB. */
export type Rgb = readonly [number, number, number];

/** Where a frame lies on the image. */
export interface FrameGeometry {
  /** Frame width in frame pixels. */
  width: number;
  /** Frame height in frame pixels. */
  height: number;
  /** The image column at the frame's left edge (default 0). */
  x0?: number;
  /** The image row at the frame's top edge (default 0). */
  y0?: number;
  /** Image pixels per frame pixel along each axis, a positive integer (default 1: one frame pixel per image pixel). */
  scale?: number;
}

/** A frame with its pixels: width × height × 4 bytes, row-major RGBA, straight alpha. */
export interface Frame extends FrameGeometry {
  data: Uint8Array | Uint8ClampedArray;
}

/** A frame's geometry with its defaults filled in and checked. */
export interface Placement {
  width: number;
  height: number;
  x0: number;
  y0: number;
  scale: number;
}

/** Fills in and checks a frame's geometry (and, for a frame with pixels, that it has them all); throws RangeError. */
export function placement(g: FrameGeometry | Frame): Placement {
  const { width, height } = g;
  const x0 = g.x0 ?? 0;
  const y0 = g.y0 ?? 0;
  const scale = g.scale ?? 1;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
    throw new RangeError(`frame: size must be non-negative integers, got ${width}x${height}`);
  }
  if (!Number.isInteger(x0) || !Number.isInteger(y0)) throw new RangeError(`frame: origin must be integers, got (${x0}, ${y0})`);
  if (!Number.isInteger(scale) || scale < 1) throw new RangeError(`frame: scale must be a positive integer, got ${scale}`);
  if ('data' in g && g.data.length < width * height * 4) {
    throw new RangeError(`frame: ${g.data.length} bytes for ${width}x${height} RGBA pixels, need ${width * height * 4}`);
  }
  return { width, height, x0, y0, scale };
}

/** The frame size that shows a whole W×H image at `scale` (a partial block at the right or bottom edge is a pixel). */
export function frameSize(width: number, height: number, scale = 1): { width: number; height: number } {
  return { width: Math.ceil(width / scale), height: Math.ceil(height / scale) };
}

/** The smallest downsample factor that keeps a W×H image's frame within `maxSide` frame pixels on each side. */
export function scaleToFit(width: number, height: number, maxSide: number): number {
  return Math.max(1, Math.ceil(Math.max(width, height) / maxSide));
}

/** Opacity 0..1 as the blend's integer weight 0..256 (the fill of `--overlay` has always used 256ths). */
export function alpha256(alpha: number): number {
  return Math.min(256, Math.max(0, Math.round(alpha * 256)));
}

/**
 * Blends colour (r, g, b) at opacity a/256 over the pixel at byte offset `o` ("source over", straight alpha), all
 * in integers, rounding half up. Over an opaque pixel this is `(d·(256−a) + c·a + 128) >> 8` per channel, the
 * `--overlay` fill's formula; over a transparent one it writes the colour with alpha round(a·255/256). Both are
 * cases of the one formula below, written out because they are nearly all the pixels.
 */
export function blendPixel(px: Uint8Array | Uint8ClampedArray, o: number, r: number, g: number, b: number, a: number): void {
  const da = px[o + 3];
  if (da === 255) {
    const keep = 256 - a;
    px[o] = (px[o] * keep + r * a + 128) >> 8;
    px[o + 1] = (px[o + 1] * keep + g * a + 128) >> 8;
    px[o + 2] = (px[o + 2] * keep + b * a + 128) >> 8;
    return;
  }
  if (da === 0) {
    if (a === 0) return;
    px[o] = r;
    px[o + 1] = g;
    px[o + 2] = b;
    px[o + 3] = (a * 255 + 128) >> 8;
    return;
  }
  // 256 × the result's alpha (in 0..255); the colours are weighted by what each side contributes to it.
  const keep = da * (256 - a);
  const den = a * 255 + keep;
  const half = den >> 1;
  px[o] = Math.floor((r * a * 255 + px[o] * keep + half) / den);
  px[o + 1] = Math.floor((g * a * 255 + px[o + 1] * keep + half) / den);
  px[o + 2] = Math.floor((b * a * 255 + px[o + 2] * keep + half) / den);
  px[o + 3] = (den + 128) >> 8;
}

/** An opaque w×h rectangle of colour `c` at frame pixel (x, y), clipped to the frame. */
export function fillRect(frame: Frame, x: number, y: number, w: number, h: number, c: Rgb): void {
  const W = frame.width;
  const px = frame.data;
  const xa = Math.max(0, x);
  const ya = Math.max(0, y);
  const xb = Math.min(W, x + w);
  const yb = Math.min(frame.height, y + h);
  for (let yy = ya; yy < yb; yy++) {
    for (let o = (yy * W + xa) * 4, end = (yy * W + xb) * 4; o < end; o += 4) {
      px[o] = c[0];
      px[o + 1] = c[1];
      px[o + 2] = c[2];
      px[o + 3] = 255;
    }
  }
}

/** Whether this machine stores the low byte of a 32-bit word first (every platform Node and browsers run on). */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** An opaque RGBA copy of row-major RGB pixels (an image to draw an overlay on). */
export function rgbToRgba(rgb: Uint8Array, width: number, height: number): Uint8Array {
  const n = width * height;
  if (rgb.length < n * 3) throw new RangeError(`rgbToRgba: ${rgb.length} bytes for ${width}x${height} RGB pixels`);
  const out = new Uint8Array(n * 4);
  if (LITTLE_ENDIAN) {
    // One 32-bit store per pixel: a quarter of the writes.
    const words = new Uint32Array(out.buffer, 0, n);
    for (let i = 0, s = 0; i < n; i++, s += 3) words[i] = (rgb[s] | (rgb[s + 1] << 8) | (rgb[s + 2] << 16) | 0xff000000) >>> 0;
    return out;
  }
  for (let i = 0, s = 0, d = 0; i < n; i++, s += 3, d += 4) {
    out[d] = rgb[s];
    out[d + 1] = rgb[s + 1];
    out[d + 2] = rgb[s + 2];
    out[d + 3] = 255;
  }
  return out;
}

/** The RGB bytes of RGBA pixels, alpha dropped (an overlay's frame is opaque throughout). */
export function rgbaToRgb(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number): Uint8Array {
  const n = width * height;
  if (rgba.length < n * 4) throw new RangeError(`rgbaToRgb: ${rgba.length} bytes for ${width}x${height} RGBA pixels`);
  const out = new Uint8Array(n * 3);
  for (let i = 0, s = 0, d = 0; i < n; i++, s += 4, d += 3) {
    out[d] = rgba[s];
    out[d + 1] = rgba[s + 1];
    out[d + 2] = rgba[s + 2];
  }
  return out;
}
