/**
 * RgbImage → encoder `pixel_values` (1×3×S×S NCHW float32), following the model folder's preprocessor config.
 */
import type { RgbImage } from '../base/types.js';
import type { PreprocessSpec } from './preprocess-config.js';
import { resizeAntialiasFloat } from './resize-float.js';
import { longestEdgeSize, resizeBilinearPillow } from './resize-pillow.js';

export { parsePreprocessorConfig, type PreprocessSpec } from './preprocess-config.js';

/** Encoder input plus the geometry needed to map prompts and masks between frames. */
export interface Preprocessed {
  /** 1×3×S×S NCHW, S = spec.padSize. */
  pixels: Float32Array;
  /** Size of the resized image inside the tensor (before padding). */
  resizedW: number;
  resizedH: number;
  /** Prompt scale from image pixels to the resized frame: resizedW / width, resizedH / height. */
  scaleX: number;
  scaleY: number;
}

const f32 = Math.fround;

/**
 * 8-bit value → normalised float, per channel. With the usual 1/255 rescale this is the SAM container's own float32
 * arithmetic, f32(f32(v − f32(255·mean)) / f32(255·std)), which the reference generator runs; other rescales are
 * computed in float64 and rounded once.
 */
function channelLuts(spec: PreprocessSpec): Float32Array[] {
  const k = spec.doRescale ? spec.rescale : 1;
  const by255 = spec.doRescale && Math.abs(spec.rescale - 1 / 255) < 1e-12;
  return [0, 1, 2].map((c) => {
    const lut = new Float32Array(256);
    const mean255 = f32(spec.mean[c] * 255);
    const std255 = f32(spec.std[c] * 255);
    for (let v = 0; v < 256; v++) {
      if (!spec.doNormalize) lut[v] = v * k;
      else if (by255) lut[v] = f32(f32(v - mean255) / std255);
      else lut[v] = (v * k - spec.mean[c]) / spec.std[c];
    }
    return lut;
  });
}

/**
 * An image too thin for the model: resizing its longest side to the model's input size rounds the other side to
 * zero pixels. The reference implementation fails on such images too (its resize to a zero size raises).
 */
export class DegenerateImageError extends RangeError {
  override name = 'DegenerateImageError';
}

/** Resize the longest edge with Pillow's exact bilinear filter, normalise, pad bottom/right with zeros. */
function longestEdgePad(img: RgbImage, spec: PreprocessSpec, out: Float32Array): Preprocessed {
  const { width: rw, height: rh } = longestEdgeSize(img.width, img.height, spec.size);
  if (rw === 0 || rh === 0) {
    const [short, long] = img.width < img.height ? [img.width, img.height] : [img.height, img.width];
    throw new DegenerateImageError(
      `image is ${img.width}x${img.height}: resizing its longest side to the model's ${spec.size} pixels makes the other side ` +
        `round(${short} × ${spec.size} / ${long}) = 0 pixels; the reference implementation fails on such images too`,
    );
  }
  const rgb = rw === img.width && rh === img.height
    ? img.data
    : resizeBilinearPillow(img.data, img.width, img.height, rw, rh, 3);
  const S = spec.padSize;
  const plane = S * S;
  out.fill(0);
  const [l0, l1, l2] = channelLuts(spec);
  for (let y = 0; y < rh; y++) {
    let p = y * rw * 3;
    let o = y * S;
    for (let x = 0; x < rw; x++, p += 3, o++) {
      out[o] = l0[rgb[p]];
      out[o + plane] = l1[rgb[p + 1]];
      out[o + 2 * plane] = l2[rgb[p + 2]];
    }
  }
  return { pixels: out, resizedW: rw, resizedH: rh, scaleX: rw / img.width, scaleY: rh / img.height };
}

/**
 * SAM 2's own transform in float32, as torchvision computes it: ToTensor (v / 255), antialiased bilinear
 * Resize to size×size, Normalize ((x − mean) / std with float32 mean and std).
 */
function square(img: RgbImage, spec: PreprocessSpec, out: Float32Array): Preprocessed {
  const { width: w, height: h, data } = img;
  const n = w * h;
  // ToTensor divides by 255 in float32; a generic factor multiplies instead.
  const byDivision = spec.doRescale && Math.abs(spec.rescale - 1 / 255) < 1e-12;
  const factor = spec.doRescale ? spec.rescale : 1;
  const planar = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) {
    const lut = new Float32Array(256);
    for (let v = 0; v < 256; v++) lut[v] = byDivision ? v / 255 : v * factor;
    const base = c * n;
    for (let i = 0, p = c; i < n; i++, p += 3) planar[base + i] = lut[data[p]];
  }
  const S = spec.size;
  const resized = resizeAntialiasFloat(planar, 3, w, h, S, S);
  const plane = S * S;
  for (let c = 0; c < 3; c++) {
    const base = c * plane;
    if (!spec.doNormalize) {
      out.set(resized.subarray(base, base + plane), base);
      continue;
    }
    const m = f32(spec.mean[c]);
    const s = f32(spec.std[c]);
    for (let i = base; i < base + plane; i++) out[i] = f32(resized[i] - m) / s;
  }
  return { pixels: out, resizedW: S, resizedH: S, scaleX: S / w, scaleY: S / h };
}

/**
 * Turn an image into the encoder input described by `spec`.
 * @param out optional reusable buffer of 3·padSize² floats (overwritten, padding included).
 */
export function preprocess(img: RgbImage, spec: PreprocessSpec, out?: Float32Array): Preprocessed {
  if (img.width <= 0 || img.height <= 0) throw new RangeError('preprocess: empty image');
  const len = 3 * spec.padSize * spec.padSize;
  if (out !== undefined && out.length !== len) {
    throw new RangeError(`preprocess: output buffer has ${out.length} floats, expected ${len}`);
  }
  const target = out ?? new Float32Array(len);
  return spec.mode === 'square' ? square(img, spec, target) : longestEdgePad(img, spec, target);
}

/** Copy of the sub-rectangle [x0, x1) × [y0, y1) of an image. */
export function cropImage(img: RgbImage, x0: number, y0: number, x1: number, y1: number): RgbImage {
  if (!(Number.isInteger(x0) && Number.isInteger(y0) && Number.isInteger(x1) && Number.isInteger(y1))
    || x0 < 0 || y0 < 0 || x1 > img.width || y1 > img.height || x1 <= x0 || y1 <= y0) {
    throw new RangeError(`cropImage: box [${x0}, ${y0}, ${x1}, ${y1}) is not inside ${img.width}x${img.height}`);
  }
  const w = x1 - x0;
  const h = y1 - y0;
  const data = new Uint8Array(w * h * 3);
  const rowBytes = w * 3;
  for (let y = 0; y < h; y++) {
    const from = ((y0 + y) * img.width + x0) * 3;
    data.set(img.data.subarray(from, from + rowBytes), y * rowBytes);
  }
  return { data, width: w, height: h };
}
