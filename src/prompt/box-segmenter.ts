/**
 * BoxSegmenter: box-prompted segmentation, the reference predictors' behaviour (../../shared/spec/prompted.md), the
 * prompted sibling of MaskGenerator. Per image: one encoder run, the boxes decoded in batches (multimask: three
 * candidates per box), per box the candidate with the highest predicted IoU (the first on ties), upscaled and
 * binarised exactly as automatic mask generation does (src/mask, full-image crop), with the generator's stability
 * score. Masks are neither filtered nor de-duplicated. Browser-safe: no Node built-ins.
 *
 * Batching does not change a mask (every box is decoded on its own rows), and memory stays bounded whatever the
 * number of boxes: at most two batches of logits (boxes per batch × 3 × 256 × 256 floats each) are alive at once.
 */
import type { BoxXYWH, RgbImage } from '../base/types.js';
import { InlineEvaluator, type CandidateEvaluator, type EvaluationSettings } from '../mask/evaluator.js';
import type { DecodedBatch, EncodedCrop, ModelAdapter } from '../model/adapter.js';
import { ModelError } from '../model/errors.js';
import type { LoadedModel } from '../model/load.js';
import type { Rle } from '../rle/rle.js';
import type { Detection, DetectionImage } from './detections.js';

const f32 = Math.fround;
const now = (): number => performance.now() / 1000;

/** The reference predictors' mask threshold and the generator's stability offset. */
export const PROMPT_MASK_THRESHOLD = 0;
export const PROMPT_STABILITY_OFFSET = 1;

/** Options of a BoxSegmenter; none but `multimask` changes a mask. */
export interface BoxSegmenterOptions {
  /** Boxes per decoder call (default 64): about 0.8 MB of logits per box, two batches in flight. */
  boxesPerBatch: number;
  /**
   * Three candidates per box and the best by predicted IoU (default true, the reference); false asks for the
   * single-mask output (only for exports that have one).
   */
  multimask: boolean;
}

const DEFAULTS: BoxSegmenterOptions = { boxesPerBatch: 64, multimask: true };

/** The mask of one box, in the image frame. */
export interface BoxMask {
  segmentation: Rle;
  area: number;
  /** The mask's box, [x, y, w, h] with w = max x − min x (as AMG records); [0, 0, 0, 0] when empty. */
  bbox: BoxXYWH;
  predictedIou: number;
  /** count(logit > 1) / count(logit > −1) as float32; 0 for an empty mask. */
  stabilityScore: number;
}

/** One record per detection (prompted.md "Records"). */
export interface PromptedRecord extends BoxMask {
  imageId: number;
  categoryId: number;
  /** The detection's [x, y, w, h]. */
  promptBox: BoxXYWH;
  detectionId: number;
  /** Copied when the detection has one. */
  score?: number;
}

/** Progress of one segment() call: after the encoder run, after each decoder batch, and at the end (`done`). */
export interface SegmentProgress {
  boxes: number;
  boxesDone: number;
  /** This call's encoder time (pre-processing included), decoder waits and post-processing, in milliseconds. */
  encoderMs: number;
  decoderMs: number;
  postprocessMs: number;
  done: boolean;
}

/** Options of one segment() call; none of them changes the masks. */
export interface SegmentOptions {
  onProgress?: (p: SegmentProgress) => void;
}

/** Box-prompted segmentation with one loaded model. */
export class BoxSegmenter {
  readonly options: BoxSegmenterOptions;

  /**
   * @param evaluator where the chosen candidates are upscaled and binarised (default: inline); the segmenter owns
   *   it and closes it on release()
   */
  constructor(
    readonly adapter: ModelAdapter,
    options: Partial<BoxSegmenterOptions> = {},
    readonly model?: LoadedModel,
    readonly evaluator: CandidateEvaluator = new InlineEvaluator(),
  ) {
    const o = { ...DEFAULTS, ...options };
    if (!Number.isSafeInteger(o.boxesPerBatch) || o.boxesPerBatch < 1) {
      throw new RangeError(`boxesPerBatch must be a positive integer, got ${o.boxesPerBatch}`);
    }
    if (!adapter.decodeBoxes) throw new ModelError(`the ${adapter.layout} layout cannot take box prompts`);
    if (o.multimask && adapter.supportsMultimask === false) {
      throw new ModelError(`this ${adapter.layout} export has only the single-mask output: set multimask to false`);
    }
    if (!o.multimask && !adapter.supportsSingleMask) throw new ModelError(`the ${adapter.layout} layout has no single-mask output`);
    this.options = o;
  }

