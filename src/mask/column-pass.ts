/**
 * The column pass: one output column of a candidate, upscaled and thresholded, as the rows where its mask value
 * flips (`edges`, starting from 0 above row 0), with its pixels counted against the stability thresholds. A decided
 * block is one stretch. In an undecided block the rows are taken by *row runs*: the output rows that read the same
 * two intermediate rows are a lerp between the same two float32 values a, b, so a row run whose [min(a, b),
 * max(a, b)] (guarded, RUNS blocks) lies on one side of the thresholds is decided at once too, and only the row runs
 * a threshold crosses go through the exact pixel loop, with the plain path's float32 steps.
 */
import { RUNS, type BlockBounds } from './block-bounds.js';
import type { FrameSource } from './frame-source.js';
import type { UpscalePlan } from './upscale.js';

const f32 = Math.fround;

export class ColumnPass {
  /** Pixels above low and above high so far (since begin()). */
  cLow = 0;
  cHigh = 0;
  /** The last column's edges: rows where the mask value flips, increasing (the first one turns it on). */
  readonly edges: Int32Array;
  private low = 0;
  private threshold = 0;
  private high = 0;
  /** The last stage's horizontal step for the current column, per frame row. */
  private readonly colVec: Float32Array;

  constructor(
    private readonly plan: UpscalePlan,
    private readonly bounds: BlockBounds,
    private readonly source: FrameSource,
  ) {
    this.colVec = new Float32Array(plan.midH);
    this.edges = new Int32Array(plan.outH + 1);
  }

  /** Starts a candidate's pass against low ≤ threshold ≤ high. */
  begin(low: number, threshold: number, high: number): void {
    this.low = low;
    this.threshold = threshold;
    this.high = high;
    this.cLow = 0;
    this.cHigh = 0;
  }

  /**
   * Output column x, rows 0…outH−1, in the column group last classified (bounds.modes, its frame values made ready
   * for the undecided blocks): fills `edges` and returns how many. Everything per pixel stays in locals.
   */
  column(x: number): number {
    const { plan, colVec, edges, low, threshold, high } = this;
    const { modes, sureAbove, mayAbove } = this.bounds;
    const { rowStart, rowRunEnd, sy2 } = plan;
    const { i0, i1, w0, w1 } = sy2;
    const nGy = plan.rowGroups;
    let k = 0;
    let cur = 0;
    let cLow = 0;
    let cHigh = 0;
    this.source.undecidedColumnVector(x, modes, colVec);
    for (let gy = 0; gy < nGy; gy++) {
      let y = rowStart[gy];
      const y1 = rowStart[gy + 1];
      const md = modes[gy];
      if (md < RUNS) {
        // A decided block: level md throughout.
        if (md > 0) cLow += y1 - y;
        if (md > 2) cHigh += y1 - y;
        const bit = md > 1 ? 1 : 0;
        if (bit !== cur) {
          edges[k++] = y;
          cur = bit;
        }
        continue;
      }
      const decide = md === RUNS;
      const g = gy * 3;
      const s0 = sureAbove[g];
      const s1 = sureAbove[g + 1];
      const s2 = sureAbove[g + 2];
      const m0 = mayAbove[g];
      const m1 = mayAbove[g + 1];
      const m2 = mayAbove[g + 2];
      while (y < y1) {
        let e = rowRunEnd[y];
        if (e > y1) e = y1;
        const a = colVec[i0[y]];
        const b = colVec[i1[y]];
        if (decide) {
          const mn = a < b ? a : b;
          const mx = a < b ? b : a;
          const lvLo = (mn > s0 ? 1 : 0) + (mn > s1 ? 1 : 0) + (mn > s2 ? 1 : 0);
          const lvHi = (mx > m0 ? 1 : 0) + (mx > m1 ? 1 : 0) + (mx > m2 ? 1 : 0);
          if (lvLo === lvHi) {
            // The whole row run is on one side of every threshold.
            if (lvLo > 0) cLow += e - y;
            if (lvLo > 2) cHigh += e - y;
            const bit = lvLo > 1 ? 1 : 0;
            if (bit !== cur) {
              edges[k++] = y;
              cur = bit;
            }
            y = e;
            continue;
          }
        }
        // The exact pixel loop.
        for (; y < e; y++) {
          const v = f32(f32(a * w0[y]) + f32(b * w1[y]));
          if (v > low) {
            cLow++;
            if (v > high) cHigh++;
          }
          const bit = v > threshold ? 1 : 0;
          if (bit !== cur) {
            edges[k++] = y;
            cur = bit;
          }
        }
      }
    }
    this.cLow += cLow;
    this.cHigh += cHigh;
    return k;
  }
}
