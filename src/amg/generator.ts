/**
 * MaskGenerator: the reference automatic mask generator's control flow (amg-reference.md), step by step.
 * The maths lives in the pure modules it calls: crop boxes (src/crop), grids, upscaling and candidate masks
 * (src/mask), NMS (src/nms), RLE (src/rle).
 */
import { cropImage } from '../image/preprocess.js';
import { isRgbImage, wholeImageSource, type ImageSource } from '../image/source.js';
import { generateCropBoxes, cropBoxToXYWH } from '../crop/crop-boxes.js';
import { generateTileBoxes } from '../crop/tiles.js';
import { InlineEvaluator, type CandidateEvaluator } from '../mask/evaluator.js';
import { boxNms } from '../nms/nms.js';
import type { DecodedBatch, EncodedCrop, ModelAdapter, ModelFamily } from '../model/adapter.js';
import type { LoadedModel } from '../model/load.js';
import { OptionsError, resolveOptions, type AmgOptions } from './options.js';
import { buildLayerGrids } from './point-grid.js';
import { removeSmallRegionsFromRecords } from './small-region-pass.js';
import { CropPostprocessor } from './crop-postprocessor.js';
import { CallLedger, emptyStats, type GeneratorStats, type GenerateProgress } from './stats.js';
import type { BoxXYXY, MaskRecord, RgbImage } from '../base/types.js';
import { GenerationStopped, TileReadError, type TileHooks } from './tile-run.js';

export { SAM2_CLEANUP_THRESHOLD } from './crop-postprocessor.js';
export type { GeneratorStats, GenerateProgress } from './stats.js';
export { GenerationStopped, TileReadError, type TileHooks } from './tile-run.js';

const f32 = Math.fround;
const now = (): number => performance.now() / 1000;

/** Options of one {@link MaskGenerator.generate} call; none of them changes the records. */
export interface GenerateOptions {
  onProgress?: (p: GenerateProgress) => void;
  /** Tiled mode: tiles restored from an earlier run, and a hook after each tile. */
  tiles?: TileHooks;
  /**
   * Tiled mode: once aborted, no further tile starts and the call rejects with {@link GenerationStopped} (the tiles
   * finished so far have been handed to onTileDone). Untiled calls run to the end.
   */
  signal?: AbortSignal;
}

/** Automatic mask generation with one loaded model and one set of options. */
export class MaskGenerator {
  readonly options: AmgOptions;
  readonly family: ModelFamily;
  readonly stats: GeneratorStats = emptyStats();
  private readonly grids: Float64Array[];