  /**
   * A segmenter (of the class it is called on) over a model being loaded, post-processing on `evaluator` (default:
   * inline); the model and the evaluator are released when the model cannot take the options.
   */
  static async fromModel<S extends BoxSegmenter>(
    this: new (adapter: ModelAdapter, options?: Partial<BoxSegmenterOptions>, model?: LoadedModel, evaluator?: CandidateEvaluator) => S,
    loading: LoadedModel | Promise<LoadedModel>,
    options: Partial<BoxSegmenterOptions> = {},
    evaluator?: CandidateEvaluator,
  ): Promise<S> {
    let model: LoadedModel;
    try {
      model = await loading;
    } catch (err) {
      await evaluator?.close();
      throw err;
    }
    try {
      return new this(model.adapter, options, model, evaluator);
    } catch (err) {
      await evaluator?.close();
      await model.adapter.release();
      throw err;
    }
  }

  /**
   * The mask of every box ([x, y, w, h] in image pixels, taken as given: no clipping), in the boxes' order. The
   * model sees box [x, y, x + w, y + h]. No box: no encoder run.
   */
  async segment(image: RgbImage, boxes: readonly BoxXYWH[], opts: SegmentOptions = {}): Promise<BoxMask[]> {
    const xyxy = cornerBoxes(boxes);
    const progress = new Progress(boxes.length, opts.onProgress);
    if (boxes.length === 0) {
      progress.report(true);
      return [];
    }
    const te = now();
    const crop = await this.adapter.encode(image);
    progress.encoderS += now() - te;
    return this.decodeAll(crop, xyxy, progress);
  }

  /**
   * Encodes an image once for several {@link segmentEncoded} calls: the page's boxes, drawn one at a time, each
   * without an encoder run of its own.
   */
  encode(image: RgbImage): Promise<EncodedCrop> {
    return this.adapter.encode(image);
  }

  /** {@link segment} on an image encoded by {@link encode}: the same masks, no encoder run. */
  async segmentEncoded(crop: EncodedCrop, boxes: readonly BoxXYWH[], opts: SegmentOptions = {}): Promise<BoxMask[]> {
    const xyxy = cornerBoxes(boxes);
    const progress = new Progress(boxes.length, opts.onProgress);
    if (boxes.length === 0) {
      progress.report(true);
      return [];
    }
    return this.decodeAll(crop, xyxy, progress);
  }

  /** Every box of an encoded image, batch after batch (the next decoded while this one is post-processed). */
  private async decodeAll(crop: EncodedCrop, xyxy: Float64Array, progress: Progress): Promise<BoxMask[]> {
    const n = xyxy.length / 4;
    const masks: BoxMask[] = [];
    progress.report(false);
    const settings = this.settings(crop);
    const batch = this.options.boxesPerBatch;
    // ONNX Runtime decodes the next batch on its threads while this one is post-processed.
    let pending: Promise<DecodedBatch> | null = this.decode(crop, xyxy, 0, Math.min(batch, n));
    for (let start = 0; start < n; start += batch) {
      const count = Math.min(batch, n - start);
      const tw = now();
      const out = await (pending as Promise<DecodedBatch>);
      progress.decoderS += now() - tw;
      const next = start + batch;
      pending = next < n ? this.decode(crop, xyxy, next, Math.min(batch, n - next)) : null;
      const tp = now();
      for (const m of await this.bestMasks(out, count, settings)) masks.push(m);
      progress.postprocessS += now() - tp;
      progress.boxesDone += count;
      progress.report(false);
    }
    progress.report(true);
    return masks;
  }

  /** One record per detection of `entry`, in its order (the detection file's). */
  async segmentDetections(image: RgbImage, entry: DetectionImage, opts: SegmentOptions = {}): Promise<PromptedRecord[]> {
    const masks = await this.segment(
      image,
      entry.detections.map((d) => d.bbox),
      opts,
    );
    return entry.detections.map((d, i) => promptedRecord(entry.id, d, masks[i]));
  }

  /** Frees the model's sessions and the evaluator's threads. */
  async release(): Promise<void> {
    await this.evaluator.close();
    await this.adapter.release();
  }

