/**
 * MaskGenerator: the reference automatic mask generator's control flow (amg-reference.md), step by step.
 * The maths lives in the pure modules it calls: crop boxes (src/crop), grids, upscaling and candidate masks
 * (src/mask), NMS (src/nms), RLE (src/rle).
 */
import { cropImage } from '../image/preprocess.js';
import { generateCropBoxes, isBoxNearCropEdge, cropBoxToXYWH } from '../crop/crop-boxes.js';
import { CandidateMasker } from '../mask/candidate-mask.js';
import { cleanLowResLogits } from '../mask/small-regions.js';
import { UpscalePlan } from '../mask/upscale.js';
import { boxNms } from '../nms/nms.js';
import type { DecodedBatch, EncodedCrop, ModelAdapter, ModelFamily } from '../model/adapter.js';
import { loadModel, type LoadModelOptions, type LoadedModel } from '../model/load.js';
import { OptionsError, resolveOptions, type AmgOptions } from './options.js';
import { buildLayerGrids } from './point-grid.js';
import { removeSmallRegionsFromRecords } from './small-region-pass.js';
import type { BoxXYXY, MaskRecord, RgbImage } from './types.js';
import type { Rle } from '../rle/rle.js';

const f32 = Math.fround;
const now = (): number => performance.now() / 1000;

/**
 * Threshold of SAM 2's low-resolution clean-up: the reference generator builds its image predictor without passing
 * its own mask_threshold, so the clean-up runs at the predictor's default, 0.0, whatever mask_threshold is; the
 * generator's mask_threshold drives only the stability score and the binarisation.
 */
export const SAM2_CLEANUP_THRESHOLD = 0;

/** The longest stretch of post-processing between two turns of the event loop, in seconds. */
const YIELD_EVERY_S = 0.1;

/** One turn of the event loop (a macrotask: timers and I/O callbacks run), in Node and in browsers. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));
}

/** A mask that survived the per-batch filters, in its crop's frame. */
interface Candidate {
  rle: Rle;
  area: number;
  box: BoxXYXY;
  iou: number;
  stability: number;
  pointX: number;
  pointY: number;
}

/** Work counters and timings of the last generate() calls, for the benchmark and progress display. */
export interface GeneratorStats {
  crops: number;
  prompts: number;
  candidates: number;
  afterIou: number;
  afterStability: number;
  afterEdge: number;
  afterCropNms: number;
  afterCrossCropNms: number;
  final: number;
  postprocessS: number;
  nmsS: number;
  smallRegionsS: number;
  /** Time JavaScript spent waiting for a decoder batch it had nothing else to do for (ORT was the bottleneck). */
  decodeWaitS: number;
}

/**
 * Progress of one {@link MaskGenerator.generate} call, reported after each crop's encoder run, after each decoder
 * batch and once at the end (`done`). Times are this call's own, in milliseconds: encoder runs (pre-processing
 * included), waiting for decoder batches, and post-processing in JavaScript (filters, NMS, small regions).
 */
export interface GenerateProgress {
  crops: number;
  cropsDone: number;
  prompts: number;
  promptsDone: number;
  encoderMs: number;
  decoderMs: number;
  postprocessMs: number;
  done: boolean;
}

/** Options of one {@link MaskGenerator.generate} call; none of them changes the records. */
export interface GenerateOptions {
  onProgress?: (p: GenerateProgress) => void;
}

/** Automatic mask generation with one loaded model and one set of options. */
export class MaskGenerator {
  readonly options: AmgOptions;
  readonly family: ModelFamily;
  readonly stats: GeneratorStats = emptyStats();
  private readonly grids: Float64Array[];

  constructor(
    readonly adapter: ModelAdapter,
    options: Partial<AmgOptions> = {},
    readonly model?: LoadedModel,
  ) {
    this.family = adapter.family;
    this.options = resolveOptions(options, adapter.family);
    if (this.options.useM2m && !adapter.supportsMaskInput) {
      throw new OptionsError(['useM2m'], ([n]) => `${n}: the ${adapter.layout} layout has no mask input`);
    }
    if (!this.options.multimaskOutput && !adapter.supportsSingleMask) {
      throw new OptionsError(['multimaskOutput'], ([n]) => `${n}: the ${adapter.layout} layout has no single-mask output`);
    }
    if (this.options.multimaskOutput && adapter.supportsMultimask === false) {
      throw new OptionsError(['multimaskOutput'], ([n], style) => `this ${adapter.layout} export has only the single-mask output: ${style === 'flag' ? `run with ${n}` : `set ${n} to false`}`);
    }
    const o = this.options;
    this.grids = o.pointGrids
      ? o.pointGrids.map((g) => Float64Array.from(g.flat()))
      : buildLayerGrids(o.pointsPerSide as number, o.cropNLayers, o.cropNPointsDownscaleFactor);
  }

