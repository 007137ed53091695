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
import type { AmgOptions } from './options.js';
import type { CallLedger } from './stats.js';
import type { BoxXYXY } from '../base/types.js';

const f32 = Math.fround;
const now = (): number => performance.now() / 1000;

/**
 * Threshold of SAM 2's low-resolution clean-up: the reference generator builds its image predictor without passing
 * its own mask_threshold, so the clean-up runs at the predictor's default, 0.0, whatever mask_threshold is; the
 * generator's mask_threshold drives only the stability score and the binarisation.
 */
export const SAM2_CLEANUP_THRESHOLD = 0;

/** The longest stretch of inline post-processing between two turns of the event loop, in seconds. */
const YIELD_EVERY_S = 0.1;

/** Candidates per call to an inline evaluator: small enough that a turn of the event loop is never far away. */
const INLINE_SLICE = 4;

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

/** What the post-processor needs from its generator: the options, the evaluator, and the call's ledger to record in. */
export interface PostprocessContext {
  readonly options: AmgOptions;
  readonly family: 'sam' | 'sam2';
  readonly evaluator: CandidateEvaluator;
  readonly ledger: CallLedger;
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
   * Filters one decoded batch (prompts start … start + count − 1 of `points`); resolves once the evaluator can take
   * another batch. The batch's candidates are in `finish()`'s result either way, and its logits must stay as they
   * are until then (an evaluator on threads may still read them). An inline evaluator gets the candidates in slices
   * of {@link INLINE_SLICE}, and a long batch (seconds on large images) gives the event loop a turn every
   * {@link YIELD_EVERY_S} so that timers, signals, progress and I/O are served; any other gets the batch in one
   * request. The records do not change.
   */
  async addBatch(out: DecodedBatch, points: Float64Array, start: number): Promise<void> {
    const clock = new SpentClock();
    const o = this.ctx.options;
    const ledger = this.ctx.ledger;
    const cells = this.settings.geometry.lowRes ** 2;
    const iouThresh = f32(o.predIouThresh);
    const total = out.count * out.masksPerPrompt;
    const selected: number[] = [];
    for (let idx = 0; idx < total; idx++) {
      if (o.predIouThresh > 0 && !(out.iou[idx] > iouThresh)) continue;
      selected.push(idx);
    }
    ledger.count('candidates', total);
    ledger.count('afterIou', selected.length);
    const request = (from: number, to: number): EvaluationRequest => ({
      settings: this.settings,
      logits: out.logits,
      offsets: Int32Array.from(selected.slice(from, to), (idx) => idx * cells),
      full: false,
    });
    const apply = (r: CandidateOutcome[], from: number): void => this.apply(r, selected, from, out, points, start);
    if (this.ctx.evaluator.inline === true) {
      for (let from = 0; from < selected.length; from += INLINE_SLICE) {
        if (from > 0) await clock.yieldIfDue();
        apply(this.evaluateNow(request(from, from + INLINE_SLICE)), from);
      }
      this.spend(clock);
      return;
    }
    if (selected.length > 0) {
      const outcomes = Promise.resolve(this.ctx.evaluator.evaluate(request(0, selected.length)));
      this.applied = this.applied.then(() => outcomes).then((r) => apply(r, 0));
      // Handled here so that a failure that comes before its turn in the chain, or is left behind when the crop is
      // abandoned, is not an unhandled rejection; whoever awaits the chain still gets the error.
      outcomes.catch(() => undefined);
      this.applied.catch(() => undefined);
      this.inFlight.push(this.applied);
    }
    if (this.inFlight.length >= MAX_BATCHES_IN_FLIGHT) await this.waitFor(this.inFlight.shift() as Promise<void>, clock);
    this.spend(clock);
  }

  /** Every candidate that passed the filters, in candidate order: boxes and predicted IoUs for NMS. */
  async finish(): Promise<{ box: BoxXYXY; iou: number }[]> {
    const clock = new SpentClock();
    await this.waitFor(this.applied, clock);
    this.spend(clock);
    this.inFlight = [];
    return this.entries;
  }

