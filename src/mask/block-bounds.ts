/**
 * Which output blocks of a candidate are decided before any pixel is computed. Every upscaled value of a block is a
 * convex combination of its window of low-res cells (UpscalePlan: 1 to 3 cells per axis, 2 for SAM 2), computed with
 * a few float32 roundings, so it lies within the window's guarded [min, max] (see GAMMA). A block whose guarded
 * bounds lie on one side of every threshold is decided whole; one that a threshold crosses is walked by row runs
 * (RUNS), or pixel by pixel (EXACT) where the bounds cannot be trusted (NaN, ±∞, huge values).
 *
 * The thresholds are low ≤ threshold ≤ high (the stability score's two and the mask's: mask threshold ∓ an offset
 * ≥ 0, rounded to float32, which keeps the order). A value's *level* is how many of them it exceeds, so a block, a
 * run or a pixel has level 0…3: level > 0 counts towards the low count, level > 2 towards the high one, and the mask
 * bit is level > 1.
 *
 * How it is cheap: the guards x ∓ γ|x| ∓ η are increasing in x, so the guarded min of any set of cells is the guard
 * of its min, and likewise for the max. A set of cells (a window, a row of a tile column, a tile) therefore has a
 * 5-bit *code* — bit k set for each level k between the guarded levels of its min and of its max (bits lvLo…lvHi),
 * bit 4 alone when a cell is NaN, ±∞ or huge — found from its min and max by plain compares against float32 cut
 * values computed once per set of thresholds (Cuts: exact, each cut is the last float32 on the other side of its
 * guard). A single bit k is a set decided at level k, and a subset of a decided set is decided at the same level,
 * so a tile of TILE×TILE blocks (the OR of the codes of the rows its windows cover, coded a tile column at a time
 * when first needed) decides all its blocks at once: the wide decided areas of a sharp mask (most of a crop) cost a
 * tile each, and the pass over an output column walks *segments* — maximal stretches of decided blocks of one level,
 * and undecided blocks one by one — rather than every block.
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

/**
 * A cell value's guards: an upscaled value of a window lies within [min guardLow, max guardHigh] of its cells (exported
 * for tests).
 */
export function guardLow(x: number): number {
  return x - GAMMA * Math.abs(x) - ETA;
}
export function guardHigh(x: number): number {
  return x + GAMMA * Math.abs(x) + ETA;
}

/** Block modes above the decided levels 0…3: row runs decided where they can be, or every pixel computed. */
export const RUNS = 4;
export const EXACT = 5;

/** Code bit of a cell that is NaN, ±∞ or huge. */
const SPECIAL = 16;

/** Blocks per tile side. Measured on sharp (toy) and smooth logits: 8 beats 4 and 16. */
export const TILE = 8;

/** Mode of a block code against the three thresholds: a single level bit is decided, a special bit is EXACT. */
const LEVEL_MODE = new Uint8Array(32);
/** Mode of a block code against the mask threshold alone: 0 (all ≤), 3 (all >) or EXACT. */
const MASK_MODE = new Uint8Array(32);
/** Lowest and highest level bit of a code: the block's guarded levels lvLo, lvHi. */
const LOW_BIT = new Uint8Array(32);
const HIGH_BIT = new Uint8Array(32);
for (let o = 0; o < 32; o++) {
  const single = o === 1 || o === 2 || o === 4 || o === 8;
  LEVEL_MODE[o] = o & SPECIAL ? EXACT : single ? 31 - Math.clz32(o) : RUNS;
  MASK_MODE[o] = o & SPECIAL ? EXACT : (o & 12) === 0 ? 0 : (o & 3) === 0 ? 3 : EXACT;
  LOW_BIT[o] = 31 - Math.clz32(o & -o);
  HIGH_BIT[o] = 31 - Math.clz32(o & 15);
}