  /** Loads a model folder and builds a generator; options not given take the family's reference defaults. */
  static async load(modelDir: string, options: Partial<AmgOptions> = {}, load: LoadModelOptions = {}): Promise<MaskGenerator> {
    const model = await loadModel(modelDir, load);
    try {
      return new MaskGenerator(model.adapter, options, model);
    } catch (err) {
      await model.adapter.release();
      throw err;
    }
  }

  /**
   * Prompts per image: every layer's grid in each of its (2^i)² crops. It does not depend on the image's size, so
   * a run knows its total number of prompts (and an ETA from prompt throughput) before the first image.
   */
  get promptsPerImage(): number {
    return this.grids.reduce((sum, g, i) => sum + 4 ** i * (g.length / 2), 0);
  }

  /** Masks of one image, in the reference's record order. */
  async generate(image: RgbImage, opts: GenerateOptions = {}): Promise<MaskRecord[]> {
    const o = this.options;
    const { width: W, height: H } = image;
    const plan = generateCropBoxes(W, H, o.cropNLayers, o.cropOverlapRatio);
    const call = new CallProgress(plan.boxes.length, plan.layers.reduce((n, l) => n + this.grids[l].length / 2, 0), opts.onProgress);
    let records: MaskRecord[] = [];
    for (let i = 0; i < plan.boxes.length; i++) {
      const cropRecords = await this.processCrop(image, plan.boxes[i], plan.layers[i], call);
      for (const r of cropRecords) records.push(r);
    }
    const tp = now();
    if (plan.boxes.length > 1) {
      // Prefer masks from smaller crops.
      const t = now();
      const boxes = recordBoxes(records);
      const scores = records.map((r) => f32(1 / (r.cropBox[2] * r.cropBox[3])));
      records = boxNms(boxes, scores, o.cropNmsThresh).map((k) => records[k]);
      this.stats.nmsS += now() - t;
    }
    this.stats.afterCrossCropNms += records.length;
    if (o.minMaskRegionArea > 0 && this.family === 'sam' && records.length > 0) {
      const t = now();
      records = removeSmallRegionsFromRecords(records, o.minMaskRegionArea, Math.max(o.boxNmsThresh, o.cropNmsThresh));
      this.stats.smallRegionsS += now() - t;
    }
    this.stats.final += records.length;
    call.postprocessS += now() - tp;
    call.finish();
    return records;
  }

  /** One crop: encode, prompt in batches, filter, NMS within the crop, back to the image frame. */
  private async processCrop(image: RgbImage, cropBox: BoxXYXY, layer: number, call: CallProgress): Promise<MaskRecord[]> {
    const o = this.options;
    const [x0, y0, x1, y1] = cropBox;
    const cw = x1 - x0;
    const ch = y1 - y0;
    const te = now();
    const crop = x0 === 0 && y0 === 0 && cw === image.width && ch === image.height ? image : cropImage(image, x0, y0, x1, y1);
    const encoded = await this.adapter.encode(crop);
    call.encoderS += now() - te;
    call.cropDone();
    this.stats.crops++;
    const grid = this.grids[layer];
    const nPoints = grid.length / 2;
    const points = new Float64Array(nPoints * 2);
    for (let i = 0; i < nPoints; i++) {
      points[2 * i] = grid[2 * i] * cw;
      points[2 * i + 1] = grid[2 * i + 1] * ch;
    }
    if (this.family === 'sam2') {
      // SAM 2's generator casts the scaled grid to float32 before anything else.
      for (let i = 0; i < points.length; i++) points[i] = f32(points[i]);
    }
    const post = new CropPostprocessor(this, encoded, cropBox, image.width, image.height);
    const batch = o.pointsPerBatch;
    // Keep ONNX Runtime busy: the next batch is decoding on its threads while this one is post-processed.
    let pending: Promise<DecodedBatch> | null = nPoints > 0 ? this.decodeBatch(encoded, points, 0, Math.min(batch, nPoints)) : null;
    for (let start = 0; start < nPoints; start += batch) {
      const count = Math.min(batch, nPoints - start);
      const tw = now();
      const out = await (pending as Promise<DecodedBatch>);
      this.stats.decodeWaitS += now() - tw;
      call.decoderS += now() - tw;
      const nextStart = start + batch;
      pending = nextStart < nPoints ? this.decodeBatch(encoded, points, nextStart, Math.min(batch, nPoints - nextStart)) : null;
      this.stats.prompts += count;
      const tr = now();
      const decoded = o.useM2m ? await this.refineM2m(encoded, out, points, start) : out;
      call.decoderS += now() - tr;
      call.postprocessS += await post.addBatch(decoded, points, start);
      call.promptsDone(count);
    }
    const t = now();
    const cands = post.candidates;
    const keep = boxNms(
      cands.flatMap((c) => c.box),
      cands.map((c) => c.iou),
      o.boxNmsThresh,
    );
    this.stats.nmsS += now() - t;
    call.postprocessS += now() - t;
    this.stats.afterCropNms += keep.length;
    const cropXYWH = cropBoxToXYWH(cropBox);
    return keep.map((k) => {
      const c = cands[k];
      const px = this.family === 'sam2' ? f32(c.pointX + x0) : c.pointX + x0;
      const py = this.family === 'sam2' ? f32(c.pointY + y0) : c.pointY + y0;
      return {
        segmentation: c.rle,
        area: c.area,
        bbox: [c.box[0] + x0, c.box[1] + y0, c.box[2] - c.box[0], c.box[3] - c.box[1]],
        predictedIou: c.iou,
        pointCoords: [px, py],
        stabilityScore: c.stability,
        cropBox: cropXYWH,
      };
    });
  }

