/**
 * Per-batch filtering of one crop's candidates (amg-reference.md, "One crop", step 3): predicted-IoU filter before
 * any upscaling, then stability, binarisation, box, edge filter and RLE per candidate. The per-candidate work runs
 * in a CandidateEvaluator (inline, or on worker threads); outcomes are applied in candidate order, so the result
 * does not depend on where or when they were computed.
 *
 * When the stability filter is off nothing needs a candidate's counts before NMS, so an expensive candidate (smooth
 * or noisy logits) may come back with its box only: it takes part in NMS with that box, and only the survivors are
 * evaluated fully (resolve) — the same masks and scores, without computing masks that NMS throws away.
 */
import { isBoxNearCropEdge } from '../crop/crop-boxes.js';
import type { CandidateEvaluator, CandidateOutcome, EvaluationRequest, EvaluationSettings } from '../mask/evaluator.js';
import type { DecodedBatch, EncodedCrop } from '../model/adapter.js';
import type { Rle } from '../rle/rle.js';
import type { GeneratorStats } from './generator.js';
import type { AmgOptions } from './options.js';
import type { BoxXYXY } from './types.js';

const f32 = Math.fround;
const now = (): number => performance.now() / 1000;

/**
 * Threshold of SAM 2's low-resolution clean-up: the reference generator builds its image predictor without passing
 * its own mask_threshold, so the clean-up runs at the predictor's default, 0.0, whatever mask_threshold is; the
 * generator's mask_threshold drives only the stability score and the binarisation.
 */
export const SAM2_CLEANUP_THRESHOLD = 0;

/** Batches handed to an asynchronous evaluator and not yet applied; the generator waits beyond this. */
const MAX_BATCHES_IN_FLIGHT = 2;

/** A mask that survived the per-batch filters, in its crop's frame. */
export interface Candidate {
  rle: Rle;
  area: number;
  box: BoxXYXY;
  iou: number;
  stability: number;
  pointX: number;
  pointY: number;
}

/** A candidate before NMS: box and score, and either its mask or the logits to compute it from. */
interface Entry {
  box: BoxXYXY;
  iou: number;
  pointX: number;
  pointY: number;
  done: Candidate | null;
  deferred: Float32Array | null;
}

/** What the post-processor needs from its generator. */
export interface PostprocessContext {
  readonly options: AmgOptions;
  readonly family: 'sam' | 'sam2';
  readonly stats: GeneratorStats;
  readonly evaluator: CandidateEvaluator;
}

