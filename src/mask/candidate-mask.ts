/**
 * Stability score, binarisation, box and RLE of one candidate straight from its low-resolution logits, without a
 * full-resolution float buffer, equal bit for bit to the plain two-pass resize followed by per-pixel compares
 * (test/oracle).
 *
 * Why it can skip work: every upscaled value is a convex combination of the low-res cells it reads, computed with a
 * few float32 roundings, so it lies within [min − γ·|min| − η, max + γ·|max| + η] of those cells (see `guardLow`).
 * Whole blocks of output pixels whose low-res window lies on one side of every threshold are decided at once. In the
 * other blocks each column is walked by *row runs*: the output rows that read the same two intermediate rows are a
 * lerp between the same two float32 values a, b, so a run whose [min(a, b), max(a, b)] (guarded) lies on one side of
 * the thresholds is decided at once too, and only the runs a threshold crosses are computed pixel by pixel, with the
 * plain path's float32 steps.
 *
 * box() finds the same box as a full pass by scanning columns from both ends only as far as the box can still grow.
 */
import type { Rle } from '../rle/rle.js';
import type { BoxXYXY } from '../base/types.js';
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

/** What one pass over a candidate found (see CandidateMasker.evaluate). */
export interface CandidateEvaluation {
  counts: StabilityCounts;
  mask: CandidateMask | null;
  rejected: boolean;
}

const f32 = Math.fround;

/**
 * Rounding guard. An upscaled value is Σ Wⱼ·Lⱼ·(1 + θⱼ) with exact convex weights Wⱼ and |θⱼ| ≤ γ₁₂ ≈ 12·2⁻²⁴: two
 * stages of two lerp steps, each step rounding its weight (1 − λ), its two products and their sum. So it lies in
 * [minⱼ(Lⱼ − γ|Lⱼ|), maxⱼ(Lⱼ + γ|Lⱼ|)] for any γ ≥ γ₁₂, and x − γ|x| is increasing, so min and max of the cells are
 * enough. γ = 2⁻¹⁸ leaves room for the float64 rounding of the guard itself; η covers products that underflow
 * (≤ 2⁻¹⁵⁰ each). A wider guard only sends more pixels to the exact path.
 */
const GAMMA = 2 ** -18;
const ETA = 1e-40;
/**
 * Past this magnitude a lerp's sum could overflow float32, which the guard does not cover; such blocks, and blocks
 * holding ±∞ or NaN (where ∞·0 gives NaN), are computed pixel by pixel.
 */
const HUGE = 1e38;

function guardLow(mn: number): number {
  return mn - GAMMA * Math.abs(mn) - ETA;
}
function guardHigh(mx: number): number {
  return mx + GAMMA * Math.abs(mx) + ETA;
}

/** Block modes above the decided levels 0…3: runs decided where they can be, or every pixel computed. */
const RUNS = 4;
const EXACT = 5;

/** How a masker evaluates the blocks a threshold crosses (tests check each way against the oracle). */
export interface MaskerOptions {
  /**
   * Decide whole row runs from their two intermediate values before computing pixels (default). Measured 0.55–0.85×
   * the time of computing every pixel on smooth and noisy logits — more the longer the runs (larger crops, SAM 2) —
   * and about even on sharp ones.
   */
  runDecisions?: boolean;
}

/**
 * Per-crop post-processor: owns the scratch buffers that every candidate of the crop reuses.
 *
 * The three thresholds are handled as one *level*: the number of them a value exceeds (sorted, a value above the
 * k-th smallest exceeds the k smallest), so a block or a run is decided when its guarded bounds have the same level.
 *
 * The pass runs down each output column (the RLE's order). For the blocks a threshold crosses, the intermediate
 * (1024-frame) values they read are computed lazily per block or per column, and the last stage's horizontal step
 * once per output column for the frame rows those blocks read (a column vector). Area and box come from the runs
 * each column emitted, so pixels carry no bookkeeping beyond the run-length update.
 */
