/**
 * The column pass: one output column of a candidate, upscaled and thresholded into the mask's runs, with its pixels
 * counted against the stability thresholds. A segment of decided blocks (block-bounds.ts) is one stretch of one
 * level. In an undecided block the rows are taken by *row runs*: the output rows that read the same two intermediate
 * rows are each one float32 lerp step between the same two values a, b, f32(f32(a·w0) + f32(b·w1)) with w0 + w1 ≈ 1,
 * so every value of the run lies within [min(a, b), max(a, b)] widened by the block's guard (sureAbove, mayAbove);
 * a row run whose widened range lies on one side of every threshold is decided at once, exactly. Only the row runs
 * a threshold crosses go through the pixel loop, which does the plain path's float32 steps.
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

  /** Counts the decided segments' pixels in the column group last classified (bounds' segments), `width` columns wide. */
  group(width: number): void {
    const { segN, segMode, segY0, segY1 } = this.bounds;
    for (let s = 0; s < segN; s++) {
      const md = segMode[s];
      if (md === 0 || md >= RUNS) continue;
      const px = (segY1[s] - segY0[s]) * width;
      this.cLow += px;
      if (md > 2) this.cHigh += px;
    }
  }

  /**
   * Output column x, rows 0…outH−1, in the column group last classified (bounds' segments; `undecided` when some of
   * its blocks are, their frame values made ready): its runs go on from the writer's open run (between the writer's
   * startColumn() and endColumn(), which made room for them), and the pixels of its undecided blocks are counted
   * (group() counts the others). The run state stays in locals meanwhile: a run is closed where the value changes.
   */
  column(x: number, undecided: boolean): void {
    const { plan, colVec, writer, low, threshold, high, source } = this;
    const { segN, segY0, segY1, segMode, segGy, sureAbove, mayAbove } = this.bounds;
    const { rowFrameLo, rowFrameHi, rowRunEnd, sy2 } = plan;
    const { i0, i1, w0, w1 } = sy2;
    const runs = writer.runs;
    let k = writer.n;
    let cur = writer.cur;
    let run = writer.run;
    let cLow = 0;
    let cHigh = 0;
    if (undecided) source.selectColumn(x);
    // Last frame row of colVec computed for this column (blocks come in increasing row order and may share rows).
    let done = -1;
    for (let s = 0; s < segN; s++) {
      let y = segY0[s];
      const y1 = segY1[s];
      const md = segMode[s];
      if (md < RUNS) {
        // Decided blocks: level md throughout.
        const bit = md > 1 ? 1 : 0;
        if (bit !== cur) {
          runs[k++] = run;
          run = 0;
          cur = bit;
        }
        run += y1 - y;
        continue;
      }
      const gy = segGy[s];
      if (rowFrameHi[gy] > done) {
        source.columnRows(done >= rowFrameLo[gy] ? done + 1 : rowFrameLo[gy], rowFrameHi[gy], colVec);
        done = rowFrameHi[gy];
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
              runs[k++] = run;
              run = 0;
              cur = bit;
            }
            run += e - y;
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
            runs[k++] = run;
            run = 0;
            cur = bit;
          }
          run++;
        }
      }
    }
    writer.n = k;
    writer.cur = cur;
    writer.run = run;
    this.cLow += cLow;
    this.cHigh += cHigh;
  }
}
