/**
 * The column pass: one output column of a candidate, upscaled and thresholded into runs, with its pixels counted
 * against the stability thresholds. A decided block is one run. In an undecided block the rows are taken by *row
 * runs*: the output rows that read the same two intermediate rows are a lerp between the same two float32 values
 * a, b, so a run whose [min(a, b), max(a, b)] (guarded, RUNS blocks) lies on one side of the thresholds is decided at
 * once too, and only the runs a threshold crosses go through the exact pixel loop, with the plain path's float32
 * steps.
 */
import { RUNS, type BlockBounds } from './block-bounds.js';
import type { FrameSource } from './frame-source.js';
import type { RunWriter } from './run-writer.js';
import type { UpscalePlan } from './upscale.js';

const f32 = Math.fround;

export class ColumnPass {
  /** Pixels above low and above high so far (since begin()). */
  cLow = 0;
  cHigh = 0;
  private low = 0;
  private threshold = 0;
  private high = 0;
  /** The last stage's horizontal step for the current column, per frame row. */
  private readonly colVec: Float32Array;

  constructor(
    private readonly plan: UpscalePlan,
    private readonly bounds: BlockBounds,
    private readonly source: FrameSource,
    private readonly writer: RunWriter,
  ) {
    this.colVec = new Float32Array(plan.midH);
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
   * Appends output column x's runs, rows 0…outH−1, in the column group last classified (bounds.modes; its frame
   * values made ready when `undecided`, i.e. when some of its blocks are).
   */
  column(x: number, undecided: boolean): void {
    const { plan, colVec } = this;
    const modes = this.bounds.modes;
    const { rowStart, rowFrameLo, rowFrameHi } = plan;
    const nGy = plan.rowGroups;
    if (!undecided) {
      for (let gy = 0; gy < nGy; gy++) this.decided(modes[gy], rowStart[gy + 1] - rowStart[gy]);
      return;
    }
    // Last frame row of colVec computed for this column (groups come in increasing row order).
    let done = -1;
    for (let gy = 0; gy < nGy; gy++) {
      const md = modes[gy];
      if (md < RUNS) {
        this.decided(md, rowStart[gy + 1] - rowStart[gy]);
        continue;
      }
      const Yb = rowFrameHi[gy];
      if (Yb > done) {
        this.source.columnVector(x, done >= rowFrameLo[gy] ? done + 1 : rowFrameLo[gy], Yb, colVec);
        done = Yb;
      }
      this.block(gy, md === RUNS, rowStart[gy], rowStart[gy + 1]);
    }
  }

  /**
   * Rows y…y1−1 of undecided block row gy, by row runs: decided from the run's two values where `decide` (RUNS),
   * else computed by the exact pixel loop with the plain path's arithmetic. The open run's value and start stay in
   * locals (`cur`, `from`); a run goes to the writer when the value changes.
   */
  private block(gy: number, decide: boolean, y: number, y1: number): void {
    const { colVec, writer, low, threshold, high } = this;
    const { rowRunEnd, sy2 } = this.plan;
    const { i0, i1, w0, w1 } = sy2;
    const { sureAbove, mayAbove } = this.bounds;
    const g = gy * 3;
    const s0 = sureAbove[g];
    const s1 = sureAbove[g + 1];
    const s2 = sureAbove[g + 2];
    const m0 = mayAbove[g];
    const m1 = mayAbove[g + 1];
    const m2 = mayAbove[g + 2];
    let cLow = 0;
    let cHigh = 0;
    let cur = writer.cur;
    let from = y;
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
          // The whole run is on one side of every threshold.
          if (lvLo > 0) cLow += e - y;
          if (lvLo > 2) cHigh += e - y;
          const bit = lvLo > 1 ? 1 : 0;
          if (bit !== cur) {
            writer.append(cur, y - from);
            from = y;
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
          writer.append(cur, y - from);
          from = y;
          cur = bit;
        }
      }
    }
    writer.append(cur, y1 - from);
    this.cLow += cLow;
    this.cHigh += cHigh;
  }

  /** `len` pixels of level `lv` (the number of thresholds they exceed). */
  private decided(lv: number, len: number): void {
    if (lv > 0) this.cLow += len;
    if (lv > 2) this.cHigh += len;
    this.writer.append(lv > 1 ? 1 : 0, len);
  }
}