export class CandidateMasker {
  private readonly plan: UpscalePlan;
  private readonly runDecisions: boolean;
  private readonly rowBase: number;
  private readonly rowSpan: number;
  /** Per low-res row of the column group being bounded: min/max over its (up to) 3 window columns. */
  private readonly hMin: Float32Array;
  private readonly hMax: Float32Array;
  /**
   * Window min/max per block (gx-major: column group × row group), NaN when the window holds a NaN; computed per
   * column group on first use (boundsReady), so a pass that looks at a few column groups pays for those only.
   */
  private readonly bMin: Float32Array;
  private readonly bMax: Float32Array;
  private readonly boundsReady: Uint8Array;
  /** Per row group of the current column group: decided level (0…3), RUNS or EXACT. */
  private readonly mode: Uint8Array;
  /** Per row group in RUNS mode: the sorted thresholds widened by the block's guard, above (tHi) and below (tLo). */
  private readonly tHi: Float64Array;
  private readonly tLo: Float64Array;
  /**
   * Intermediate-frame columns (column-major, midH values each) of two-stage plans, filled on first use per
   * candidate, per block or whole; one-stage plans read the logits themselves.
   */
  private readonly frameCols: Float32Array | null;
  private readonly colReady: Uint8Array;
  private readonly tileReady: Uint8Array;
  private readonly colScratch: Float32Array;
  /** The last stage's horizontal step for the current output column, per frame row. */
  private readonly colVec: Float32Array;
  /** box(): block modes per column group (filled on first use) against the mask threshold alone. */
  private readonly boxModes: Uint8Array;
  private readonly boxGroupReady: Uint8Array;
  /** Run lengths of the mask being built (grown on demand, reused across candidates). */
  private runs: Uint32Array = new Uint32Array(4096);
  private logits: Float32Array = new Float32Array(0);
  private offset = 0;

  constructor(plan: UpscalePlan, options: MaskerOptions = {}) {
    this.plan = plan;
    this.runDecisions = options.runDecisions ?? true;
    const nGy = plan.rowGroups;
    const nGx = plan.colGroups;
    this.rowBase = plan.rowAnchor[0];
    this.rowSpan = Math.min(plan.rowAnchor[nGy - 1] + 3, plan.lowRes) - this.rowBase;
    this.hMin = new Float32Array(this.rowSpan);
    this.hMax = new Float32Array(this.rowSpan);
    this.bMin = new Float32Array(nGy * nGx);
    this.bMax = new Float32Array(nGy * nGx);
    this.boundsReady = new Uint8Array(nGx);
    this.mode = new Uint8Array(nGy);
    this.tHi = new Float64Array(nGy * 3);
    this.tLo = new Float64Array(nGy * 3);
    this.frameCols = plan.twoStage ? new Float32Array(plan.midW * plan.midH) : null;
    this.colReady = new Uint8Array(plan.twoStage ? plan.midW : 0);
    this.tileReady = new Uint8Array(plan.twoStage ? plan.midW * nGy : 0);
    this.colScratch = new Float32Array(plan.lowRes);
    this.colVec = new Float32Array(plan.midH);
    this.boxModes = new Uint8Array(nGy * nGx);
    this.boxGroupReady = new Uint8Array(nGx);
  }

  /** How many low-res rows, from the first, this plan reads: a candidate kept for later needs only these. */
  get rowsRead(): number {
    return this.rowBase + this.rowSpan;
  }

  /**
   * Takes one candidate's logits (must precede the other calls): cell (r, c) is logits[offset + r·lowRes + c]; rows
   * from rowsRead on are never read.
   */
  load(logits: Float32Array, offset: number): void {
    this.logits = logits;
    this.offset = offset;
    this.colReady.fill(0);
    this.tileReady.fill(0);
    this.boundsReady.fill(0);
  }

