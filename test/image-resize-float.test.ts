import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../src/node/decode.js';
import { resizeAntialiasFloat } from '../src/image/resize-float.js';
import { xorshiftFloats } from './helpers/image-rng.js';

/** One output sample's source span and normalised weights. */
interface Span { start: number; w: Float64Array }

/** Antialiased-bilinear weights of one axis in float64 (Pillow's / PyTorch's rule), straight from the definition. */
function referenceWeights(inSize: number, outSize: number): Span[] {
  const scale = inSize / outSize;
  const support = Math.max(scale, 1);
  const spans: Span[] = [];
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize);
    const w = new Float64Array(xmax - xmin);
    let total = 0;
    for (let j = xmin; j < xmax; j++) {
      w[j - xmin] = Math.max(0, 1 - Math.abs((j - center + 0.5) / support));
      total += w[j - xmin];
    }
    if (total !== 0) for (let k = 0; k < w.length; k++) w[k] /= total;
    spans.push({ start: xmin, w });
  }
  return spans;
}

/** Direct 2-D formula per output sample: Σ_i Σ_j wy[y][i] · wx[x][j] · src[c][i][j], in float64. */
function referenceResize(
  src: Float32Array, channels: number, srcW: number, srcH: number, dstW: number, dstH: number,
): Float64Array {
  const wx = referenceWeights(srcW, dstW);
  const wy = referenceWeights(srcH, dstH);
  const out = new Float64Array(channels * dstW * dstH);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < dstH; y++) {
      const sy = wy[y];
      for (let x = 0; x < dstW; x++) {
        const sx = wx[x];
        let sum = 0;
        for (let i = 0; i < sy.w.length; i++) {
          const rowBase = (c * srcH + sy.start + i) * srcW + sx.start;
          for (let j = 0; j < sx.w.length; j++) sum += sy.w[i] * sx.w[j] * src[rowBase + j];
        }
        out[(c * dstH + y) * dstW + x] = sum;
      }
    }
  }
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float64Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('resizeAntialiasFloat against the direct 2-D formula', () => {
  const cases: [number, number, number, number, number][] = [
    // channels, srcW, srcH, dstW, dstH
    [3, 37, 23, 16, 16], // shrink, non-square → square
    [3, 40, 30, 13, 7], // shrink by non-integer factors
    [1, 9, 5, 31, 17], // enlarge
    [2, 20, 7, 6, 19], // shrink x, enlarge y
    [3, 16, 16, 16, 5], // unchanged width
    [3, 11, 13, 4, 13], // unchanged height
    [3, 1, 1, 5, 3], // from a single pixel
    [3, 64, 48, 64, 48], // identity
  ];
  for (const [ch, sw, sh, dw, dh] of cases) {
    it(`${ch}×${sw}×${sh} → ${dw}×${dh}`, () => {
      const src = xorshiftFloats(sw * 1000 + sh, ch * sw * sh);
      const got = resizeAntialiasFloat(src, ch, sw, sh, dw, dh);
      expect(got.length).toBe(ch * dw * dh);
      expect(maxAbsDiff(got, referenceResize(src, ch, sw, sh, dw, dh))).toBeLessThanOrEqual(1e-5);
    });
  }

  it('keeps a flat image flat and copies an identity resize', () => {
    const flat = new Float32Array(3 * 50 * 30).fill(0.25);
    for (const v of resizeAntialiasFloat(flat, 3, 50, 30, 17, 40)) expect(Math.abs(v - 0.25)).toBeLessThan(1e-7);
    const src = xorshiftFloats(3, 12);
    const same = resizeAntialiasFloat(src, 3, 2, 2, 2, 2);
    expect(same).toEqual(src);
    expect(same).not.toBe(src);
  });

  it('matches on the shared dog photo (800×534) stretched to 1024×1024 and shrunk to 256×171', async () => {
    const img = await decodeImage(fileURLToPath(new URL('../../shared/images/dog.jpg', import.meta.url)));
    const { width: w, height: h } = img;
    expect([w, h]).toEqual([800, 534]);
    const n = w * h;
    const planar = new Float32Array(3 * n);
    for (let c = 0; c < 3; c++) for (let i = 0; i < n; i++) planar[c * n + i] = img.data[i * 3 + c] / 255;
    for (const [dw, dh] of [[1024, 1024], [256, 171]]) {
      const got = resizeAntialiasFloat(planar, 3, w, h, dw, dh);
      expect(maxAbsDiff(got, referenceResize(planar, 3, w, h, dw, dh))).toBeLessThanOrEqual(1e-5);
    }
  });
});
