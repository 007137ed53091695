/**
 * Candidate evaluation as a unit of work that can run anywhere: the generator hands a batch of candidates' logits
 * and the crop's settings to a CandidateEvaluator and gets one outcome per candidate back, in order. Evaluating
 * inline (InlineEvaluator) and on worker threads (src/node/postprocess-pool.ts) run this same function, so their
 * outcomes are identical. Browser-safe: no Node built-ins here.
 */
import type { BoxXYXY } from '../base/types.js';
import { CandidateMasker, type CandidateMask, type StabilityCounts } from './candidate-mask.js';
import { cleanLowResLogits } from './small-regions.js';
import { UpscalePlan } from './upscale.js';
import type { LogitGeometry } from '../base/types.js';

/** What every candidate of one crop is evaluated against (float32 thresholds, as the generator computes them). */
export interface EvaluationSettings {
  geometry: LogitGeometry;
  /** The crop's size: the upscaled logits' size. */
  cropW: number;
  cropH: number;
  /** Where the crop lies in the image, and the image's size (the mask's RLE is in the image frame). */
  cropBox: BoxXYXY;
  imageW: number;
  imageH: number;
  /** The stability score's thresholds (mask threshold ∓ offset) and the mask threshold. */
  low: number;
  threshold: number;
  high: number;
  /** The stability filter's threshold, 0 when the filter is off: a pass stops early once a candidate must fail it. */
  minStability: number;
  /** SAM 2's low-res clean-up of each candidate's logits before upscaling, or null. */
  lowResCleanup: { threshold: number; minArea: number } | null;
  /**
   * No filter needs the stability counts before NMS (stability filter off), so an expensive candidate may get its
   * box only, and its mask and counts after NMS if it survives (see CandidateOutcome "deferred").
   */
  allowDeferral: boolean;
}

/**
 * One batch of work: candidate k's 256×256 logits start at logits[offsets[k]]. The evaluator only reads the logits;
 * the caller leaves them as they are until the outcomes are back.
 */
export interface EvaluationRequest {
  settings: EvaluationSettings;
  logits: Float32Array;
  offsets: Int32Array;
  /** Evaluate fully even where deferral is allowed (the survivors of NMS). */
  full: boolean;
}

/** What evaluation found for one candidate. */
export type CandidateOutcome =
  /** The stability score is certain to end below the filter's threshold: dropped. */
  | { kind: 'rejected' }
  /** Counts and mask (null when empty). */
  | { kind: 'evaluated'; counts: StabilityCounts; mask: CandidateMask | null }
  /**
   * Box only (null when the mask is empty); counts and mask wait for a full evaluation of `logits`: a copy of the
   * candidate's logits as the masker read them (SAM 2's clean-up already applied; only the rows the crop reads) that
   * stays valid whatever happens to the decoder's buffers: evaluate them with `lowResCleanup: null`.
   */
  | { kind: 'deferred'; box: BoxXYXY | null; logits: Float32Array };

/** Evaluates batches of candidates; outcomes come back in request order. */
export interface CandidateEvaluator {
  /**
   * True for an evaluator that computes on the calling thread and returns its outcomes at once (an array, never a
   * promise): it is then given a batch in small slices, with turns of the event loop between them. Any other
   * evaluator gets each batch in one request, and its answer is awaited.
   */
  readonly inline?: boolean;
  evaluate(request: EvaluationRequest): CandidateOutcome[] | Promise<CandidateOutcome[]>;
  /** Frees threads or buffers the evaluator holds. */
  close(): Promise<void>;
}

/**
 * A candidate whose undecided blocks cover more than this share of the crop costs at least a few milliseconds to
 * evaluate (and its RLE is large); when deferral is allowed its box is enough until NMS has picked the survivors.
 * Sharp candidates stay below it, evaluate fast and keep their small RLE rather than their logits.
 */
export const DEFER_UNDECIDED_SHARE = 0.02;

/** The maskers of recent crop geometries and the clean-up's scratch buffers, reused across batches. */
export class MaskerCache {
  private readonly maskers = new Map<string, CandidateMasker>();
  private cleanup: { cleaned: Float32Array; bits: Uint8Array; labels: Int32Array } | null = null;

  constructor(private readonly capacity = 2) {}

  masker(s: EvaluationSettings): CandidateMasker {
    const g = s.geometry;
    const key = `${g.lowRes}:${g.frame}:${g.validW}:${g.validH}:${s.cropW}:${s.cropH}`;
    let m = this.maskers.get(key);
    if (m) {
      this.maskers.delete(key);
    } else {
      m = new CandidateMasker(new UpscalePlan(g, s.cropW, s.cropH));
      if (this.maskers.size >= this.capacity) this.maskers.delete(this.maskers.keys().next().value as string);
    }
    // Most recently used last.
    this.maskers.set(key, m);
    return m;
  }

  cleanupScratch(cells: number): { cleaned: Float32Array; bits: Uint8Array; labels: Int32Array } {
    if (this.cleanup === null || this.cleanup.cleaned.length !== cells) {
      this.cleanup = { cleaned: new Float32Array(cells), bits: new Uint8Array(cells), labels: new Int32Array(cells) };
    }
    return this.cleanup;
  }
}

/** Evaluates every candidate of a request, in order (the one implementation behind every evaluator). */
export function evaluateCandidates(request: EvaluationRequest, cache: MaskerCache): CandidateOutcome[] {
  const s = request.settings;
  const masker = cache.masker(s);
  const n = s.geometry.lowRes;
  const out: CandidateOutcome[] = new Array(request.offsets.length);
  for (let k = 0; k < request.offsets.length; k++) {
    let logits = request.logits;
    let offset = request.offsets[k];
    if (s.lowResCleanup) {
      const { cleaned, bits, labels } = cache.cleanupScratch(n * n);
      cleanLowResLogits(logits, offset, n, s.lowResCleanup.threshold, s.lowResCleanup.minArea, cleaned, bits, labels);
      logits = cleaned;
      offset = 0;
    }
    masker.load(logits, offset);
    if (s.allowDeferral && !request.full && masker.undecidedShareAbove(s.low, s.threshold, s.high, DEFER_UNDECIDED_SHARE)) {
      // The logits as the masker reads them (cleaned, when SAM 2's clean-up ran), only the rows the crop reads: the
      // full evaluation later starts from these, without cleaning again.
      out[k] = { kind: 'deferred', box: masker.box(s.threshold), logits: logits.slice(offset, offset + masker.rowsRead * n) };
      continue;
    }
    const r = masker.evaluate(s.low, s.threshold, s.high, s.cropBox, s.imageW, s.imageH, s.minStability);
    out[k] = r.rejected ? { kind: 'rejected' } : { kind: 'evaluated', counts: r.counts, mask: r.mask };
  }
  return out;
}

/** Evaluation on the calling thread, synchronously: the default, and the fallback when threads would not help. */
export class InlineEvaluator implements CandidateEvaluator {
  readonly inline = true;
  private readonly cache = new MaskerCache();

  evaluate(request: EvaluationRequest): CandidateOutcome[] {
    return evaluateCandidates(request, this.cache);
  }

  async close(): Promise<void> {}
}