  /** The window bounds of column group gx's blocks. */
  private bound(gx: number): void {
    const { plan, hMin, hMax, bMin, bMax, rowBase, rowSpan, logits, offset } = this;
    const n = plan.lowRes;
    const nGy = plan.rowGroups;
    const c = plan.colAnchor[gx];
    const cEnd = Math.min(c + 3, n);
    // Math.min/max, unlike compares, carry a NaN through, so a block holding one is never decided.
    for (let r = 0; r < rowSpan; r++) {
      const row = offset + (rowBase + r) * n;
      let mn = logits[row + c];
      let mx = mn;
      for (let k = c + 1; k < cEnd; k++) {
        const v = logits[row + k];
        mn = Math.min(mn, v);
        mx = Math.max(mx, v);
      }
      hMin[r] = mn;
      hMax[r] = mx;
    }
    const rowAnchor = plan.rowAnchor;
    for (let gy = 0; gy < nGy; gy++) {
      const r0 = rowAnchor[gy] - rowBase;
      const rEnd = Math.min(r0 + 3, rowSpan);
      let mn = hMin[r0];
      let mx = hMax[r0];
      for (let r = r0 + 1; r < rEnd; r++) {
        mn = Math.min(mn, hMin[r]);
        mx = Math.max(mx, hMax[r]);
      }
      bMin[gx * nGy + gy] = mn;
      bMax[gx * nGy + gy] = mx;
    }
    this.boundsReady[gx] = 1;
  }

  /**
   * Whether more than `share` of the crop's pixels lie in blocks a threshold crosses — what a full evaluation would
   * have to compute, known from the window bounds alone. Stops as soon as the answer is known.
   */
  undecidedShareAbove(low: number, threshold: number, high: number, share: number): boolean {
    const { plan, bMin, bMax } = this;
    const nGx = plan.colGroups;
    const nGy = plan.rowGroups;
    const t0 = Math.min(low, threshold, high);
    const t1 = median(low, threshold, high);
    const t2 = Math.max(low, threshold, high);
    const limit = share * plan.outW * plan.outH;
    let undecided = 0;
    for (let gx = 0; gx < nGx; gx++) {
      if (this.boundsReady[gx] === 0) this.bound(gx);
      const w = plan.colStart[gx + 1] - plan.colStart[gx];
      for (let gy = 0; gy < nGy; gy++) {
        const lo = guardLow(bMin[gx * nGy + gy]);
        const hi = guardHigh(bMax[gx * nGy + gy]);
        const decided = lo > -HUGE && hi < HUGE && level(lo, t0, t1, t2) === level(hi, t0, t1, t2);
        if (!decided) {
          undecided += (plan.rowStart[gy + 1] - plan.rowStart[gy]) * w;
          if (undecided > limit) return true;
        }
      }
    }
    return false;
  }

