/**
 * Stability score, binarisation, box and RLE of one candidate straight from its low-resolution logits, without a
 * full-resolution float buffer. A bilinear value lies between the min and max of the low-res cells it mixes, so a
 * block of output pixels whose 3×3 low-res window lies wholly on one side of a threshold is decided at once; only
 * blocks that straddle it are evaluated pixel by pixel (with the exact arithmetic of UpscalePlan.valueAt).
 */
import { RleBuilder, type Rle } from '../rle/rle.js';
import type { BoxXYXY } from '../amg/types.js';
import type { UpscalePlan } from './upscale.js';

/** Counts of upscaled logits above the two stability thresholds. */
export interface StabilityCounts {
  /** count(v > threshold + offset) */
  high: number;
  /** count(v > threshold − offset) */
  low: number;
}

/** Binary mask of a candidate, placed in the image frame, and its box in the crop frame (max inclusive). */
export interface CandidateMask {
  rle: Rle;
  box: BoxXYXY;
  area: number;
}

const ABOVE = 1;
const BELOW = 2;
const MIXED = 3;

/** Per-crop post-processor: owns the scratch buffers that every candidate of the crop reuses. */
export class CandidateMasker {
  private readonly plan: UpscalePlan;
  private readonly rowBase: number;
  private readonly rowSpan: number;
  private readonly hMin: Float32Array;
  private readonly hMax: Float32Array;
  /** Window min/max per block (row group × column group). */
  private readonly bMin: Float32Array;
  private readonly bMax: Float32Array;
  private readonly state: Uint8Array;

  constructor(plan: UpscalePlan) {
    this.plan = plan;
    const nGy = plan.rowGroups;
    const nGx = plan.colGroups;
    this.rowBase = plan.rowAnchor[0];
    this.rowSpan = Math.min(plan.rowAnchor[nGy - 1] + 3, plan.lowRes) - this.rowBase;
    this.hMin = new Float32Array(this.rowSpan * nGx);
    this.hMax = new Float32Array(this.rowSpan * nGx);
    this.bMin = new Float32Array(nGy * nGx);
    this.bMax = new Float32Array(nGy * nGx);
    this.state = new Uint8Array(nGy);
  }

  /** Computes the per-block window bounds of one candidate's logits (must precede the other calls). */
  load(logits: Float32Array, offset: number): void {
    const { plan, hMin, hMax, bMin, bMax, rowBase, rowSpan } = this;
    const n = plan.lowRes;
    const nGx = plan.colGroups;
    const nGy = plan.rowGroups;
    const colAnchor = plan.colAnchor;
    for (let r = 0; r < rowSpan; r++) {
      const row = offset + (rowBase + r) * n;
      for (let g = 0; g < nGx; g++) {
        const c = colAnchor[g];
        const cEnd = Math.min(c + 3, n);
        let mn = logits[row + c];
        let mx = mn;
        for (let k = c + 1; k < cEnd; k++) {
          const v = logits[row + k];
          if (v < mn) mn = v;
          if (v > mx) mx = v;
        }
        hMin[r * nGx + g] = mn;
        hMax[r * nGx + g] = mx;
      }
    }
    const rowAnchor = plan.rowAnchor;
    for (let gy = 0; gy < nGy; gy++) {
      const r0 = rowAnchor[gy] - rowBase;
      const rEnd = Math.min(r0 + 3, rowSpan);
      for (let g = 0; g < nGx; g++) {
        let mn = hMin[r0 * nGx + g];
        let mx = hMax[r0 * nGx + g];
        for (let r = r0 + 1; r < rEnd; r++) {
          const a = hMin[r * nGx + g];
          const b = hMax[r * nGx + g];
          if (a < mn) mn = a;
          if (b > mx) mx = b;
        }
        bMin[gy * nGx + g] = mn;
        bMax[gy * nGx + g] = mx;
      }
    }
  }