const f32Scratch = new Float32Array(1);
const i32Scratch = new Int32Array(f32Scratch.buffer);
/** float32 x as an integer increasing with x (−0 and +0 alike), and back. */
function keyOf(x: number): number {
  f32Scratch[0] = x;
  const i = i32Scratch[0];
  return i >= 0 ? i : -(i & 0x7fffffff);
}
function floatOf(k: number): number {
  i32Scratch[0] = k >= 0 ? k : -k | 0x80000000;
  return f32Scratch[0];
}
/**
 * The largest float32 x in [lo, hi] with pred(x), for pred true up to some point and false after it; lo when pred
 * is false throughout (it is then false for every value above lo too).
 */
function lastWhere(pred: (x: number) => boolean, lo: number, hi: number): number {
  let a = keyOf(lo);
  let b = keyOf(hi);
  if (!pred(floatOf(a))) return lo;
  if (pred(floatOf(b))) return hi;
  // pred(a) && !pred(b)
  while (b - a > 1) {
    const m = a + Math.floor((b - a) / 2);
    if (pred(floatOf(m))) a = m;
    else b = m;
  }
  return floatOf(a);
}

/**
 * float32 cut values that turn the guards into plain compares, for one set of thresholds: a float32 cell v is
 * ordinary (not special) iff sLo < v ≤ sTop, and then guardLow(v) > Tₖ iff v > lowCut[k], guardHigh(v) > Tₖ iff
 * v > highCut[k]. Exact, not approximate: each cut is the last float32 where its (increasing) guard is still on the
 * other side. Exported for tests.
 */
export class Cuts {
  readonly lowCut = new Float64Array(3);
  readonly highCut = new Float64Array(3);
  readonly sLo: number;
  readonly sTop: number;

  constructor(readonly low: number, readonly threshold: number, readonly high: number) {
    const MAX = 3.4028234663852886e38;
    this.sLo = lastWhere((x) => !(guardLow(x) > -HUGE), -MAX, MAX);
    this.sTop = lastWhere((x) => guardHigh(x) < HUGE, -MAX, MAX);
    const ts = [low, threshold, high];
    for (let k = 0; k < 3; k++) {
      const t = ts[k];
      this.lowCut[k] = lastWhere((x) => !(guardLow(x) > t), this.sLo, this.sTop);
      this.highCut[k] = lastWhere((x) => !(guardHigh(x) > t), this.sLo, this.sTop);
    }
  }

  is(low: number, threshold: number, high: number): boolean {
    return Object.is(low, this.low) && Object.is(threshold, this.threshold) && Object.is(high, this.high);
  }
}

/**
 * Codes of the loaded candidate's tiles and blocks against a set of thresholds, and the classification of a column
 * group's blocks into segments. Tile codes are made a tile column (strip) at a time, when first asked for, so a
 * question that stops early (undecidedShareAbove, box scans) codes only the strips it looks at.
 */