  /**
   * One pass over the loaded candidate: exact counts above `low` and `high` (the stability score's two float32
   * thresholds) and the binary mask v > `threshold` as RLE in the image frame (the crop placed at cropBox, zeros
   * elsewhere), with its box in the crop frame; mask is null when empty.
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
  ): CandidateEvaluation {
    const { plan, mode, tHi, tLo, colVec } = this;
    const nGx = plan.colGroups;
    const nGy = plan.rowGroups;
    const { rowStart, colStart, rowFrameLo, rowFrameHi, rowRunEnd, sx2, sy2 } = plan;
    const yi0 = sy2.i0;
    const yi1 = sy2.i1;
    const yw0 = sy2.w0;
    const yw1 = sy2.w1;
    const [cx0, cy0, cx1, cy1] = cropBox;
    const cropH = cy1 - cy0;
    const earlyExit = minStability > 0 && high >= low;
    const padTop = cy0;
    const padBottom = imageH - cy1;
    // Levels: T0 ≤ T1 ≤ T2; v > (the threshold at sorted position p) ⇔ level(v) > p. c1, c2, c3 count the pixels
    // of level ≥ 1, 2, 3.
    const T0 = Math.min(low, threshold, high);
    const T2 = Math.max(low, threshold, high);
    const T1 = median(low, threshold, high);
    const pLow = low <= threshold ? (low <= high ? 0 : 1) : low <= high ? 1 : 2;
    const pHigh = high < low ? (high < threshold ? 0 : 1) : high < threshold ? 1 : 2;
    const pMask = 3 - pLow - pHigh;
    let c1 = 0;
    let c2 = 0;
    let c3 = 0;
    // Where the last stage reads its input: column X, row Y is src[colBase(X) + Y * rowStride].
    const twoStage = this.frameCols !== null;
    const src = twoStage ? (this.frameCols as Float32Array) : this.logits;
    const midH = plan.midH;
    const rowStride = twoStage ? 1 : plan.lowRes;
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
    for (let gx = 0; gx < nGx; gx++) {
      const x0 = colStart[gx];
      const x1 = colStart[gx + 1];
      const bandW = x1 - x0;
      let undecided = 0;
      for (let gy = 0; gy < nGy; gy++) {
        const md = this.classify(gy, gx, T0, T1, T2);
        if (md >= RUNS) {
          undecided++;
          continue;
        }
        const px = (rowStart[gy + 1] - rowStart[gy]) * bandW;
        if (md > 0) c1 += px;
        if (md > 1) c2 += px;
        if (md > 2) c3 += px;
      }
      if (undecided > 0 && twoStage) this.prepareFrame(gx, undecided);
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
        const n0 = n;
        const open0 = run;
        const cur0 = cur;
        if (undecided > 0) {
          // The last stage's horizontal step for this column, on the frame rows the undecided groups read.
          const X0 = sx2.i0[x];
          const X1 = sx2.i1[x];
          const wx0 = sx2.w0[x];
          const wx1 = sx2.w1[x];
          const b0 = twoStage ? X0 * midH : this.offset + X0;
          const b1 = twoStage ? X1 * midH : this.offset + X1;
          // Last frame row of colVec computed for this column (groups come in increasing row order).
          let done = -1;
          for (let gy = 0; gy < nGy; gy++) {
            const y1 = rowStart[gy + 1];
            const md = mode[gy];
            if (md < RUNS) {
              // Decided group: one run.
              const bit = md > pMask ? 1 : 0;
              if (bit !== cur) {
                runs[n++] = run;
                run = 0;
                cur = bit;
              }
              run += y1 - rowStart[gy];
              continue;
            }
            const Yb = rowFrameHi[gy];
            let Y = done >= rowFrameLo[gy] ? done + 1 : rowFrameLo[gy];
            if (twoStage) {
              for (; Y <= Yb; Y++) colVec[Y] = f32(f32(src[b0 + Y] * wx0) + f32(src[b1 + Y] * wx1));
            } else {
              for (; Y <= Yb; Y++) colVec[Y] = f32(f32(src[b0 + Y * rowStride] * wx0) + f32(src[b1 + Y * rowStride] * wx1));
            }
            if (Yb > done) done = Yb;
            let y = rowStart[gy];
            if (md === EXACT) {
              for (; y < y1; y++) {
                const v = f32(f32(colVec[yi0[y]] * yw0[y]) + f32(colVec[yi1[y]] * yw1[y]));
                if (v > T0) {
                  c1++;
                  if (v > T1) {
                    c2++;
                    if (v > T2) c3++;
                  }
                }
                const bit = v > threshold ? 1 : 0;
                if (bit !== cur) {
                  runs[n++] = run;
                  run = 0;
                  cur = bit;
                }
                run++;
              }
              continue;
            }
            const b3 = gy * 3;
            const h0 = tHi[b3];
            const h1 = tHi[b3 + 1];
            const h2 = tHi[b3 + 2];
            const l0 = tLo[b3];
            const l1 = tLo[b3 + 1];
            const l2 = tLo[b3 + 2];
            while (y < y1) {
              let e = rowRunEnd[y];
              if (e > y1) e = y1;
              const a = colVec[yi0[y]];
              const b = colVec[yi1[y]];
              const mn = a < b ? a : b;
              const mx = a < b ? b : a;
              const lvLo = (mn > h0 ? 1 : 0) + (mn > h1 ? 1 : 0) + (mn > h2 ? 1 : 0);
              const lvHi = (mx > l0 ? 1 : 0) + (mx > l1 ? 1 : 0) + (mx > l2 ? 1 : 0);
              if (lvLo === lvHi) {
                // The whole run is on one side of every threshold.
                const len = e - y;
                if (lvLo > 0) c1 += len;
                if (lvLo > 1) c2 += len;
                if (lvLo > 2) c3 += len;
                const bit = lvLo > pMask ? 1 : 0;
                if (bit !== cur) {
                  runs[n++] = run;
                  run = 0;
                  cur = bit;
                }
                run += len;
                y = e;
                continue;
              }
              for (; y < e; y++) {
                const v = f32(f32(a * yw0[y]) + f32(b * yw1[y]));
                if (v > T0) {
                  c1++;
                  if (v > T1) {
                    c2++;
                    if (v > T2) c3++;
                  }
                }
                const bit = v > threshold ? 1 : 0;
                if (bit !== cur) {
                  runs[n++] = run;
                  run = 0;
                  cur = bit;
                }
                run++;
              }
            }
          }
        } else {
          for (let gy = 0; gy < nGy; gy++) {
            const bit = mode[gy] > pMask ? 1 : 0;
            if (bit !== cur) {
              runs[n++] = run;
              run = 0;
              cur = bit;
            }
            run += rowStart[gy + 1] - rowStart[gy];
          }
        }
        // This column's mask rows, from the runs it closed and the open one: the open run at its start had
        // `open0` pixels before row 0 (padding, or the previous column when the crop spans the image height).
        let y = -open0;
        let bit = cur0;
        let colFirst = -1;
        let colLast = -1;
        let colArea = 0;
        for (let i = n0; i <= n; i++) {
          const end = i < n ? y + runs[i] : cropH;
          if (bit === 1) {
            const s = y > 0 ? y : 0;
            if (end > s) {
              colArea += end - s;
              if (colFirst < 0) colFirst = s;
              colLast = end - 1;
            }
          }
          y = end;
          bit ^= 1;
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
        const cAbove = [c1, c2, c3];
        if (f32((cAbove[pHigh] + left) / (cAbove[pLow] + left)) < minStability) {
          return { counts: { high: cAbove[pHigh], low: cAbove[pLow] }, mask: null, rejected: true };
        }
      }
    }
    const cAbove = [c1, c2, c3];
    const counts = { high: cAbove[pHigh], low: cAbove[pLow] };
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

  /**
   * The box (crop frame, max inclusive) of the loaded candidate's mask v > `threshold`, or null when the mask is
   * empty: the same box evaluate() finds, for a fraction of its work. Columns are scanned from the top and the
   * bottom only as far as the box can still grow, so a candidate kept for later needs no mask yet (see
   * evaluateCandidate's deferral).
   */
  box(threshold: number): BoxXYXY | null {
    const { plan } = this;
    const outW = plan.outW;
    const outH = plan.outH;
    this.boxGroupReady.fill(0);
    let minX = -1;
    let minY = outH;
    let maxY = -1;
    for (let x = 0; x < outW && minX < 0; x++) {
      const f = this.firstMaskRow(x, threshold, outH);
      if (f >= 0) {
        minX = x;
        minY = f;
        maxY = Math.max(f, this.lastMaskRow(x, threshold, f));
      }
    }
    if (minX < 0) return null;
    let maxX = minX;
    for (let x = outW - 1; x > minX; x--) {
      const f = this.firstMaskRow(x, threshold, outH);
      if (f >= 0) {
        maxX = x;
        if (f < minY) minY = f;
        maxY = Math.max(maxY, f, this.lastMaskRow(x, threshold, maxY));
        break;
      }
    }
    for (let x = minX + 1; x < maxX; x++) {
      if (minY > 0) {
        const f = this.firstMaskRow(x, threshold, minY);
        if (f >= 0) minY = f;
      }
      if (maxY < outH - 1) {
        const l = this.lastMaskRow(x, threshold, maxY);
        if (l >= 0) maxY = l;
      }
    }
    return [minX, minY, maxX, maxY];
  }

