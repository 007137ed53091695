/**
 * Which output blocks of a candidate are decided before any pixel is computed. Every upscaled value of a block is a
 * convex combination of its 3×3 window of low-res cells (UpscalePlan), computed with a few float32 roundings, so it
 * lies within the window's guarded [min, max] (see GAMMA). A block whose guarded bounds lie on one side of every
 * threshold is decided whole; one that a threshold crosses is walked by row runs (RUNS), or pixel by pixel (EXACT)
 * where the bounds cannot be trusted (NaN, ±∞, huge values).
 *
 * The thresholds are low ≤ threshold ≤ high (the stability score's two and the mask's: mask threshold ∓ an offset
 * ≥ 0, rounded to float32, which keeps the order). A value's *level* is how many of them it exceeds, so a block, a
 * run or a pixel has level 0…3: level > 0 counts towards the low count, level > 2 towards the high one, and the mask
 * bit is level > 1.
 */
import { Marks } from './marks.js';
import type { UpscalePlan } from './upscale.js';

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

/** Block modes above the decided levels 0…3: row runs decided where they can be, or every pixel computed. */
export const RUNS = 4;
export const EXACT = 5;

/** Number of the thresholds low ≤ threshold ≤ high that x exceeds. */
function level(x: number, low: number, threshold: number, high: number): number {
  return (x > low ? 1 : 0) + (x > threshold ? 1 : 0) + (x > high ? 1 : 0);
}

/**
 * Window bounds of the loaded candidate's blocks, computed per column group on first use, and the blocks' modes
 * against a set of thresholds.
 */
export class BlockBounds {
  /** Per row group of the column group last classified: decided level (0…3), RUNS or EXACT. */
  readonly modes: Uint8Array;
  /**
   * Per row group in RUNS mode, per threshold (3 each): a row run lerping between a and b has every pixel above the
   * threshold when min(a, b) > sureAbove, and none when max(a, b) ≤ mayAbove (the threshold ± the block's guard;
   * −∞ for a threshold the whole block exceeds, +∞ for one it never does).
   */
  readonly sureAbove: Float64Array;
  readonly mayAbove: Float64Array;
  private readonly plan: UpscalePlan;
  /** The low-res rows the blocks read: rowBase … rowBase + rowSpan − 1. */
  readonly rowBase: number;
  readonly rowSpan: number;
  /** Per low-res row of the column group being bounded: min/max over its (up to) 3 window columns. */
  private readonly hMin: Float32Array;
  private readonly hMax: Float32Array;
  /** Window min/max per block (gx-major: column group × row group), NaN when the window holds a NaN. */
  private readonly bMin: Float32Array;
  private readonly bMax: Float32Array;
  private readonly bounded: Marks;
  private logits: Float32Array = new Float32Array(0);
  private offset = 0;

  constructor(plan: UpscalePlan) {
    this.plan = plan;
    const nGy = plan.rowGroups;
    const nGx = plan.colGroups;
    this.rowBase = plan.rowAnchor[0];
    this.rowSpan = Math.min(plan.rowAnchor[nGy - 1] + 3, plan.lowRes) - this.rowBase;
    this.hMin = new Float32Array(this.rowSpan);
    this.hMax = new Float32Array(this.rowSpan);
    this.bMin = new Float32Array(nGy * nGx);
    this.bMax = new Float32Array(nGy * nGx);
    this.bounded = new Marks(nGx);
    this.modes = new Uint8Array(nGy);
    this.sureAbove = new Float64Array(nGy * 3);
    this.mayAbove = new Float64Array(nGy * 3);
  }

  /** Takes a candidate's logits: cell (r, c) is logits[offset + r·lowRes + c]. */
  load(logits: Float32Array, offset: number): void {
    this.logits = logits;
    this.offset = offset;
    this.bounded.clear();
  }

  /**
   * Classifies every block of column group gx into `modes` (with the run guards of RUNS blocks); returns how many
   * are undecided (RUNS or EXACT). With `runs` false an undecided block is EXACT.
   */
  classifyGroup(gx: number, low: number, threshold: number, high: number, runs: boolean): number {
    let undecided = 0;
    for (let gy = 0; gy < this.plan.rowGroups; gy++) {
      const md = this.blockMode(gx, gy, low, threshold, high, runs);
      this.modes[gy] = md;
      if (md >= RUNS) undecided++;
    }
    return undecided;
  }

  /** The mode of block (gx, gy); for RUNS, its run guards are set at gy·3 of sureAbove / mayAbove. */
  blockMode(gx: number, gy: number, low: number, threshold: number, high: number, runs: boolean): number {
    if (!this.bounded.has(gx)) this.bound(gx);
    const at = gx * this.plan.rowGroups + gy;
    const mn = this.bMin[at];
    const mx = this.bMax[at];
    const lo = guardLow(mn);
    const hi = guardHigh(mx);
    // NaN, ±∞ or huge logits: the plain arithmetic pixel by pixel.
    if (!(lo > -HUGE && hi < HUGE)) return EXACT;
    const lvLo = level(lo, low, threshold, high);
    const lvHi = level(hi, low, threshold, high);
    if (lvLo === lvHi) return lvLo;
    if (!runs) return EXACT;
    // A run between intermediate values a, b is a single lerp step from them, and |a|, |b| are at most the window's
    // magnitude (to within γ), so one guard per threshold covers every run of the block (|T| in it keeps T ± d clear
    // of float64 rounding).
    const m = GAMMA * Math.max(Math.abs(mn), Math.abs(mx)) + ETA;
    this.setRunGuard(gy * 3, low, m, lvLo > 0, lvHi > 0);
    this.setRunGuard(gy * 3 + 1, threshold, m, lvLo > 1, lvHi > 1);
    this.setRunGuard(gy * 3 + 2, high, m, lvLo > 2, lvHi > 2);
    return RUNS;
  }

  /**
   * Whether more than `share` of the crop's pixels lie in blocks a threshold crosses — what a full evaluation would
   * have to compute, known from the window bounds alone. Stops as soon as the answer is known.
   */
  undecidedShareAbove(low: number, threshold: number, high: number, share: number): boolean {
    const { plan } = this;
    const nGy = plan.rowGroups;
    const limit = share * plan.outW * plan.outH;
    let undecided = 0;
    for (let gx = 0; gx < plan.colGroups; gx++) {
      const w = plan.colStart[gx + 1] - plan.colStart[gx];
      for (let gy = 0; gy < nGy; gy++) {
        if (this.blockMode(gx, gy, low, threshold, high, false) < RUNS) continue;
        undecided += (plan.rowStart[gy + 1] - plan.rowStart[gy]) * w;
        if (undecided > limit) return true;
      }
    }
    return false;
  }

  private setRunGuard(i: number, t: number, m: number, allAbove: boolean, someAbove: boolean): void {
    const d = m + GAMMA * Math.abs(t);
    this.sureAbove[i] = allAbove ? -Infinity : someAbove ? t + d : Infinity;
    this.mayAbove[i] = allAbove ? -Infinity : someAbove ? t - d : Infinity;
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
    this.bounded.set(gx);
  }
}
