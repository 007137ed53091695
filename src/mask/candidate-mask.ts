/**
 * Stability score, binarisation, box and RLE of one candidate straight from its low-resolution logits, without a
 * full-resolution float buffer. A bilinear value lies between the min and max of the low-res cells it mixes, so a
 * block of output pixels whose 3×3 low-res window lies wholly on one side of a threshold is decided at once; only
 * blocks that straddle it are evaluated pixel by pixel (with the exact arithmetic of UpscalePlan.valueAt).
 */
import { RleBuilder, type Rle } from '../rle/rle.js';
import type { BoxXYXY } from '../amg/types.js';
import { lerp2, type UpscalePlan } from './upscale.js';

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
/** Flag in a row group's state: some stability threshold is undecided, so its pixels are evaluated. */
const PIXELS = 4;

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
  /**
   * Intermediate-frame columns (column-major, midH values each), computed on first use per candidate: pixels of
   * undecided blocks then cost three interpolation steps instead of fifteen.
   */
  private readonly frameCols: Float32Array | null;
  private readonly colReady: Uint8Array;
  private readonly colScratch: Float32Array;
  private logits: Float32Array = new Float32Array(0);
  private offset = 0;
  /** Horizontal step of the last stage for the current output column, per frame row, valid where stamped. */
  private readonly rowCache: Float32Array;
  private readonly rowStamp: Int32Array;
  private stamp = 0;
  private curX = 0;

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
    this.frameCols = plan.twoStage ? new Float32Array(plan.midW * plan.midH) : null;
    this.colReady = new Uint8Array(plan.midW);
    this.colScratch = new Float32Array(plan.lowRes);
    this.rowCache = new Float32Array(plan.midH);
    this.rowStamp = new Int32Array(plan.midH);
  }

  private fillColumn(X: number): void {
    this.plan.frameColumn(this.logits, this.offset, X, this.frameCols as Float32Array, X * this.plan.midH, this.colScratch);
    this.colReady[X] = 1;
  }

  /** Computes the per-block window bounds of one candidate's logits (must precede the other calls). */
  load(logits: Float32Array, offset: number): void {
    this.logits = logits;
    this.offset = offset;
    this.colReady.fill(0);
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

  /**
   * One pass over the loaded candidate: exact counts above `low` and `high` (the stability score's two float32
   * thresholds) and the binary mask v > `threshold` as RLE in the image frame (the crop placed at cropBox, zeros
   * elsewhere), with its box in the crop frame; mask is null when empty. Each pixel of an undecided block is
   * upscaled once and compared with all three thresholds.
   */
  evaluate(
    low: number,
    threshold: number,
    high: number,
    cropBox: BoxXYXY,
    imageW: number,
    imageH: number,
  ): { counts: StabilityCounts; mask: CandidateMask | null } {
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
    let countHigh = 0;
    let countLow = 0;
    for (let gx = 0; gx < nGx; gx++) {
      const x0 = colStart[gx];
      const x1 = colStart[gx + 1];
      const bandW = x1 - x0;
      let firstIn = -1;
      let lastIn = -1;
      // Per row group: decision for the mask threshold in the low bits, plus whether any threshold is undecided.
      for (let gy = 0; gy < nGy; gy++) {
        const mn = bMin[gy * nGx + gx];
        const mx = bMax[gy * nGx + gx];
        const sMid = decide(mn, mx, threshold);
        const sHigh = decide(mn, mx, high);
        const sLow = decide(mn, mx, low);
        const rows = rowStart[gy + 1] - rowStart[gy];
        if (sHigh === ABOVE) countHigh += rows * bandW;
        if (sLow === ABOVE) countLow += rows * bandW;
        state[gy] = sMid | (sHigh === MIXED || sLow === MIXED ? PIXELS : 0);
        if (sMid === ABOVE) {
          if (firstIn < 0) firstIn = rowStart[gy];
          lastIn = rowStart[gy + 1] - 1;
        }
      }
      for (let x = x0; x < x1; x++) {
        builder.push(0, padTop);
        let colFirst = firstIn;
        let colLast = lastIn;
        let colArea = 0;
        this.startColumn(x);
        for (let gy = 0; gy < nGy; gy++) {
          const y0 = rowStart[gy];
          const y1 = rowStart[gy + 1];
          const st = state[gy];
          const sMid = st & 3;
          if ((st & PIXELS) === 0 && sMid !== MIXED) {
            if (sMid === ABOVE) {
              builder.push(1, y1 - y0);
              colArea += y1 - y0;
            } else {
              builder.push(0, y1 - y0);
            }
            continue;
          }
          const sHigh = decide(bMin[gy * nGx + gx], bMax[gy * nGx + gx], high);
          const sLow = decide(bMin[gy * nGx + gx], bMax[gy * nGx + gx], low);
          for (let y = y0; y < y1; y++) {
            const v = this.columnValue(y);
            if (sHigh === MIXED && v > high) countHigh++;
            if (sLow === MIXED && v > low) countLow++;
            if (sMid === ABOVE || (sMid === MIXED && v > threshold)) {
              builder.push(1, 1);
              colArea++;
              if (colFirst < 0 || y < colFirst) colFirst = y;
              if (y > colLast) colLast = y;
            } else {
              builder.push(0, 1);
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
    const counts = { high: countHigh, low: countLow };
    if (area === 0) return { counts, mask: null };
    return { counts, mask: { rle: builder.finish(), box: [minX, minY, maxX, maxY], area } };
  }

  /** Prepares per-column caches for output column x. */
  private startColumn(x: number): void {
    this.curX = x;
    this.stamp++;
    if (this.stamp === 0x7fffffff) {
      this.rowStamp.fill(0);
      this.stamp = 1;
    }
  }

  /**
   * The upscaled value at (curX, y). For two-stage plans the horizontal step of the last stage is cached per frame
   * row for the current column, so a pixel costs about one interpolation step.
   */
  private columnValue(y: number): number {
    const plan = this.plan;
    const cols = this.frameCols;
    const x = this.curX;
    if (cols === null) return plan.valueAt(this.logits, this.offset, x, y);
    const { sy2 } = plan;
    const Y0 = sy2.i0[y];
    const Y1 = sy2.i1[y];
    return lerp2(this.rowValue(Y0), this.rowValue(Y1), sy2.w0[y], sy2.w1[y]);
  }

  private rowValue(Y: number): number {
    if (this.rowStamp[Y] === this.stamp) return this.rowCache[Y];
    const { sx2, midH } = this.plan;
    const x = this.curX;
    const X0 = sx2.i0[x];
    const X1 = sx2.i1[x];
    if (!this.colReady[X0]) this.fillColumn(X0);
    if (!this.colReady[X1]) this.fillColumn(X1);
    const cols = this.frameCols as Float32Array;
    const v = lerp2(cols[X0 * midH + Y], cols[X1 * midH + Y], sx2.w0[x], sx2.w1[x]);
    this.rowCache[Y] = v;
    this.rowStamp[Y] = this.stamp;
    return v;
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
