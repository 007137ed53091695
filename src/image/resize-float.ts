/**
 * Antialiased bilinear resize of float images, imitating torchvision's `Resize(antialias=True)` on float32
 * tensors (PyTorch's separable `_upsample_bilinear2d_aa`), as SAM 2's own image transform uses it.
 */

/** Per-axis table: output i reads source [start[i], start[i] + count[i]) with `ksize` weights per output. */
interface FloatAxis {
  start: Int32Array;
  count: Int32Array;
  weights: Float32Array;
  ksize: number;
}

const f32 = Math.fround;

/**
 * PyTorch's `_compute_weights_aa` for the bilinear (triangle) filter with scalar_t = float: every quantity
 * PyTorch keeps in a float variable is rounded to float32 here, so the weights match it bit for bit.
 * Same rules as Pillow: support = max(scale, 1), centre (i + 0.5)·scale, xmin = trunc(centre − support + 0.5).
 */
function floatAxis(inSize: number, outSize: number): FloatAxis {
  const scale = f32(inSize / outSize);
  const support = scale >= 1 ? scale : 1;
  const invscale = scale >= 1 ? f32(1 / scale) : 1;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * ksize);
  for (let i = 0; i < outSize; i++) {
    const center = f32(scale * (i + 0.5));
    const xmin = Math.max(Math.trunc(f32(center - support) + 0.5), 0);
    const n = Math.min(Math.trunc(f32(center + support) + 0.5), inSize) - xmin;
    const base = i * ksize;
    let total = 0;
    for (let j = 0; j < n; j++) {
      const x = Math.abs(f32((f32(j + xmin - center) + 0.5) * invscale));
      const w = x < 1 ? f32(1 - x) : 0;
      weights[base + j] = w;
      total = f32(total + w);
    }
    if (total !== 0) for (let j = 0; j < n; j++) weights[base + j] = f32(weights[base + j] / total);
    start[i] = xmin;
    count[i] = n;
  }
  return { start, count, weights, ksize };
}

/** Resample every row of every plane along x. */
function horizontal(src: Float32Array, planes: number, srcW: number, dstW: number, a: FloatAxis): Float32Array {
  const out = new Float32Array(planes * dstW);
  const { start, count, weights, ksize } = a;
  for (let r = 0; r < planes; r++) {
    const rowBase = r * srcW;
    const outBase = r * dstW;
    for (let x = 0; x < dstW; x++) {
      const kBase = x * ksize;
      const pBase = rowBase + start[x];
      const n = count[x];
      let sum = 0;
      for (let j = 0; j < n; j++) sum += src[pBase + j] * weights[kBase + j];
      out[outBase + x] = sum;
    }
  }
  return out;
}

/** Resample each channel along y, accumulating whole rows so memory is read sequentially. */
function vertical(
  src: Float32Array, channels: number, width: number, srcH: number, dstH: number, a: FloatAxis,
): Float32Array {
  const out = new Float32Array(channels * dstH * width);
  const acc = new Float64Array(width);
  const { start, count, weights, ksize } = a;
  for (let c = 0; c < channels; c++) {
    const planeIn = c * srcH * width;
    const planeOut = c * dstH * width;
    for (let y = 0; y < dstH; y++) {
      acc.fill(0);
      const kBase = y * ksize;
      const n = count[y];
      for (let j = 0; j < n; j++) {
        const w = weights[kBase + j];
        const rowBase = planeIn + (start[y] + j) * width;
        for (let x = 0; x < width; x++) acc[x] += src[rowBase + x] * w;
      }
      out.set(acc, planeOut + y * width);
    }
  }
  return out;
}

/**
 * Antialiased bilinear resize of a planar (CHW) float image, horizontal pass first, no rounding between passes.
 * Weights are float32 exactly as PyTorch computes them; each output sample is accumulated in float64 and rounded
 * once to float32 (PyTorch accumulates in float32, so results may differ from it by an ulp or so).
 * An axis whose size does not change is not resampled (its weights would be the identity anyway).
 */
export function resizeAntialiasFloat(
  src: Float32Array, channels: number, srcW: number, srcH: number, dstW: number, dstH: number,
): Float32Array {
  if (srcW <= 0 || srcH <= 0 || dstW <= 0 || dstH <= 0) throw new RangeError('resize: sizes must be positive');
  if (src.length < channels * srcW * srcH) throw new RangeError('resize: source buffer too small');
  let cur = src;
  if (dstW !== srcW) cur = horizontal(cur, channels * srcH, srcW, dstW, floatAxis(srcW, dstW));
  if (dstH !== srcH) cur = vertical(cur, channels, dstW, srcH, dstH, floatAxis(srcH, dstH));
  return cur === src ? src.slice(0, channels * srcW * srcH) : cur;
}
