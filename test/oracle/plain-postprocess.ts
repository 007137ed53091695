/**
 * The plain post-processing, kept as the oracle for the fast path: upscale every logit to full resolution with the
 * reference's two bilinear resizes (float32 steps as torch computes them), then count and threshold pixel by pixel.
 */
import { bilinearAxis, lerp2 } from '../../src/mask/upscale.js';
import type { LogitGeometry } from '../../src/base/types.js';

/** Bilinear resize of a row-major float image (align_corners = false), float32 arithmetic. */
export function resizeBilinear(src: Float32Array, inW: number, inH: number, outW: number, outH: number): Float32Array {
  const ax = bilinearAxis(inW, outW);
  const ay = bilinearAxis(inH, outH);
  const out = new Float32Array(outW * outH);
  for (let y = 0; y < outH; y++) {
    const r0 = ay.i0[y] * inW;
    const r1 = ay.i1[y] * inW;
    for (let x = 0; x < outW; x++) {
      const c0 = ax.i0[x];
      const c1 = ax.i1[x];
      const top = lerp2(src[r0 + c0], src[r0 + c1], ax.w0[x], ax.w1[x]);
      const bottom = lerp2(src[r1 + c0], src[r1 + c1], ax.w0[x], ax.w1[x]);
      out[y * outW + x] = lerp2(top, bottom, ay.w0[y], ay.w1[y]);
    }
  }
  return out;
}

/** Full-resolution logits of one candidate at the crop's size. */
export function upscalePlain(logits: Float32Array, geom: LogitGeometry, outW: number, outH: number): Float32Array {
  const n = geom.lowRes;
  if (geom.frame === null) return resizeBilinear(logits, n, n, outW, outH);
  const frame = resizeBilinear(logits, n, n, geom.frame, geom.frame);
  const valid = new Float32Array(geom.validW * geom.validH);
  for (let y = 0; y < geom.validH; y++) valid.set(frame.subarray(y * geom.frame, y * geom.frame + geom.validW), y * geom.validW);
  return resizeBilinear(valid, geom.validW, geom.validH, outW, outH);
}

/** Stability counts, binary mask (row-major) and box from full-resolution logits. */
export function plainMask(up: Float32Array, w: number, h: number, t: number, low: number, high: number) {
  let countHigh = 0;
  let countLow = 0;
  const mask = new Uint8Array(w * h);
  let minX = Infinity, minY = Infinity, maxX = -1, maxY = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = up[y * w + x];
      if (v > high) countHigh++;
      if (v > low) countLow++;
      if (v > t) {
        mask[y * w + x] = 1;
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
      }
    }
  }
  return { countHigh, countLow, mask, box: maxX < 0 ? null : [minX, minY, maxX, maxY] };
}