  /** Exact counts above `low` and `high` (float32 thresholds) over the whole upscaled crop. */
  stabilityCounts(logits: Float32Array, offset: number, low: number, high: number): StabilityCounts {
    const { plan, bMin, bMax } = this;
    const nGx = plan.colGroups;
    const nGy = plan.rowGroups;
    const { rowStart, colStart } = plan;
    let countHigh = 0;
    let countLow = 0;
    for (let gy = 0; gy < nGy; gy++) {
      const y0 = rowStart[gy];
      const y1 = rowStart[gy + 1];
      for (let gx = 0; gx < nGx; gx++) {
        const mn = bMin[gy * nGx + gx];
        const mx = bMax[gy * nGx + gx];
        const x0 = colStart[gx];
        const x1 = colStart[gx + 1];
        const area = (y1 - y0) * (x1 - x0);
        const sHigh = decide(mn, mx, high);
        const sLow = decide(mn, mx, low);
        if (sHigh === ABOVE) countHigh += area;
        if (sLow === ABOVE) countLow += area;
        if (sHigh === MIXED || sLow === MIXED) {
          for (let x = x0; x < x1; x++) {
            for (let y = y0; y < y1; y++) {
              const v = plan.valueAt(logits, offset, x, y);
              if (sHigh === MIXED && v > high) countHigh++;
              if (sLow === MIXED && v > low) countLow++;
            }
          }
        }
      }
    }
    return { high: countHigh, low: countLow };
  }

  /**
   * The binary mask v > threshold as RLE in the image frame (crop placed at cropBox, zeros elsewhere), its box in
   * the crop frame and its area; null when the mask is empty.
   */
  binarize(
    logits: Float32Array,
    offset: number,
    threshold: number,
    cropBox: BoxXYXY,
    imageW: number,
    imageH: number,
  ): CandidateMask | null {
    const { plan, bMin, bMax, state } = this;
    const nGx = plan.colGroups;
    const nGy = plan.rowGroups;
    const { rowStart, colStart } = plan;
    const [cx0, cy0, cx1, cy1] = cropBox;
    const padTop = cy0;
    const padBottom = imageH - cy1;
    const builder = new RleBuilder(imageH, imageW);
    builder.push(0, imageH * cx0);
    let minX = Infinity;
    let minY = Infinity;
    let maxX = -1;
    let maxY = -1;
    let area = 0;
    for (let gx = 0; gx < nGx; gx++) {
      const x0 = colStart[gx];
      const x1 = colStart[gx + 1];
      let firstIn = -1;
      let lastIn = -1;
      for (let gy = 0; gy < nGy; gy++) {
        const s = decide(bMin[gy * nGx + gx], bMax[gy * nGx + gx], threshold);
        state[gy] = s;
        if (s === ABOVE) {
          if (firstIn < 0) firstIn = rowStart[gy];
          lastIn = rowStart[gy + 1] - 1;
        }
      }
      for (let x = x0; x < x1; x++) {
        builder.push(0, padTop);
        let colFirst = firstIn;
        let colLast = lastIn;
        let colArea = 0;
        for (let gy = 0; gy < nGy; gy++) {
          const y0 = rowStart[gy];
          const y1 = rowStart[gy + 1];
          const s = state[gy];
          if (s === ABOVE) {
            builder.push(1, y1 - y0);
            colArea += y1 - y0;
          } else if (s === BELOW) {
            builder.push(0, y1 - y0);
          } else {
            for (let y = y0; y < y1; y++) {
              if (plan.valueAt(logits, offset, x, y) > threshold) {
                builder.push(1, 1);
                colArea++;
                if (colFirst < 0 || y < colFirst) colFirst = y;
                if (y > colLast) colLast = y;
              } else {
                builder.push(0, 1);
              }
            }
          }
        }
        builder.push(0, padBottom);
        if (colArea > 0) {
          area += colArea;
          if (x < minX) minX = x;
          maxX = x;
          if (colFirst < minY) minY = colFirst;
          if (colLast > maxY) maxY = colLast;
        }
      }
    }
    builder.push(0, imageH * (imageW - cx1));
    if (area === 0) return null;
    return { rle: builder.finish(), box: [minX, minY, maxX, maxY], area };
  }
}

/** Whether every value of a window with bounds [mn, mx] is above t, none is, or it cannot be told. */
function decide(mn: number, mx: number, t: number): number {
  // A margin of a few float32 ulps covers the rounding of the interpolation steps, which can leave a value a hair
  // outside [mn, mx]; undecided blocks are evaluated exactly, so a wide margin costs time, never correctness.
  const eps = 1e-5 * Math.max(Math.abs(mn), Math.abs(mx), 1e-30);
  if (mn - eps > t) return ABOVE;
  if (mx + eps <= t) return BELOW;
  return MIXED;
}