  /**
   * @param evaluator where candidates are post-processed (default: inline on this thread); the generator owns it
   *   and closes it on release()
   */
  constructor(
    readonly adapter: ModelAdapter,
    options: Partial<AmgOptions> = {},
    readonly model?: LoadedModel,
    readonly evaluator: CandidateEvaluator = new InlineEvaluator(),
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

  /**
   * A generator over a model being loaded (e.g. `loadModelFromUrl(…)`); options not given take the family's
   * reference defaults. The model is released when the options do not fit it.
   */
  static async fromModel<G extends MaskGenerator>(
    this: new (adapter: ModelAdapter, options?: Partial<AmgOptions>, model?: LoadedModel) => G,
    loading: LoadedModel | Promise<LoadedModel>,
    options: Partial<AmgOptions> = {},
  ): Promise<G> {
    const model = await loading;
    try {
      return new this(model.adapter, options, model);
    } catch (err) {
      await model.adapter.release();
      throw err;
    }
  }

  /**
   * Prompts per image: every layer's grid in each of its (2^i)² crops. It does not depend on the image's size, so
   * a run knows its total number of prompts (and an ETA from prompt throughput) before the first image. In tiled
   * mode it does (the grid runs once per tile): 0 there, and each call's progress reports its own prompt count.
   */
  get promptsPerImage(): number {
    if (this.options.tile !== null) return 0;
    return this.grids.reduce((sum, g, i) => sum + 4 ** i * (g.length / 2), 0);
  }

  /**
   * Masks of one image, in the reference's record order. In tiled mode (`tile` set) the image may be a source read
   * tile by tile, so that a huge image is never held whole.
   */
  async generate(image: RgbImage | ImageSource, opts: GenerateOptions = {}): Promise<MaskRecord[]> {
    const o = this.options;
    if (o.tile !== null) return this.generateTiled(isRgbImage(image) ? wholeImageSource(image) : image, o.tile, opts);
    const whole = isRgbImage(image) ? image : await image.readRegion(0, 0, image.width, image.height);
    const { width: W, height: H } = whole;
    const plan = generateCropBoxes(W, H, o.cropNLayers, o.cropOverlapRatio);
    const prompts = plan.layers.reduce((n, l) => n + this.grids[l].length / 2, 0);
    const ledger = new CallLedger(this.stats, plan.boxes.length, prompts, opts.onProgress);
    let records: MaskRecord[] = [];
    for (let i = 0; i < plan.boxes.length; i++) {
      const [x0, y0, x1, y1] = plan.boxes[i];
      const crop = x0 === 0 && y0 === 0 && x1 === W && y1 === H ? whole : cropImage(whole, x0, y0, x1, y1);
      const cropRecords = await this.processCrop(crop, plan.boxes[i], W, H, plan.layers[i], ledger);
      for (const r of cropRecords) records.push(r);
    }
    if (plan.boxes.length > 1) {
      // Prefer masks from smaller crops.
      const t = now();
      const boxes = recordBoxes(records);
      const scores = records.map((r) => f32(1 / (r.cropBox[2] * r.cropBox[3])));
      records = boxNms(boxes, scores, o.cropNmsThresh).map((k) => records[k]);
      ledger.nms(now() - t);
    }
    return this.finishRecords(records, ledger);
  }

  /**
   * Tiled mode (amg-reference.md, "Tiles"): every tile of the grid as a crop with the layer-0 grid, read from the
   * source one at a time; then NMS across tiles by predicted IoU (ties to the earlier record), then the usual end.
   * Tiles restored through `opts.tiles` are not read nor computed; their records take their place in tile order.
   */
  private async generateTiled(source: ImageSource, tile: number, opts: GenerateOptions): Promise<MaskRecord[]> {
    const o = this.options;
    const { width: W, height: H } = source;
    const boxes = generateTileBoxes(W, H, tile, o.tileOverlap ?? 0);
    const restored = opts.tiles?.restored ?? new Map<number, MaskRecord[]>();
    const restoredCount = boxes.reduce((n, _, i) => n + (restored.has(i) ? 1 : 0), 0);
    const perTile = this.grids[0].length / 2;
    const ledger = new CallLedger(this.stats, boxes.length, (boxes.length - restoredCount) * perTile, opts.onProgress, restoredCount);
    let records: MaskRecord[] = [];
    for (let i = 0; i < boxes.length; i++) {
      const done = restored.get(i);
      if (done !== undefined) {
        for (const r of done) records.push(r);
        continue;
      }
      if (opts.signal?.aborted) throw new GenerationStopped(i, boxes.length);
      const [x0, y0, x1, y1] = boxes[i];
      const tr = now();
      let crop: RgbImage;
      try {
        crop = await source.readRegion(x0, y0, x1, y1);
      } catch (err) {
        throw new TileReadError(i, boxes.length, boxes[i], i, err);
      }
      ledger.tileRead(now() - tr);
      const tileRecords = await this.processCrop(crop, boxes[i], W, H, 0, ledger);
      await opts.tiles?.onTileDone?.(i, boxes.length, tileRecords);
      for (const r of tileRecords) records.push(r);
      ledger.tileDone();
    }
    if (boxes.length > 1) {
      // Tiles have equal areas: the score is the predicted IoU, ties to the earlier record (boxNms keeps order).
      const t = now();
      records = boxNms(recordBoxes(records), records.map((r) => r.predictedIou), o.cropNmsThresh).map((k) => records[k]);
      ledger.nms(now() - t);
    }
    return this.finishRecords(records, ledger);
  }

  /** After the NMS across crops or tiles: SAM 1's small-region clean-up, the counters, the last progress report. */
  private finishRecords(input: MaskRecord[], ledger: CallLedger): MaskRecord[] {
    const o = this.options;
    let records = input;
    ledger.count('afterCrossCropNms', records.length);
    if (o.minMaskRegionArea > 0 && this.family === 'sam' && records.length > 0) {
      const t = now();
      records = removeSmallRegionsFromRecords(records, o.minMaskRegionArea, Math.max(o.boxNmsThresh, o.cropNmsThresh));
      ledger.smallRegions(now() - t);
    }
    ledger.count('final', records.length);
    ledger.finish();
    return records;
  }

  /**
   * One crop (its pixels already cut out of the W×H image at `cropBox`): encode, prompt in batches, filter, NMS
   * within the crop, back to the image frame.
   */
  private async processCrop(crop: RgbImage, cropBox: BoxXYXY, imageW: number, imageH: number, layer: number, ledger: CallLedger): Promise<MaskRecord[]> {
    const o = this.options;
    const [x0, y0, x1, y1] = cropBox;
    const cw = x1 - x0;
    const ch = y1 - y0;
    const te = now();
    const encoded = await this.adapter.encode(crop);
    ledger.cropEncoded(now() - te);
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
    const post = new CropPostprocessor({ options: o, family: this.family, evaluator: this.evaluator, ledger }, encoded, cropBox, imageW, imageH);
    const batch = o.pointsPerBatch;
    // Keep ONNX Runtime busy: the next batch is decoding on its threads while this one is post-processed.
    let pending: Promise<DecodedBatch> | null = nPoints > 0 ? this.decodeBatch(encoded, points, 0, Math.min(batch, nPoints)) : null;
    for (let start = 0; start < nPoints; start += batch) {
      const count = Math.min(batch, nPoints - start);
      const tw = now();
      const out = await (pending as Promise<DecodedBatch>);
      ledger.decoderWaited(now() - tw);
      const nextStart = start + batch;
      pending = nextStart < nPoints ? this.decodeBatch(encoded, points, nextStart, Math.min(batch, nPoints - nextStart)) : null;
      let decoded = out;
      if (o.useM2m) {
        const tr = now();
        decoded = await this.refineM2m(encoded, out, points, start);
        ledger.decoderRan(now() - tr);
      }
      // The batch's logits belong to the post-processor from here on (an evaluator on threads may keep them).
      await post.addBatch(decoded, points, start);
      ledger.batchDone(count);
    }
    const cands = await post.finish();
    const t = now();
    const keep = boxNms(
      cands.flatMap((c) => c.box),
      cands.map((c) => c.iou),
      o.boxNmsThresh,
    );
    ledger.nms(now() - t);
    ledger.count('afterCropNms', keep.length);
    const cropXYWH = cropBoxToXYWH(cropBox);
    // Masks that waited for NMS (see CropPostprocessor) are computed now, for the survivors only.
    const kept = await post.resolve(keep);
    return kept.map((c) => {
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

  /** Frees the model's sessions and the evaluator's threads. */
  async release(): Promise<void> {
    await this.evaluator.close();
    await this.adapter.release();
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