  private decodeBatch(encoded: EncodedCrop, points: Float64Array, start: number, count: number): Promise<DecodedBatch> {
    const opts = this.options.multimaskOutput ? undefined : { multimask: false };
    return this.adapter.decode(encoded, points.subarray(2 * start, 2 * (start + count)), count, opts);
  }

  /**
   * use_m2m (amg-reference.md, "SAM 2 specifics"): every candidate of the batch — all outputs of every prompt, before
   * any filter — is decoded once more with its own point and its own low-res logits clamped to [−32, 32] as the mask
   * prompt, asking for the single-mask output, in chunks of points_per_batch. The refined logits and predicted IoUs
   * replace the candidates' (same prompt-major layout), so the IoU filter and stability then run on them.
   */
  private async refineM2m(encoded: EncodedCrop, out: DecodedBatch, points: Float64Array, start: number): Promise<DecodedBatch> {
    const m = out.masksPerPrompt;
    const total = out.count * m;
    const cells = encoded.geometry.lowRes * encoded.geometry.lowRes;
    const iou = new Float32Array(total);
    const logits = new Float32Array(total * cells);
    const chunk = this.options.pointsPerBatch;
    for (let s = 0; s < total; s += chunk) {
      const n = Math.min(chunk, total - s);
      const pts = new Float64Array(2 * n);
      for (let j = 0; j < n; j++) {
        const p = start + Math.floor((s + j) / m);
        pts[2 * j] = points[2 * p];
        pts[2 * j + 1] = points[2 * p + 1];
      }
      const maskInput = new Float32Array(n * cells);
      const src = out.logits.subarray(s * cells, (s + n) * cells);
      for (let i = 0; i < src.length; i++) {
        const v = src[i];
        maskInput[i] = v < -32 ? -32 : v > 32 ? 32 : v;
      }
      const r = await this.adapter.decode(encoded, pts, n, { multimask: false, maskInput });
      if (r.masksPerPrompt !== 1 || r.count !== n) {
        const layout = this.adapter.layout;
        throw new OptionsError(['useM2m'], ([n]) => `${n}: the ${layout} decoder returned ${r.masksPerPrompt} masks per prompt, expected 1`);
      }
      iou.set(r.iou.subarray(0, n), s);
      logits.set(r.logits.subarray(0, n * cells), s * cells);
    }
    return { count: out.count, masksPerPrompt: m, iou, logits };
  }

  /** Frees the model's sessions. */
  async release(): Promise<void> {
    await this.adapter.release();
  }
}

/** The counters and timers behind one generate() call's progress reports. */
class CallProgress {
  encoderS = 0;
  decoderS = 0;
  postprocessS = 0;
  private cropsDone = 0;
  private prompted = 0;

  constructor(
    private readonly crops: number,
    private readonly prompts: number,
    private readonly onProgress: ((p: GenerateProgress) => void) | undefined,
  ) {}

  cropDone(): void {
    this.cropsDone++;
    this.report(false);
  }

  promptsDone(n: number): void {
    this.prompted += n;
    this.report(false);
  }

  finish(): void {
    this.report(true);
  }

  private report(done: boolean): void {
    this.onProgress?.({
      crops: this.crops,
      cropsDone: this.cropsDone,
      prompts: this.prompts,
      promptsDone: this.prompted,
      encoderMs: this.encoderS * 1000,
      decoderMs: this.decoderS * 1000,
      postprocessMs: this.postprocessS * 1000,
      done,
    });
  }
}

/**
 * Per-batch filtering of one crop's candidates (amg-reference.md, "One crop", step 3): predicted-IoU filter before
 * any upscaling, then stability, binarisation, box, edge filter and RLE in one pass per candidate.
 */