  private decode(crop: EncodedCrop, xyxy: Float64Array, start: number, count: number): Promise<DecodedBatch> {
    const opts = this.options.multimask ? undefined : { multimask: false };
    const batch = (this.adapter.decodeBoxes as NonNullable<ModelAdapter['decodeBoxes']>)(crop, xyxy.subarray(4 * start, 4 * (start + count)), count, opts);
    // A batch decoded ahead is abandoned when the current one fails: not an unhandled rejection (awaiting it still throws).
    batch.catch(() => undefined);
    return batch;
  }

  /** The whole image is the crop; thresholds in float32 as the generator computes them; no filter, no deferral. */
  private settings(crop: EncodedCrop): EvaluationSettings {
    return {
      geometry: crop.geometry,
      cropW: crop.width,
      cropH: crop.height,
      cropBox: [0, 0, crop.width, crop.height],
      imageW: crop.width,
      imageH: crop.height,
      low: f32(PROMPT_MASK_THRESHOLD - PROMPT_STABILITY_OFFSET),
      threshold: f32(PROMPT_MASK_THRESHOLD),
      high: f32(PROMPT_MASK_THRESHOLD + PROMPT_STABILITY_OFFSET),
      minStability: 0,
      lowResCleanup: null,
      allowDeferral: false,
    };
  }

  /** Per box of a decoded batch: the candidate with the highest predicted IoU (first on ties), evaluated. */
  private async bestMasks(out: DecodedBatch, count: number, settings: EvaluationSettings): Promise<BoxMask[]> {
    if (out.count !== count) throw new ModelError(`the ${this.adapter.layout} decoder returned ${out.count} masks for ${count} boxes`);
    const m = out.masksPerPrompt;
    const cells = settings.geometry.lowRes ** 2;
    const best = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      let k = 0;
      for (let j = 1; j < m; j++) if (out.iou[i * m + j] > out.iou[i * m + k]) k = j;
      best[i] = i * m + k;
    }
    const offsets = Int32Array.from(best, (idx) => idx * cells);
    const outcomes = await this.evaluator.evaluate({ settings, logits: out.logits, offsets, full: true });
    return outcomes.map((r, i) => {
      if (r.kind !== 'evaluated') throw new Error(`internal: box candidate ${r.kind}, expected evaluated`);
      const predictedIou = out.iou[best[i]];
      if (r.mask === null) {
        const { imageW: w, imageH: h } = settings;
        return { segmentation: { h, w, counts: Uint32Array.of(h * w) }, area: 0, bbox: [0, 0, 0, 0], predictedIou, stabilityScore: 0 };
      }
      const [x0, y0, x1, y1] = r.mask.box;
      const { high, low } = r.counts;
      return {
        segmentation: r.mask.rle,
        area: r.mask.area,
        bbox: [x0, y0, x1 - x0, y1 - y0],
        predictedIou,
        stabilityScore: low === 0 ? 0 : f32(high / low),
      };
    });
  }
}

/** Boxes [x, y, w, h] as corners [x0, y0, x1, y1]; throws for a box that is not four finite numbers. */
function cornerBoxes(boxes: readonly BoxXYWH[]): Float64Array {
  const xyxy = new Float64Array(4 * boxes.length);
  boxes.forEach((b, i) => {
    if (b.length !== 4 || !b.every((v) => Number.isFinite(v))) throw new RangeError(`box ${i}: expected four finite numbers [x, y, w, h], got [${b.join(', ')}]`);
    xyxy.set([b[0], b[1], b[0] + b[2], b[1] + b[3]], 4 * i);
  });
  return xyxy;
}

/** A detection's record from its mask. */
export function promptedRecord(imageId: number, d: Detection, mask: BoxMask): PromptedRecord {
  const record: PromptedRecord = { imageId, categoryId: d.categoryId, ...mask, promptBox: d.bbox, detectionId: d.id };
  if (d.score !== undefined) record.score = d.score;
  return record;
}

/** The counters and timers behind one segment() call's progress reports. */
class Progress {
  encoderS = 0;
  decoderS = 0;
  postprocessS = 0;
  boxesDone = 0;

  constructor(
    private readonly boxes: number,
    private readonly onProgress: ((p: SegmentProgress) => void) | undefined,
  ) {}

  report(done: boolean): void {
    this.onProgress?.({
      boxes: this.boxes,
      boxesDone: this.boxesDone,
      encoderMs: this.encoderS * 1000,
      decoderMs: this.decoderS * 1000,
      postprocessMs: this.postprocessS * 1000,
      done,
    });
  }
}