  /** First row y < yEnd of output column x with v > t, or −1. */
  private firstMaskRow(x: number, t: number, yEnd: number): number {
    const { rowStart } = this.plan;
    const gx = this.plan.colGroupOf[x];
    const nGy = this.plan.rowGroups;
    for (let gy = 0; gy < nGy && rowStart[gy] < yEnd; gy++) {
      const md = this.boxMode(gy, gx, t);
      if (md === 0) continue;
      if (md !== EXACT) return rowStart[gy];
      this.boxColumnVector(x, gy);
      const end = Math.min(rowStart[gy + 1], yEnd);
      for (let y = rowStart[gy]; y < end; y++) if (this.boxValue(y) > t) return y;
    }
    return -1;
  }

  /** Last row y > yStart of output column x with v > t, or −1. */
  private lastMaskRow(x: number, t: number, yStart: number): number {
    const { rowStart } = this.plan;
    const gx = this.plan.colGroupOf[x];
    for (let gy = this.plan.rowGroups - 1; gy >= 0 && rowStart[gy + 1] - 1 > yStart; gy--) {
      const md = this.boxMode(gy, gx, t);
      if (md === 0) continue;
      if (md !== EXACT) return rowStart[gy + 1] - 1;
      this.boxColumnVector(x, gy);
      const start = Math.max(rowStart[gy], yStart + 1);
      for (let y = rowStart[gy + 1] - 1; y >= start; y--) if (this.boxValue(y) > t) return y;
    }
    return -1;
  }

