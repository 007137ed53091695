/**
 * What the last upscaling stage of a candidate reads, and its horizontal step. Two-stage plans (SAM 1) read the
 * intermediate 1024-frame, whose values are computed lazily — whole columns, or only the rows of the blocks that need
 * them — so that decided blocks cost nothing; one-stage plans read the logits themselves.
 */
import { Marks } from './marks.js';
import { RUNS, type BlockBounds } from './block-bounds.js';
import type { UpscalePlan } from './upscale.js';

const f32 = Math.fround;

export class FrameSource {
  private readonly plan: UpscalePlan;
  /** Intermediate-frame columns (column-major, midH values each) of a two-stage plan; null for one-stage plans. */
  private readonly frame: Float32Array | null;
  /** Frame columns filled whole, and (column, row group) tiles filled, for the loaded candidate. */
  private readonly columnDone: Marks;
  private readonly tileDone: Marks;
  private readonly scratch: Float32Array;
  private logits: Float32Array = new Float32Array(0);
  private offset = 0;
  /** Where the last stage reads: column X, row Y is src[base + X·colStride + Y·rowStride]. */
  private src: Float32Array = new Float32Array(0);
  private base = 0;
  private readonly colStride: number;
  private readonly rowStride: number;
  /** The selected output column: where its two source columns start, and their weights. */
  private b0 = 0;
  private b1 = 0;
  private wx0 = 0;
  private wx1 = 0;

  constructor(plan: UpscalePlan) {
    this.plan = plan;
    this.frame = plan.twoStage ? new Float32Array(plan.midW * plan.midH) : null;
    this.columnDone = new Marks(plan.twoStage ? plan.midW : 0);
    this.tileDone = new Marks(plan.twoStage ? plan.midW * plan.rowGroups : 0);
    this.scratch = new Float32Array(plan.lowRes);
    this.colStride = plan.twoStage ? plan.midH : 1;
    this.rowStride = plan.twoStage ? 1 : plan.lowRes;
  }

  /** Takes a candidate's logits (see CandidateMasker.load). */
  load(logits: Float32Array, offset: number): void {
    this.logits = logits;
    this.offset = offset;
    this.src = this.frame ?? logits;
    this.base = this.frame !== null ? 0 : offset;
    this.columnDone.clear();
    this.tileDone.clear();
  }

  /**
   * Makes ready the frame values that column group gx's undecided blocks read (the bounds' segments of mode RUNS or
   * EXACT, `undecided` of them): whole frame columns when most of the group is undecided, else only each undecided
   * block's frame rows.
   */
  prepareGroup(gx: number, bounds: BlockBounds, undecided: number): void {
    if (this.frame === null) return;
    const { plan } = this;
    const Xa = plan.colFrameLo[gx];
    const Xb = plan.colFrameHi[gx];
    if (2 * undecided > plan.rowGroups) {
      for (let X = Xa; X <= Xb; X++) {
        if (this.columnDone.has(X)) continue;
        plan.frameColumn(this.logits, this.offset, X, this.frame, X * plan.midH, this.scratch);
        this.columnDone.set(X);
      }
      return;
    }
    const { segN, segMode, segGy } = bounds;
    for (let s = 0; s < segN; s++) {
      if (segMode[s] < RUNS) continue;
      for (let X = Xa; X <= Xb; X++) this.fillTile(X, segGy[s]);
    }
  }

  /** Makes ready the frame values that block row gy of output column x reads. */
  prepareBlock(x: number, gy: number): void {
    if (this.frame === null) return;
    this.fillTile(this.plan.sx2.i0[x], gy);
    this.fillTile(this.plan.sx2.i1[x], gy);
  }

  /** Selects output column x for columnRows(). */
  selectColumn(x: number): void {
    const { sx2 } = this.plan;
    this.b0 = this.base + sx2.i0[x] * this.colStride;
    this.b1 = this.base + sx2.i1[x] * this.colStride;
    this.wx0 = sx2.w0[x];
    this.wx1 = sx2.w1[x];
  }

  /** The last stage's horizontal step for the selected column on frame rows Ya…Yb, into out[Ya…Yb] (values made ready). */
  columnRows(Ya: number, Yb: number, out: Float32Array): void {
    const { src, rowStride, b0, b1, wx0, wx1 } = this;
    if (rowStride === 1) {
      // The frame's columns are contiguous: the common case, without the multiplications.
      for (let Y = Ya; Y <= Yb; Y++) out[Y] = f32(f32(src[b0 + Y] * wx0) + f32(src[b1 + Y] * wx1));
    } else {
      for (let Y = Ya; Y <= Yb; Y++) out[Y] = f32(f32(src[b0 + Y * rowStride] * wx0) + f32(src[b1 + Y * rowStride] * wx1));
    }
  }

  /** Fills frame column X on the frame rows that row group gy reads, unless already there. */
  private fillTile(X: number, gy: number): void {
    const { plan } = this;
    const at = X * plan.rowGroups + gy;
    if (this.columnDone.has(X) || this.tileDone.has(at)) return;
    plan.frameColumnRows(this.logits, this.offset, X, plan.rowFrameLo[gy], plan.rowFrameHi[gy], this.frame as Float32Array, X * plan.midH, this.scratch);
    this.tileDone.set(at);
  }
}