export class BlockBounds {
  /**
   * Segments of the column group last classified, top to bottom: output rows segY0[s]…segY1[s]−1 with mode
   * segMode[s] — a decided level 0…3 (maximal: neighbours differ), or RUNS / EXACT for the single block row
   * segGy[s].
   */
  segN = 0;
  readonly segY0: Int32Array;
  readonly segY1: Int32Array;
  readonly segMode: Uint8Array;
  readonly segGy: Int32Array;
  /**
   * Per row group in RUNS mode, per threshold (3 each): a row run lerping between a and b has every pixel above the
   * threshold when min(a, b) > sureAbove, and none when max(a, b) ≤ mayAbove (the threshold ± the block's guard;
   * −∞ for a threshold the whole block exceeds, +∞ for one it never does).
   */
  readonly sureAbove: Float64Array;
  readonly mayAbove: Float64Array;
  /** The low-res rows the blocks read: rowBase … rowBase + rowSpan − 1. */
  readonly rowBase: number;
  readonly rowSpan: number;
  /** Tiles: TILE row groups × TILE column groups, nTy × nTx of them. */
  readonly nTy: number;
  private readonly nTx: number;
  private readonly plan: UpscalePlan;
  /** Window of each row / column group: its first and last low-res row (column). */
  private readonly rowWin0: Int32Array;
  private readonly rowWin1: Int32Array;
  private readonly colWin0: Int32Array;
  private readonly colWin1: Int32Array;
  /** The cells (first, last) each tile row / column covers: the union of its groups' windows. */
  private readonly rowTile0: Int32Array;
  private readonly rowTile1: Int32Array;
  private readonly colTile0: Int32Array;
  private readonly colTile1: Int32Array;
  /** Codes of the tiles (ty·nTx + tx) of the strips in `coded`, and scratch for a strip's per-row codes. */
  private readonly tileCodes: Uint8Array;
  private readonly stripRows: Uint8Array;
  private readonly coded: Marks;
  private cuts: Cuts;
  private logits: Float32Array = new Float32Array(0);
  private offset = 0;
  /** Per low-res row: min and max over the window columns of the column group classifyGroup() works on. */
  private readonly hMin: Float64Array;
  private readonly hMax: Float64Array;
  /** Min and max of the window whose code was taken last (for its run guards). */
  private winMin = 0;
  private winMax = 0;

  constructor(plan: UpscalePlan) {
    this.plan = plan;
    const nGy = plan.rowGroups;
    const nGx = plan.colGroups;
    this.rowWin0 = plan.rowAnchor;
    this.rowWin1 = plan.rowWindowEnd;
    this.colWin0 = plan.colAnchor;
    this.colWin1 = plan.colWindowEnd;
    this.rowBase = plan.rowAnchor[0];
    this.rowSpan = max(plan.rowWindowEnd) + 1 - this.rowBase;
    this.nTy = Math.ceil(nGy / TILE);
    this.nTx = Math.ceil(nGx / TILE);
    [this.rowTile0, this.rowTile1] = tileRanges(this.rowWin0, this.rowWin1, this.nTy);
    [this.colTile0, this.colTile1] = tileRanges(this.colWin0, this.colWin1, this.nTx);
    this.tileCodes = new Uint8Array(this.nTy * this.nTx);
    this.stripRows = new Uint8Array(plan.lowRes);
    this.hMin = new Float64Array(plan.lowRes);
    this.hMax = new Float64Array(plan.lowRes);
    this.coded = new Marks(this.nTx);
    this.cuts = new Cuts(0, 0, 0);
    this.segY0 = new Int32Array(nGy);
    this.segY1 = new Int32Array(nGy);
    this.segMode = new Uint8Array(nGy);
    this.segGy = new Int32Array(nGy);
    this.sureAbove = new Float64Array(nGy * 3);
    this.mayAbove = new Float64Array(nGy * 3);
  }

  /** Takes a candidate's logits: cell (r, c) is logits[offset + r·lowRes + c]. */
  load(logits: Float32Array, offset: number): void {
    this.logits = logits;
    this.offset = offset;
    this.coded.clear();
  }