  /** Block (gy, gx) against the single threshold t: 0 (below), 3 (above) or EXACT; cached per column group. */
  private boxMode(gy: number, gx: number, t: number): number {
    const nGy = this.plan.rowGroups;
    if (this.boxGroupReady[gx] === 0) {
      for (let g = 0; g < nGy; g++) this.boxModes[gx * nGy + g] = this.classify(g, gx, t, t, t, false);
      this.boxGroupReady[gx] = 1;
    }
    return this.boxModes[gx * nGy + gy];
  }

  /** colVec on the frame rows block row gy reads, for output column x (filling the frame values it needs). */
  private boxColumnVector(x: number, gy: number): void {
    const { plan, colVec } = this;
    const { sx2 } = plan;
    const X0 = sx2.i0[x];
    const X1 = sx2.i1[x];
    const wx0 = sx2.w0[x];
    const wx1 = sx2.w1[x];
    const Ya = plan.rowFrameLo[gy];
    const Yb = plan.rowFrameHi[gy];
    if (this.frameCols !== null) {
      this.fillTile(X0, gy);
      this.fillTile(X1, gy);
      const src = this.frameCols;
      const b0 = X0 * plan.midH;
      const b1 = X1 * plan.midH;
      for (let Y = Ya; Y <= Yb; Y++) colVec[Y] = f32(f32(src[b0 + Y] * wx0) + f32(src[b1 + Y] * wx1));
    } else {
      const src = this.logits;
      const n = plan.lowRes;
      const b0 = this.offset + X0;
      const b1 = this.offset + X1;
      for (let Y = Ya; Y <= Yb; Y++) colVec[Y] = f32(f32(src[b0 + Y * n] * wx0) + f32(src[b1 + Y * n] * wx1));
    }
  }

  /** Output row y of the column whose vector boxColumnVector filled. */
  private boxValue(y: number): number {
    const { i0, i1, w0, w1 } = this.plan.sy2;
    return f32(f32(this.colVec[i0[y]] * w0[y]) + f32(this.colVec[i1[y]] * w1[y]));
  }

