/**
 * Stability score, binarisation, box and RLE of one candidate straight from its low-resolution logits, without a
 * full-resolution float buffer, equal bit for bit to the plain two-pass resize followed by per-pixel compares
 * (test/oracle).
 *
 * Why it can skip work: every upscaled value lies within guarded bounds of the low-res cells it reads, so whole
 * blocks of output pixels are decided from their window's min and max (block-bounds.ts); the other blocks are walked
 * column by column in row runs, computing only the pixels a threshold crosses (column-pass.ts), from intermediate
 * values computed only where needed (frame-source.ts). box() finds the same box as a full pass from the columns at
 * the box's edges (box-scan.ts).
 */
import type { Rle } from '../rle/rle.js';
import type { BoxXYXY } from '../base/types.js';
import { BlockBounds, TILE } from './block-bounds.js';
import { BoxScan } from './box-scan.js';
import { ColumnPass } from './column-pass.js';
import { FrameSource } from './frame-source.js';
import { RunWriter } from './run-writer.js';
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
 * Per-crop post-processor: owns the scratch buffers that every candidate of the crop reuses. The pass runs down each
 * output column (the RLE's order), one column group (blocks sharing their low-res window columns) at a time; area
 * and box come from the runs each column emitted, so pixels carry no bookkeeping beyond the run-length update.
 */
export class CandidateMasker {
  private readonly plan: UpscalePlan;
  private readonly runDecisions: boolean;
  private readonly bounds: BlockBounds;
  private readonly source: FrameSource;
  private readonly writer = new RunWriter();
  private readonly pass: ColumnPass;
  private readonly scan: BoxScan;

  constructor(plan: UpscalePlan, options: MaskerOptions = {}) {
    this.plan = plan;
    this.runDecisions = options.runDecisions ?? true;
    this.bounds = new BlockBounds(plan);
    this.source = new FrameSource(plan);
    this.pass = new ColumnPass(plan, this.bounds, this.source, this.writer);
    this.scan = new BoxScan(plan, this.bounds, this.source);
  }

  /** How many low-res rows, from the first, this plan reads: a candidate kept for later needs only these. */
  get rowsRead(): number {
    return this.bounds.rowBase + this.bounds.rowSpan;
  }

  /**
   * Takes one candidate's logits (must precede the other calls): cell (r, c) is logits[offset + r·lowRes + c]; rows
   * from rowsRead on are never read.
   */
  load(logits: Float32Array, offset: number): void {
    this.bounds.load(logits, offset);
    this.source.load(logits, offset);
  }

  /**
   * Whether more than `share` of the crop's pixels lie in blocks a threshold (low ≤ threshold ≤ high) crosses — what
   * a full evaluation would have to compute, known from the window bounds alone. Stops as soon as the answer is known.
   */
  undecidedShareAbove(low: number, threshold: number, high: number, share: number): boolean {
    checkOrder(low, threshold, high);
    return this.bounds.undecidedShareAbove(low, threshold, high, share);
  }

  /**
   * One pass over the loaded candidate: exact counts above `low` and `high` (the stability score's two float32
   * thresholds, low ≤ threshold ≤ high) and the binary mask v > `threshold` as RLE in the image frame (the crop
   * placed at cropBox, zeros elsewhere), with its box in the crop frame; mask is null when empty.
   *
   * With `minStability` > 0 the pass stops as soon as the stability score is certain to end below it, whatever the
   * pixels left: then `rejected` is true, counts are partial and mask is null. The bound is exact: with H, L counted
   * so far and R pixels left, the final score is at most (H + R) / (L + R).
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
    checkOrder(low, threshold, high);
    const { plan, bounds, source, writer, pass } = this;
    const { colStart } = plan;
    const [cx0, cy0, cx1, cy1] = cropBox;
    const cropH = cy1 - cy0;
    pass.begin(low, threshold, high);
    writer.begin(imageH * cx0, cy0, imageH - cy1);
    let minX = Infinity;
    let minY = Infinity;
    let maxX = -1;
    let maxY = -1;
    let area = 0;
    const nGx = plan.colGroups;
    for (let gx = 0; gx < nGx; ) {
      // A tile column whose tiles are all decided is one unit: its column groups share their segments. Else each
      // column group is classified on its own.
      let gxEnd = gx + 1;
      let undecided = 0;
      if (gx % TILE === 0 && bounds.classifyStrip(gx / TILE, low, threshold, high)) {
        gxEnd = Math.min(gx + TILE, nGx);
      } else {
        undecided = bounds.classifyGroup(gx, low, threshold, high, this.runDecisions);
        if (undecided > 0) source.prepareGroup(gx, bounds, undecided);
      }
      const x1 = colStart[gxEnd];
      pass.group(x1 - colStart[gx]);
      for (let x = colStart[gx]; x < x1; x++) {
        writer.startColumn(cropH);
        pass.column(x, undecided > 0);
        writer.endColumn(cropH);
        if (writer.colArea > 0) {
          area += writer.colArea;
          if (x < minX) minX = x;
          maxX = x;
          if (writer.colFirst < minY) minY = writer.colFirst;
          if (writer.colLast > maxY) maxY = writer.colLast;
        }
      }
      gx = gxEnd;
      if (minStability > 0) {
        const left = (cx1 - cx0 - x1) * cropH;
        if (f32((pass.cHigh + left) / (pass.cLow + left)) < minStability) {
          return { counts: { high: pass.cHigh, low: pass.cLow }, mask: null, rejected: true };
        }
      }
    }
    const counts = { high: pass.cHigh, low: pass.cLow };
    if (area === 0) return { counts, mask: null, rejected: false };
    // The image columns right of the crop, and the last run.
    const rle: Rle = { h: imageH, w: imageW, counts: writer.finish(imageH * (imageW - cx1)) };
    return { counts, mask: { rle, box: [minX, minY, maxX, maxY], area }, rejected: false };
  }

  /**
   * The box (crop frame, max inclusive) of the loaded candidate's mask v > `threshold`, or null when the mask is
   * empty: the same box evaluate() finds, for a fraction of its work, so a candidate kept for later needs no mask
   * yet (see evaluateCandidates' deferral).
   */
  box(threshold: number): BoxXYXY | null {
    return this.scan.box(threshold);
  }
}

/** The thresholds are mask threshold ∓ an offset ≥ 0 (options.ts), rounded to float32: ordered by construction. */
function checkOrder(low: number, threshold: number, high: number): void {
  if (!(low <= threshold && threshold <= high)) {
    throw new Error(`internal: thresholds must satisfy low ≤ threshold ≤ high, got ${low}, ${threshold}, ${high}`);
  }
}