  /**
   * Classifies every block of column group gx against the thresholds into the segments (with the run guards of RUNS
   * blocks); returns how many blocks are undecided (RUNS or EXACT). With `runs` false an undecided block is EXACT.
   */
  classifyGroup(gx: number, low: number, threshold: number, high: number, runs: boolean): number {
    this.useThresholds(low, threshold, high);
    const tx = (gx / TILE) | 0;
    this.codeStrip(tx);
    const { plan, tileCodes, segY0, segY1, segMode, segGy, hMin, hMax, rowWin0, rowWin1 } = this;
    const { rowStart } = plan;
    const nGy = plan.rowGroups;
    const nTx = this.nTx;
    let n = 0;
    // Mode of the last segment (decided ones merge with it), 255 for none.
    let last = 255;
    let undecided = 0;
    for (let ty = 0; ty < this.nTy; ty++) {
      const gy0 = ty * TILE;
      const gy1 = gy0 + TILE < nGy ? gy0 + TILE : nGy;
      const tm = LEVEL_MODE[tileCodes[ty * nTx + tx]];
      if (tm < RUNS) {
        if (tm === last) {
          segY1[n - 1] = rowStart[gy1];
        } else {
          segY0[n] = rowStart[gy0];
          segY1[n] = rowStart[gy1];
          segMode[n++] = tm;
          last = tm;
        }
        continue;
      }
      // An undecided tile: the min and max of each of its cell rows over the group's window columns once, then each
      // block's from the rows of its window.
      this.groupRows(gx, this.rowTile0[ty], this.rowTile1[ty]);
      for (let gy = gy0; gy < gy1; gy++) {
        let mn = hMin[rowWin0[gy]];
        let mx = hMax[rowWin0[gy]];
        for (let r = rowWin0[gy] + 1, r1 = rowWin1[gy]; r <= r1; r++) {
          mn = Math.min(mn, hMin[r]);
          mx = Math.max(mx, hMax[r]);
        }
        this.winMin = mn;
        this.winMax = mx;
        const o = this.rangeCode(mn, mx);
        let md = LEVEL_MODE[o];
        if (md < RUNS) {
          if (md === last) {
            segY1[n - 1] = rowStart[gy + 1];
          } else {
            segY0[n] = rowStart[gy];
            segY1[n] = rowStart[gy + 1];
            segMode[n++] = md;
            last = md;
          }
          continue;
        }
        if (md === RUNS) {
          if (runs) this.setRunGuards(gy, o);
          else md = EXACT;
        }
        segY0[n] = rowStart[gy];
        segY1[n] = rowStart[gy + 1];
        segMode[n] = md;
        segGy[n++] = gy;
        last = md;
        undecided++;
      }
    }
    this.segN = n;
    return undecided;
  }

  /**
   * When every tile of tile column tx is decided against the thresholds, sets the segments that all its column
   * groups share and returns true (their blocks are all decided); else returns false and leaves the segments.
   */
  classifyStrip(tx: number, low: number, threshold: number, high: number): boolean {
    this.useThresholds(low, threshold, high);
    this.codeStrip(tx);
    const { plan, tileCodes, nTx, nTy, segY0, segY1, segMode } = this;
    for (let ty = 0; ty < nTy; ty++) if (LEVEL_MODE[tileCodes[ty * nTx + tx]] >= RUNS) return false;
    const { rowStart } = plan;
    const nGy = plan.rowGroups;
    let n = 0;
    let last = 255;
    for (let ty = 0; ty < nTy; ty++) {
      const tm = LEVEL_MODE[tileCodes[ty * nTx + tx]];
      const y1 = rowStart[Math.min((ty + 1) * TILE, nGy)];
      if (tm === last) {
        segY1[n - 1] = y1;
      } else {
        segY0[n] = rowStart[ty * TILE];
        segY1[n] = y1;
        segMode[n++] = tm;
        last = tm;
      }
    }
    this.segN = n;
    return true;
  }

  /**
   * Whether more than `share` of the crop's pixels lie in blocks a threshold (low ≤ threshold ≤ high) crosses —
   * what a full evaluation would have to compute, known from the codes alone. Stops as soon as the answer is known.
   */
  undecidedShareAbove(low: number, threshold: number, high: number, share: number): boolean {
    this.useThresholds(low, threshold, high);
    const { plan, tileCodes, nTx } = this;
    const { rowStart, colStart } = plan;
    const nGy = plan.rowGroups;
    const nGx = plan.colGroups;
    const limit = share * plan.outW * plan.outH;
    let undecided = 0;
    for (let tx = 0; tx < nTx; tx++) {
      this.codeStrip(tx);
      const gx1 = Math.min((tx + 1) * TILE, nGx);
      for (let ty = 0; ty < this.nTy; ty++) {
        if (LEVEL_MODE[tileCodes[ty * nTx + tx]] < RUNS) continue;
        const gy1 = Math.min((ty + 1) * TILE, nGy);
        for (let gx = tx * TILE; gx < gx1; gx++) {
          const w = colStart[gx + 1] - colStart[gx];
          for (let gy = ty * TILE; gy < gy1; gy++) {
            if (LEVEL_MODE[this.blockCode(gx, gy)] < RUNS) continue;
            undecided += (rowStart[gy + 1] - rowStart[gy]) * w;
            if (undecided > limit) return true;
          }
        }
      }
    }
    return false;
  }