  /**
   * Decides block (gy, gx) against the sorted thresholds from its window bounds: sets and returns mode[gy] (the
   * level, RUNS or EXACT) and, for RUNS, the block's guarded thresholds.
   */
  private classify(gy: number, gx: number, T0: number, T1: number, T2: number, runs = this.runDecisions): number {
    const nGy = this.plan.rowGroups;
    if (this.boundsReady[gx] === 0) this.bound(gx);
    const mn = this.bMin[gx * nGy + gy];
    const mx = this.bMax[gx * nGy + gy];
    const lo = guardLow(mn);
    const hi = guardHigh(mx);
    // NaN, ±∞ or huge logits: the plain arithmetic pixel by pixel.
    if (!(lo > -HUGE && hi < HUGE)) return (this.mode[gy] = EXACT);
    const lvLo = level(lo, T0, T1, T2);
    const lvHi = level(hi, T0, T1, T2);
    if (lvLo === lvHi) return (this.mode[gy] = lvLo);
    if (!runs) return (this.mode[gy] = EXACT);
    // A run between intermediate values a, b is a single lerp step from them, and |a|, |b| are at most the window's
    // magnitude (to within γ), so one guard per threshold covers every run of the block (|T| in it keeps T ± d clear
    // of float64 rounding). Thresholds the whole block is above (below) become −∞ (+∞): always (never) counted.
    const m = GAMMA * Math.max(Math.abs(mn), Math.abs(mx)) + ETA;
    const b3 = gy * 3;
    setRunBounds(this.tHi, this.tLo, b3, T0, m, lvLo > 0, lvHi > 0);
    setRunBounds(this.tHi, this.tLo, b3 + 1, T1, m, lvLo > 1, lvHi > 1);
    setRunBounds(this.tHi, this.tLo, b3 + 2, T2, m, lvLo > 2, lvHi > 2);
    return (this.mode[gy] = RUNS);
  }

  /**
   * Fills the intermediate-frame values that column group gx's undecided blocks read: whole frame columns when most
   * of the group is undecided, else only each undecided block's frame rows.
   */
  private prepareFrame(gx: number, undecided: number): void {
    const { plan, mode, colReady, colScratch } = this;
    const out = this.frameCols as Float32Array;
    const midH = plan.midH;
    const nGy = plan.rowGroups;
    const Xa = plan.colFrameLo[gx];
    const Xb = plan.colFrameHi[gx];
    if (2 * undecided > nGy) {
      for (let X = Xa; X <= Xb; X++) {
        if (colReady[X] === 0) {
          plan.frameColumn(this.logits, this.offset, X, out, X * midH, colScratch);
          colReady[X] = 1;
        }
      }
      return;
    }
    for (let gy = 0; gy < nGy; gy++) {
      if (mode[gy] < RUNS) continue;
      for (let X = Xa; X <= Xb; X++) this.fillTile(X, gy);
    }
  }

  /** Fills frame column X on the frame rows that row group gy reads, unless already there. */
  private fillTile(X: number, gy: number): void {
    const { plan, colReady, tileReady } = this;
    const at = X * plan.rowGroups + gy;
    if (colReady[X] !== 0 || tileReady[at] !== 0) return;
    const out = this.frameCols as Float32Array;
    plan.frameColumnRows(this.logits, this.offset, X, plan.rowFrameLo[gy], plan.rowFrameHi[gy], out, X * plan.midH, this.colScratch);
    tileReady[at] = 1;
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

function median(a: number, b: number, c: number): number {
  return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
}

/** Number of the sorted thresholds that x exceeds. */
function level(x: number, t0: number, t1: number, t2: number): number {
  return (x > t0 ? 1 : 0) + (x > t1 ? 1 : 0) + (x > t2 ? 1 : 0);
}

/** Guarded bounds of one sorted threshold for a block's runs (see evaluate). */
function setRunBounds(tHi: Float64Array, tLo: Float64Array, i: number, t: number, m: number, allAbove: boolean, someAbove: boolean): void {
  const d = m + GAMMA * Math.abs(t);
  tHi[i] = allAbove ? -Infinity : someAbove ? t + d : Infinity;
  tLo[i] = allAbove ? -Infinity : someAbove ? t - d : Infinity;
}