class CropPostprocessor {
  readonly candidates: Candidate[] = [];
  private readonly masker: CandidateMasker;
  private readonly cleaned: Float32Array | null;
  private readonly bits: Uint8Array | null;
  private readonly labels: Int32Array | null;

  constructor(
    private readonly gen: MaskGenerator,
    private readonly encoded: EncodedCrop,
    private readonly cropBox: BoxXYXY,
    private readonly imageW: number,
    private readonly imageH: number,
  ) {
    const g = encoded.geometry;
    this.masker = new CandidateMasker(new UpscalePlan(g, encoded.width, encoded.height));
    const lowResCleanup = gen.family === 'sam2' && gen.options.minMaskRegionArea > 0;
    const n = g.lowRes * g.lowRes;
    this.cleaned = lowResCleanup ? new Float32Array(n) : null;
    this.bits = lowResCleanup ? new Uint8Array(n) : null;
    this.labels = lowResCleanup ? new Int32Array(n) : null;
  }

  /**
   * Filters one decoder batch's candidates; resolves to the seconds spent (turns of the event loop excluded).
   * Long batches (large images: seconds per batch) give the event loop a turn every {@link YIELD_EVERY_S}, between
   * prompts, so that timers, signals, progress and I/O are served; the records do not change.
   */
  async addBatch(out: DecodedBatch, points: Float64Array, start: number): Promise<number> {
    let t = now();
    let spent = 0;
    const o = this.gen.options;
    const stats = this.gen.stats;
    const lowRes = this.encoded.geometry.lowRes;
    const cellCount = lowRes * lowRes;
    const m = out.masksPerPrompt;
    const iouThresh = f32(o.predIouThresh);
    const stabThresh = f32(o.stabilityScoreThresh);
    const maskT = f32(o.maskThreshold);
    const highT = f32(o.maskThreshold + o.stabilityScoreOffset);
    const lowT = f32(o.maskThreshold - o.stabilityScoreOffset);
    for (let p = 0; p < out.count; p++) {
      if (now() - t > YIELD_EVERY_S) {
        spent += now() - t;
        await nextTurn();
        t = now();
      }
      for (let k = 0; k < m; k++) {
        const idx = p * m + k;
        stats.candidates++;
        const iou = out.iou[idx];
        if (o.predIouThresh > 0 && !(iou > iouThresh)) continue;
        stats.afterIou++;
        let logits = out.logits;
        let offset = idx * cellCount;
        if (this.cleaned && this.bits && this.labels) {
          cleanLowResLogits(logits, offset, lowRes, SAM2_CLEANUP_THRESHOLD, o.minMaskRegionArea, this.cleaned, this.bits, this.labels);
          logits = this.cleaned;
          offset = 0;
        }
        this.masker.load(logits, offset);
        // With the filter on, the pass stops early for a candidate whose score is sure to end below the threshold.
        const minStability = o.stabilityScoreThresh > 0 ? stabThresh : 0;
        const { counts, mask, rejected } = this.masker.evaluate(lowT, maskT, highT, this.cropBox, this.imageW, this.imageH, minStability);
        if (rejected) continue;
        const stability = counts.low === 0 ? NaN : f32(counts.high / counts.low);
        if (o.stabilityScoreThresh > 0 && !(stability >= stabThresh)) continue;
        stats.afterStability++;
        // An empty mask is never emitted (a documented departure: the reference would write NaN scores for it).
        if (mask === null) continue;
        if (isBoxNearCropEdge(mask.box, this.cropBox, this.imageW, this.imageH)) continue;
        stats.afterEdge++;
        this.candidates.push({
          rle: mask.rle,
          area: mask.area,
          box: mask.box,
          iou,
          stability,
          pointX: points[2 * (start + p)],
          pointY: points[2 * (start + p) + 1],
        });
      }
    }
    spent += now() - t;
    stats.postprocessS += spent;
    return spent;
  }
}

function recordBoxes(records: MaskRecord[]): number[] {
  const boxes: number[] = new Array(records.length * 4);
  records.forEach((r, i) => {
    boxes[4 * i] = r.bbox[0];
    boxes[4 * i + 1] = r.bbox[1];
    boxes[4 * i + 2] = r.bbox[0] + r.bbox[2];
    boxes[4 * i + 3] = r.bbox[1] + r.bbox[3];
  });
  return boxes;
}

function emptyStats(): GeneratorStats {
  return {
    crops: 0,
    prompts: 0,
    candidates: 0,
    afterIou: 0,
    afterStability: 0,
    afterEdge: 0,
    afterCropNms: 0,
    afterCrossCropNms: 0,
    final: 0,
    postprocessS: 0,
    nmsS: 0,
    smallRegionsS: 0,
    decodeWaitS: 0,
  };
}