  /**
   * Makes the codes ready for questions about the mask threshold alone (maskTileMode, maskBlockMode): the codes
   * against the thresholds in use when the mask threshold is their middle one, else against (t, t, t).
   */
  useMaskThreshold(threshold: number): void {
    if (!Object.is(this.cuts.threshold, threshold)) this.useThresholds(threshold, threshold, threshold);
  }

  /** Tile (tx, ty)'s mode against the mask threshold (useMaskThreshold first): 0 (all ≤), 3 (all >) or EXACT. */
  maskTileMode(tx: number, ty: number): number {
    this.codeStrip(tx);
    return MASK_MODE[this.tileCodes[ty * this.nTx + tx]];
  }

  /** Block (gx, gy)'s mode against the mask threshold (useMaskThreshold first): 0, 3 or EXACT. */
  maskBlockMode(gx: number, gy: number): number {
    return MASK_MODE[this.blockCode(gx, gy)];
  }

  /** Codes against (low, threshold, high) from here on. */
  private useThresholds(low: number, threshold: number, high: number): void {
    if (this.cuts.is(low, threshold, high)) return;
    this.cuts = new Cuts(low, threshold, high);
    this.coded.clear();
  }

  /** The code of block (gx, gy): of its window's min and max (winMin, winMax), or SPECIAL. */
  private blockCode(gx: number, gy: number): number {
    const { logits } = this;
    const n = this.plan.lowRes;
    const c0 = this.colWin0[gx];
    const c1 = this.colWin1[gx];
    let mn = Infinity;
    let mx = -Infinity;
    let nan = false;
    for (let r = this.rowWin0[gy], r1 = this.rowWin1[gy]; r <= r1; r++) {
      const at = this.offset + r * n;
      for (let c = at + c0, end = at + c1; c <= end; c++) {
        const v = logits[c];
        if (v < mn) mn = v;
        if (v > mx) mx = v;
        if (v !== v) nan = true;
      }
    }
    this.winMin = mn;
    this.winMax = mx;
    return nan ? SPECIAL : this.rangeCode(mn, mx);
  }

  /**
   * hMin, hMax of cell rows r0…r1 over column group gx's window columns. Math.min / max, unlike compares, carry a NaN
   * through, and rangeCode() makes a NaN bound SPECIAL.
   */
  private groupRows(gx: number, r0: number, r1: number): void {
    const { logits, hMin, hMax } = this;
    const n = this.plan.lowRes;
    const c0 = this.colWin0[gx];
    const c1 = this.colWin1[gx];
    for (let r = r0; r <= r1; r++) {
      const at = this.offset + r * n;
      let mn = logits[at + c0];
      let mx = mn;
      for (let c = at + c0 + 1, end = at + c1; c <= end; c++) {
        const v = logits[c];
        mn = Math.min(mn, v);
        mx = Math.max(mx, v);
      }
      hMin[r] = mn;
      hMax[r] = mx;
    }
  }