export class CropPostprocessor {
  private readonly entries: Entry[] = [];
  private readonly settings: EvaluationSettings;
  private readonly stabilityFilter: boolean;
  private readonly stabilityThresh: number;
  /** Batches sent to an asynchronous evaluator, applied in order as they come back. */
  private inFlight: Promise<void>[] = [];
  private applied: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: PostprocessContext,
    encoded: EncodedCrop,
    private readonly cropBox: BoxXYXY,
    private readonly imageW: number,
    private readonly imageH: number,
  ) {
    const o = ctx.options;
    this.stabilityFilter = o.stabilityScoreThresh > 0;
    this.stabilityThresh = f32(o.stabilityScoreThresh);
    const lowResCleanup = ctx.family === 'sam2' && o.minMaskRegionArea > 0;
    this.settings = {
      geometry: encoded.geometry,
      cropW: encoded.width,
      cropH: encoded.height,
      cropBox,
      imageW,
      imageH,
      low: f32(o.maskThreshold - o.stabilityScoreOffset),
      threshold: f32(o.maskThreshold),
      high: f32(o.maskThreshold + o.stabilityScoreOffset),
      // With the filter on, the pass stops early for a candidate whose score is sure to end below the threshold.
      minStability: this.stabilityFilter ? this.stabilityThresh : 0,
      lowResCleanup: lowResCleanup ? { threshold: SAM2_CLEANUP_THRESHOLD, minArea: o.minMaskRegionArea } : null,
      allowDeferral: !this.stabilityFilter,
    };
  }

  /**
   * Filters one decoded batch (prompts start … start + count − 1 of `points`). Resolves once the evaluator can take
   * another batch; the batch's candidates are in `finish()`'s result either way.
   */
  async addBatch(out: DecodedBatch, points: Float64Array, start: number): Promise<void> {
    const t = now();
    const o = this.ctx.options;
    const stats = this.ctx.stats;
    const cells = this.settings.geometry.lowRes ** 2;
    const iouThresh = f32(o.predIouThresh);
    const total = out.count * out.masksPerPrompt;
    const selected: number[] = [];
    for (let idx = 0; idx < total; idx++) {
      if (o.predIouThresh > 0 && !(out.iou[idx] > iouThresh)) continue;
      selected.push(idx);
    }
    stats.candidates += total;
    stats.afterIou += selected.length;
    const request: EvaluationRequest = {
      settings: this.settings,
      logits: out.logits,
      offsets: Int32Array.from(selected, (idx) => idx * cells),
      full: false,
    };
    const outcomes = selected.length > 0 ? this.ctx.evaluator.evaluate(request) : [];
    const apply = (r: CandidateOutcome[]): void => this.apply(r, selected, out, points, start);
    if (Array.isArray(outcomes)) {
      apply(outcomes);
      stats.postprocessS += now() - t;
      return;
    }
    const done = outcomes;
    this.applied = this.applied.then(() => done).then(apply);
    // Handled here so that a failure left behind when the crop is abandoned is not an unhandled rejection; whoever
    // awaits the chain still gets the error.
    this.applied.catch(() => undefined);
    this.inFlight.push(this.applied);
    stats.postprocessS += now() - t;
    if (this.inFlight.length >= MAX_BATCHES_IN_FLIGHT) await this.waitFor(this.inFlight.shift() as Promise<void>);
  }

  /** Every candidate that passed the filters, in candidate order: boxes and predicted IoUs for NMS. */
  async finish(): Promise<{ box: BoxXYXY; iou: number }[]> {
    await this.waitFor(this.applied);
    this.inFlight = [];
    return this.entries;
  }

  /** The kept candidates (indices into finish()'s list, in that order), evaluating the deferred ones now. */
  async resolve(keep: number[]): Promise<Candidate[]> {
    const t = now();
    const waiting = keep.filter((k) => this.entries[k].done === null);
    if (waiting.length > 0) {
      const stride = this.entries[waiting[0]].deferred?.length ?? 0;
      const logits = new Float32Array(stride * waiting.length);
      waiting.forEach((k, i) => logits.set(this.entries[k].deferred as Float32Array, i * stride));
      const request: EvaluationRequest = {
        settings: this.settings,
        logits,
        offsets: Int32Array.from(waiting, (_, i) => i * stride),
        full: true,
      };
      const outcomes = await this.ctx.evaluator.evaluate(request);
      waiting.forEach((k, i) => {
        const e = this.entries[k];
        const r = outcomes[i];
        if (r.kind !== 'evaluated' || r.mask === null || String(r.mask.box) !== String(e.box)) {
          throw new Error(`internal: a deferred candidate's full evaluation disagrees with its box ${e.box.join(',')}`);
        }
        e.done = this.candidate(r.mask.rle, r.mask.area, e.box, e.iou, stabilityOf(r.counts.high, r.counts.low), e);
        e.deferred = null;
      });
    }
    this.ctx.stats.postprocessS += now() - t;
    return keep.map((k) => this.entries[k].done as Candidate);
  }

  private apply(outcomes: CandidateOutcome[], selected: number[], out: DecodedBatch, points: Float64Array, start: number): void {
    const stats = this.ctx.stats;
    const m = out.masksPerPrompt;
    for (let k = 0; k < selected.length; k++) {
      const r = outcomes[k];
      if (r.kind === 'rejected') continue;
      const idx = selected[k];
      const iou = out.iou[idx];
      const p = start + Math.floor(idx / m);
      const point = { pointX: points[2 * p], pointY: points[2 * p + 1] };
      if (r.kind === 'evaluated') {
        const stability = stabilityOf(r.counts.high, r.counts.low);
        if (this.stabilityFilter && !(stability >= this.stabilityThresh)) continue;
        stats.afterStability++;
        // An empty mask is never emitted (a documented departure: the reference would write NaN scores for it).
        if (r.mask === null) continue;
        if (isBoxNearCropEdge(r.mask.box, this.cropBox, this.imageW, this.imageH)) continue;
        stats.afterEdge++;
        const box = r.mask.box;
        this.entries.push({ box, iou, ...point, done: this.candidate(r.mask.rle, r.mask.area, box, iou, stability, point), deferred: null });
      } else {
        // Deferred only when the stability filter is off: every candidate passes it.
        stats.afterStability++;
        if (r.box === null) continue;
        if (isBoxNearCropEdge(r.box, this.cropBox, this.imageW, this.imageH)) continue;
        stats.afterEdge++;
        this.entries.push({ box: r.box, iou, ...point, done: null, deferred: r.logits });
      }
    }
  }

  private candidate(rle: Rle, area: number, box: BoxXYXY, iou: number, stability: number, point: { pointX: number; pointY: number }): Candidate {
    return { rle, area, box, iou, stability, pointX: point.pointX, pointY: point.pointY };
  }

  private async waitFor(p: Promise<void>): Promise<void> {
    const t = now();
    await p;
    this.ctx.stats.postprocessS += now() - t;
  }
}

/** The stability score as the reference computes it: a float32 quotient, NaN when nothing is above the low threshold. */
function stabilityOf(high: number, low: number): number {
  return low === 0 ? NaN : f32(high / low);
}
