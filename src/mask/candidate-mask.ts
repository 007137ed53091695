/**
 * Stability score, binarisation, box and RLE of one candidate straight from its low-resolution logits, without a
 * full-resolution float buffer. A bilinear value lies between the min and max of the low-res cells it mixes, so a
 * block of output pixels whose 3×3 low-res window lies wholly on one side of a threshold is decided at once; only
 * blocks that straddle it are evaluated pixel by pixel, with the float32 steps of the plain two-pass resize
 * (test/oracle).
 */
import type { Rle } from '../rle/rle.js';
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

const f32 = Math.fround;

/**
 * Per-crop post-processor: owns the scratch buffers that every candidate of the crop reuses.
 *
 * The pass runs down each output column (the RLE's order). A row group whose low-res window decides all three
 * thresholds is emitted as one run; the pixels of the other row groups are evaluated with the last stage split in
 * two: the horizontal step of the last stage is computed once per output column for the frame rows those groups
 * read (a column vector), then every pixel costs one vertical step, three compares and a run-length update.
 */
export class CandidateMasker {
  private readonly plan: UpscalePlan;
  private readonly rowBase: number;
  private readonly rowSpan: number;
  private readonly hMin: Float32Array;
  private readonly hMax: Float32Array;
  /** Window min/max per block (row group × column group). */
  private readonly bMin: Float32Array;
  private readonly bMax: Float32Array;
  /** Per row group of the current column group: mask decision (ABOVE/BELOW), or 0 when its pixels are evaluated. */
  private readonly state: Uint8Array;
  /**
   * Intermediate-frame columns (column-major, midH values each) of two-stage plans, computed on first use per
   * candidate; one-stage plans read the logits themselves.
   */
  private readonly frameCols: Float32Array | null;
  private readonly colReady: Uint8Array;
  private readonly colScratch: Float32Array;
  /** The last stage's horizontal step for the current output column, per frame row. */
  private readonly colVec: Float32Array;
  /** Run lengths of the mask being built (grown on demand, reused across candidates). */
  private runs: Uint32Array = new Uint32Array(4096);
  private logits: Float32Array = new Float32Array(0);
  private offset = 0;

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
    this.colVec = new Float32Array(plan.midH);
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
   *
   * With `minStability` > 0 (and high ≥ low) the pass stops as soon as the stability score is certain to end below
   * it, whatever the pixels left: then `rejected` is true, counts are partial and mask is null. The bound is exact:
   * with H, L counted so far and R pixels left, the final score is at most (H + R) / (L + R).
   */
  evaluate(
    low: number,
    threshold: number,
    high: number,
    cropBox: BoxXYXY,
    imageW: number,
    imageH: number,
    minStability = 0,
  ): { counts: StabilityCounts; mask: CandidateMask | null; rejected: boolean } {
    const { plan, bMin, bMax, state, colVec } = this;
    const nGx = plan.colGroups;
    const nGy = plan.rowGroups;
    const { rowStart, colStart, sx2, sy2, midH } = plan;
    const yi0 = sy2.i0;
    const yi1 = sy2.i1;
    const yw0 = sy2.w0;
    const yw1 = sy2.w1;
    const [cx0, cy0, cx1, cy1] = cropBox;
    const cropH = cy1 - cy0;
    const earlyExit = minStability > 0 && high >= low;
    const padTop = cy0;
    const padBottom = imageH - cy1;
    // Where the last stage reads its input: column X, row Y is src[colBase(X) + Y * rowStride].
    const twoStage = this.frameCols !== null;
    const src = twoStage ? (this.frameCols as Float32Array) : this.logits;
    const rowStride = twoStage ? 1 : plan.lowRes;
    const colReady = this.colReady;
    // Run-length state: runs alternate 0/1 starting with 0; `run` is the length of the open run of value `cur`.
    let runs = this.runs;
    let n = 0;
    let cur = 0;
    let run = imageH * cx0;
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
      // Decided groups: their rows in the mask (for the box and area), and their counts for the whole band.
      let firstIn = -1;
      let lastIn = -1;
      let decidedArea = 0;
      let undecided = 0;
      for (let gy = 0; gy < nGy; gy++) {
        const mn = bMin[gy * nGx + gx];
        const mx = bMax[gy * nGx + gx];
        // A margin of a few float32 ulps covers the rounding of the interpolation steps, which can leave a value a
        // hair outside [mn, mx]; undecided blocks are evaluated exactly, so a wide margin costs time, never
        // correctness.
        const eps = 1e-5 * Math.max(Math.abs(mn), Math.abs(mx), 1e-30);
        const lo = mn - eps;
        const hi = mx + eps;
        const sMid = lo > threshold ? ABOVE : hi <= threshold ? BELOW : MIXED;
        const sHigh = lo > high ? ABOVE : hi <= high ? BELOW : MIXED;
        const sLow = lo > low ? ABOVE : hi <= low ? BELOW : MIXED;
        if (sMid === MIXED || sHigh === MIXED || sLow === MIXED) {
          state[gy] = 0;
          undecided++;
          continue;
        }
        state[gy] = sMid;
        const rows = rowStart[gy + 1] - rowStart[gy];
        if (sHigh === ABOVE) countHigh += rows * bandW;
        if (sLow === ABOVE) countLow += rows * bandW;
        if (sMid === ABOVE) {
          if (firstIn < 0) firstIn = rowStart[gy];
          lastIn = rowStart[gy + 1] - 1;
          decidedArea += rows;
        }
      }
      for (let x = x0; x < x1; x++) {
        // Room for every run this column can open (one per pixel at most, plus the padding).
        if (n + cropH + 4 > runs.length) runs = this.growRuns(n + cropH + 4);
        // Top padding (zeros).
        if (padTop > 0) {
          if (cur !== 0) {
            runs[n++] = run;
            run = 0;
            cur = 0;
          }
          run += padTop;
        }
        let colFirst = firstIn;
        let colLast = lastIn;
        let colArea = decidedArea;
        if (undecided > 0) {
          // The last stage's horizontal step for this column, on the frame rows the undecided groups read.
          const X0 = sx2.i0[x];
          const X1 = sx2.i1[x];
          const wx0 = sx2.w0[x];
          const wx1 = sx2.w1[x];
          if (twoStage) {
            if (colReady[X0] === 0) this.fillColumn(X0);
            if (colReady[X1] === 0) this.fillColumn(X1);
          }
          const b0 = twoStage ? X0 * midH : this.offset + X0;
          const b1 = twoStage ? X1 * midH : this.offset + X1;
          // Last frame row of colVec computed for this column (groups come in increasing row order).
          let done = -1;
          // First and last mask rows among the evaluated pixels of this column.
          let pFirst = -1;
          let pLast = -1;
          let pArea = 0;
          for (let gy = 0; gy < nGy; gy++) {
            const y0 = rowStart[gy];
            const y1 = rowStart[gy + 1];
            const st = state[gy];
            if (st !== 0) {
              // Decided group: one run.
              const bit = st === ABOVE ? 1 : 0;
              if (bit !== cur) {
                runs[n++] = run;
                run = 0;
                cur = bit;
              }
              run += y1 - y0;
              continue;
            }
            const Yb = yi1[y1 - 1];
            let Y = done >= yi0[y0] ? done + 1 : yi0[y0];
            if (twoStage) {
              for (; Y <= Yb; Y++) colVec[Y] = f32(f32(src[b0 + Y] * wx0) + f32(src[b1 + Y] * wx1));
            } else {
              for (; Y <= Yb; Y++) colVec[Y] = f32(f32(src[b0 + Y * rowStride] * wx0) + f32(src[b1 + Y * rowStride] * wx1));
            }
            if (Yb > done) done = Yb;
            let cH = 0;
            let cL = 0;
            for (let y = y0; y < y1; y++) {
              const v = f32(f32(colVec[yi0[y]] * yw0[y]) + f32(colVec[yi1[y]] * yw1[y]));
              if (v > high) cH++;
              if (v > low) cL++;
              const bit = v > threshold ? 1 : 0;
              if (bit !== cur) {
                runs[n++] = run;
                run = 0;
                cur = bit;
              }
              run++;
              if (bit === 1) {
                pArea++;
                pLast = y;
                if (pFirst < 0) pFirst = y;
              }
            }
            countHigh += cH;
            countLow += cL;
          }
          colArea += pArea;
          if (pLast >= 0) {
            if (colFirst < 0 || pFirst < colFirst) colFirst = pFirst;
            if (pLast > colLast) colLast = pLast;
          }
        } else {
          for (let gy = 0; gy < nGy; gy++) {
            const bit = state[gy] === ABOVE ? 1 : 0;
            if (bit !== cur) {
              runs[n++] = run;
              run = 0;
              cur = bit;
            }
            run += rowStart[gy + 1] - rowStart[gy];
          }
        }
        // Bottom padding (zeros).
        if (padBottom > 0) {
          if (cur !== 0) {
            runs[n++] = run;
            run = 0;
            cur = 0;
          }
          run += padBottom;
        }
        if (colArea > 0) {
          area += colArea;
          if (x < minX) minX = x;
          maxX = x;
          if (colFirst < minY) minY = colFirst;
          if (colLast > maxY) maxY = colLast;
        }
      }
      if (earlyExit) {
        const left = (cx1 - cx0 - x1) * cropH;
        if (f32((countHigh + left) / (countLow + left)) < minStability) {
          return { counts: { high: countHigh, low: countLow }, mask: null, rejected: true };
        }
      }
    }
    const counts = { high: countHigh, low: countLow };
    if (area === 0) return { counts, mask: null, rejected: false };
    // Right padding (zeros) and the last run.
    const tail = imageH * (imageW - cx1);
    if (tail > 0) {
      if (cur !== 0) {
        if (n + 2 > runs.length) runs = this.growRuns(n + 2);
        runs[n++] = run;
        run = 0;
        cur = 0;
      }
      run += tail;
    }
    if (n + 1 > runs.length) runs = this.growRuns(n + 1);
    runs[n++] = run;
    const rle: Rle = { h: imageH, w: imageW, counts: runs.slice(0, n) };
    return { counts, mask: { rle, box: [minX, minY, maxX, maxY], area }, rejected: false };
  }

  private growRuns(need: number): Uint32Array {
    let size = this.runs.length * 2;
    while (size < need) size *= 2;
    const next = new Uint32Array(size);
    next.set(this.runs);
    this.runs = next;
    return next;
  }
}