  /** The code of the values mn…mx: bits lvLo(mn)…lvHi(mx), or SPECIAL (also when either is NaN). */
  private rangeCode(mn: number, mx: number): number {
    const { cuts } = this;
    if (!(mn > cuts.sLo && mx <= cuts.sTop)) return SPECIAL;
    const { lowCut, highCut } = cuts;
    const lo = (mn > lowCut[0] ? 1 : 0) + (mn > lowCut[1] ? 1 : 0) + (mn > lowCut[2] ? 1 : 0);
    const hi = (mx > highCut[0] ? 1 : 0) + (mx > highCut[1] ? 1 : 0) + (mx > highCut[2] ? 1 : 0);
    return (2 << hi) - (1 << lo);
  }

  /** Run guards of RUNS block row gy, whose code is o and whose window's code was taken last (winMin, winMax). */
  private setRunGuards(gy: number, o: number): void {
    // A run between intermediate values a, b is a single lerp step from them, and |a|, |b| are at most the window's
    // magnitude (to within γ), so one guard per threshold covers every run of the block (|T| in it keeps T ± d clear
    // of float64 rounding).
    const m = GAMMA * Math.max(Math.abs(this.winMin), Math.abs(this.winMax)) + ETA;
    const lvLo = LOW_BIT[o];
    const lvHi = HIGH_BIT[o];
    const { cuts } = this;
    this.setRunGuard(gy * 3, cuts.low, m, lvLo > 0, lvHi > 0);
    this.setRunGuard(gy * 3 + 1, cuts.threshold, m, lvLo > 1, lvHi > 1);
    this.setRunGuard(gy * 3 + 2, cuts.high, m, lvLo > 2, lvHi > 2);
  }

  private setRunGuard(i: number, t: number, m: number, allAbove: boolean, someAbove: boolean): void {
    const d = m + GAMMA * Math.abs(t);
    this.sureAbove[i] = allAbove ? -Infinity : someAbove ? t + d : Infinity;
    this.mayAbove[i] = allAbove ? -Infinity : someAbove ? t - d : Infinity;
  }

  /**
   * The codes of tile column tx's tiles, unless already there: per low-res row the code of its cells in the strip,
   * from their min and max in one pass (Math.min / max carry a NaN through, which rangeCode() makes SPECIAL), then per
   * tile the OR over its rows.
   */
  private codeStrip(tx: number): void {
    if (this.coded.has(tx)) return;
    const { logits, stripRows, nTx, tileCodes, rowTile0, rowTile1 } = this;
    const n = this.plan.lowRes;
    const c0 = this.colTile0[tx];
    const c1 = this.colTile1[tx];
    const r1 = this.rowBase + this.rowSpan;
    for (let r = this.rowBase; r < r1; r++) {
      const at = this.offset + r * n;
      let mn = logits[at + c0];
      let mx = mn;
      for (let c = at + c0 + 1, end = at + c1; c <= end; c++) {
        const v = logits[c];
        mn = Math.min(mn, v);
        mx = Math.max(mx, v);
      }
      stripRows[r] = this.rangeCode(mn, mx);
    }
    for (let ty = 0; ty < this.nTy; ty++) {
      let o = 0;
      for (let r = rowTile0[ty], e = rowTile1[ty]; r <= e; r++) o |= stripRows[r];
      tileCodes[ty * nTx + tx] = o;
    }
    this.coded.set(tx);
  }
}

function max(a: Int32Array): number {
  let m = a[0];
  for (let i = 1; i < a.length; i++) if (a[i] > m) m = a[i];
  return m;
}

/** The cell range (first, last) covered by the windows of each tile of TILE groups. */
function tileRanges(win0: Int32Array, win1: Int32Array, tiles: number): [Int32Array, Int32Array] {
  const lo = new Int32Array(tiles);
  const hi = new Int32Array(tiles);
  for (let t = 0; t < tiles; t++) {
    const g0 = t * TILE;
    const g1 = Math.min(g0 + TILE, win0.length);
    lo[t] = win0[g0];
    let h = win1[g0];
    for (let g = g0 + 1; g < g1; g++) if (win1[g] > h) h = win1[g];
    hi[t] = h;
  }
  return [lo, hi];
}