  /** The kept candidates (indices into finish()'s list, in that order), evaluating the deferred ones now. */
  async resolve(keep: number[]): Promise<Candidate[]> {
    const clock = new SpentClock();
    const waiting = keep.filter((k) => this.entries[k].done === null);
    if (waiting.length > 0) {
      const stride = this.entries[waiting[0]].deferred?.length ?? 0;
      const logits = new Float32Array(stride * waiting.length);
      waiting.forEach((k, i) => logits.set(this.entries[k].deferred as Float32Array, i * stride));
      const request: EvaluationRequest = {
        // A deferred candidate kept its logits already cleaned.
        settings: { ...this.settings, lowResCleanup: null },
        logits,
        offsets: Int32Array.from(waiting, (_, i) => i * stride),
        full: true,
      };
      const outcomes = await this.evaluateFully(request, clock);
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
    this.spend(clock);
    return keep.map((k) => this.entries[k].done as Candidate);
  }

  /** A full evaluation of NMS's survivors: inline in slices with turns of the event loop, or in one request. */
  private async evaluateFully(request: EvaluationRequest, clock: SpentClock): Promise<CandidateOutcome[]> {
    if (this.ctx.evaluator.inline !== true) return await this.ctx.evaluator.evaluate(request);
    const n = request.offsets.length;
    const all: CandidateOutcome[] = [];
    for (let from = 0; from < n; from += INLINE_SLICE) {
      if (from > 0) await clock.yieldIfDue();
      all.push(...this.evaluateNow({ ...request, offsets: request.offsets.subarray(from, Math.min(n, from + INLINE_SLICE)) }));
    }
    return all;
  }

  /** An inline evaluator's outcomes, which it promises to give at once. */
  private evaluateNow(request: EvaluationRequest): CandidateOutcome[] {
    const outcomes = this.ctx.evaluator.evaluate(request);
    if (!Array.isArray(outcomes)) throw new Error('internal: an evaluator declared inline answered with a promise');
    return outcomes;
  }

  /** Applies the outcomes of selected[from], selected[from + 1], … in order. */
  private apply(outcomes: CandidateOutcome[], selected: number[], from: number, out: DecodedBatch, points: Float64Array, start: number): void {
    const ledger = this.ctx.ledger;
    const m = out.masksPerPrompt;
    for (let k = 0; k < outcomes.length; k++) {
      const r = outcomes[k];
      if (r.kind === 'rejected') continue;
      const idx = selected[from + k];
      const iou = out.iou[idx];
      const p = start + Math.floor(idx / m);
      const point = { pointX: points[2 * p], pointY: points[2 * p + 1] };
      if (r.kind === 'evaluated') {
        const stability = stabilityOf(r.counts.high, r.counts.low);
        if (this.stabilityFilter && !(stability >= this.stabilityThresh)) continue;
        ledger.count('afterStability');
        // An empty mask is never emitted (a documented departure: the reference would write NaN scores for it).
        if (r.mask === null) continue;
        if (isBoxNearCropEdge(r.mask.box, this.cropBox, this.imageW, this.imageH)) continue;
        ledger.count('afterEdge');
        const box = r.mask.box;
        this.entries.push({ box, iou, ...point, done: this.candidate(r.mask.rle, r.mask.area, box, iou, stability, point), deferred: null });
      } else {
        // Deferred only when the stability filter is off: every candidate passes it.
        ledger.count('afterStability');
        if (r.box === null) continue;
        if (isBoxNearCropEdge(r.box, this.cropBox, this.imageW, this.imageH)) continue;
        ledger.count('afterEdge');
        this.entries.push({ box: r.box, iou, ...point, done: null, deferred: r.logits });
      }
    }
  }

  private candidate(rle: Rle, area: number, box: BoxXYXY, iou: number, stability: number, point: { pointX: number; pointY: number }): Candidate {
    return { rle, area, box, iou, stability, pointX: point.pointX, pointY: point.pointY };
  }

  /** Waiting for the evaluator's threads counts as post-processing time. */
  private async waitFor(p: Promise<void>, clock: SpentClock): Promise<void> {
    await p;
    clock.lap();
  }

  private spend(clock: SpentClock): void {
    this.ctx.ledger.postprocessed(clock.total());
  }
}

/** Seconds spent in a stretch of post-processing, leaving out the turns it gives the event loop. */
class SpentClock {
  private spent = 0;
  private since = now();

  /** Gives the event loop a turn when the current stretch has run longer than YIELD_EVERY_S. */
  async yieldIfDue(): Promise<void> {
    if (now() - this.since <= YIELD_EVERY_S) return;
    this.lap();
    await nextTurn();
    this.since = now();
  }

  lap(): void {
    const t = now();
    this.spent += t - this.since;
    this.since = t;
  }

  total(): number {
    this.lap();
    return this.spent;
  }
}

/** Node's setImmediate where the runtime has one (browsers do not): a turn without the timers' 1 ms floor. */
const setImmediateIfAny = (globalThis as { setImmediate?: (callback: () => void) => unknown }).setImmediate;

/** One turn of the event loop (a macrotask: timers and I/O callbacks run), in Node and in browsers. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => (setImmediateIfAny !== undefined ? setImmediateIfAny(resolve) : setTimeout(resolve, 0)));
}

/** The stability score as the reference computes it: a float32 quotient, NaN when nothing is above the low threshold. */
function stabilityOf(high: number, low: number): number {
  return low === 0 ? NaN : f32(high / low);
}
