/**
 * Bit-exact reimplementation of Pillow's bilinear resize of 8-bit images (Resample.c, Pillow 9.x),
 * so the encoder input equals what the reference and the Hugging Face processor feed their models.
 */

/** Fractional bits of Pillow's fixed-point weights: 32 − 8 − 2. */
const PRECISION_BITS = 22;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

/** Per-axis resampling table: output index i reads source samples [start[i], start[i] + count[i]). */
interface AxisCoeffs {
  start: Int32Array;
  count: Int32Array;
  /** Fixed-point weights, `ksize` slots per output index. */
  weights: Int32Array;
  ksize: number;
}

/** Pillow's triangle filter (support 1). */
function triangle(x: number): number {
  const a = x < 0 ? -x : x;
  return a < 1 ? 1 - a : 0;
}

/**
 * Pillow's precompute_coeffs + normalize_coeffs_8bpc for the bilinear filter, in float64 like the C code.
 * `ss = 1 / filterscale` is multiplied (not divided) exactly as Pillow does, which matters in the last bit.
 */
function axisCoeffs(inSize: number, outSize: number): AxisCoeffs {
  const scale = inSize / outSize;
  const filterscale = scale < 1 ? 1 : scale;
  const support = 1 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const ss = 1 / filterscale;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const pre = new Float64Array(ksize);
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    // C casts with (int), i.e. truncation toward zero.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    const n = xmax - xmin;
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const w = triangle((j + xmin - center + 0.5) * ss);
      pre[j] = w;
      sum += w;
    }
    const base = i * ksize;
    for (let j = 0; j < n; j++) {
      const w = sum !== 0 ? pre[j] / sum : pre[j];
      weights[base + j] = Math.trunc(w < 0 ? w * ONE - 0.5 : w * ONE + 0.5);
    }
    start[i] = xmin;
    count[i] = n;
  }
  return { start, count, weights, ksize };
}

/** Pillow's clip8: (sum >> 22) clamped to a byte; sums stay below 2^31 for 8-bit inputs. */
function clip8(sum: number): number {
  if (sum <= 0) return 0;
  if (sum >= ONE * 256) return 255;
  return sum >> PRECISION_BITS;
}

/** Horizontal pass over source rows [y0, y0 + rows) into a rows × dstW image. */
function resampleHorizontal(
  src: Uint8Array, srcW: number, y0: number, rows: number, dstW: number, channels: number, c: AxisCoeffs,
): Uint8Array {
  const out = new Uint8Array(rows * dstW * channels);
  const { start, count, weights, ksize } = c;
  const srcStride = srcW * channels;
  for (let y = 0; y < rows; y++) {
    const rowBase = (y0 + y) * srcStride;
    let o = y * dstW * channels;
    if (channels === 3) {
      // RGB is the hot case: one pass over the taps feeds all three sums.
      for (let x = 0; x < dstW; x++, o += 3) {
        const kBase = x * ksize;
        const n = count[x];
        let s0 = HALF;
        let s1 = HALF;
        let s2 = HALF;
        for (let j = 0, p = rowBase + start[x] * 3; j < n; j++, p += 3) {
          const w = weights[kBase + j];
          s0 += src[p] * w;
          s1 += src[p + 1] * w;
          s2 += src[p + 2] * w;
        }
        out[o] = clip8(s0);
        out[o + 1] = clip8(s1);
        out[o + 2] = clip8(s2);
      }
      continue;
    }
    for (let x = 0; x < dstW; x++, o += channels) {
      const kBase = x * ksize;
      const n = count[x];
      const pBase = rowBase + start[x] * channels;
      for (let ch = 0; ch < channels; ch++) {
        let sum = HALF;
        for (let j = 0, p = pBase + ch; j < n; j++, p += channels) sum += src[p] * weights[kBase + j];
        out[o + ch] = clip8(sum);
      }
    }
  }
  return out;
}

/** Vertical pass; `c.start` is relative to row `y0` of `src`. Whole rows are accumulated for sequential reads. */
function resampleVertical(
  src: Uint8Array, width: number, y0: number, dstH: number, channels: number, c: AxisCoeffs,
): Uint8Array {
  const stride = width * channels;
  const out = new Uint8Array(dstH * stride);
  // Sums stay below 2^31 (255 · 2^22 plus rounding), so int32 accumulators are exact.
  const acc = new Int32Array(stride);
  const { start, count, weights, ksize } = c;
  for (let y = 0; y < dstH; y++) {
    const kBase = y * ksize;
    const n = count[y];
    const rowBase = (start[y] - y0) * stride;
    acc.fill(HALF);
    for (let j = 0; j < n; j++) {
      const w = weights[kBase + j];
      const r = rowBase + j * stride;
      for (let k = 0; k < stride; k++) acc[k] += src[r + k] * w;
    }
    const outBase = y * stride;
    for (let k = 0; k < stride; k++) out[outBase + k] = clip8(acc[k]);
  }
  return out;
}

/**
 * Pillow's `Image.resize(size, BILINEAR)` of an interleaved 8-bit image, bit for bit.
 * Horizontal pass first over only the source rows the vertical pass reads; an unchanged axis is not resampled.
 */
export function resizeBilinearPillow(
  src: Uint8Array, srcW: number, srcH: number, dstW: number, dstH: number, channels = 3,
): Uint8Array {
  if (srcW <= 0 || srcH <= 0 || dstW <= 0 || dstH <= 0) throw new RangeError('resize: sizes must be positive');
  if (src.length < srcW * srcH * channels) throw new RangeError('resize: source buffer too small');
  const needH = dstW !== srcW;
  const needV = dstH !== srcH;
  if (!needH && !needV) return src.slice(0, srcW * srcH * channels);
  const vert = needV ? axisCoeffs(srcH, dstH) : null;
  // Rows the vertical pass touches: from the first output's first source row to the last output's last.
  const y0 = vert ? vert.start[0] : 0;
  const y1 = vert ? vert.start[dstH - 1] + vert.count[dstH - 1] : srcH;
  let mid: Uint8Array = src;
  let midY0 = 0;
  if (needH) {
    mid = resampleHorizontal(src, srcW, y0, y1 - y0, dstW, channels, axisCoeffs(srcW, dstW));
    midY0 = y0;
  }
  if (!vert) return mid;
  return resampleVertical(mid, dstW, midY0, dstH, channels, vert);
}

/**
 * Size after scaling the longest edge to `longest`: (int(w·s + 0.5), int(h·s + 0.5)), s = longest / max(w, h),
 * in float64 as the reference's ResizeLongestSide computes it.
 */
export function longestEdgeSize(w: number, h: number, longest = 1024): { width: number; height: number } {
  const s = longest / Math.max(h, w);
  return { width: Math.trunc(w * s + 0.5), height: Math.trunc(h * s + 0.5) };
}
