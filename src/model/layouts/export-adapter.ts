/**
 * What the two single-decoder export adapters (the reference repository's and samexporter's) have in common: the
 * sessions they hold, the encoder run, how point and box prompts become prompt rows, and the checks of a mask prompt.
 * Each subclass only says how its decoder is called on the rows (`run`).
 */
import type { InferenceSession } from 'onnxruntime-common';
import type { RgbImage } from '../../base/types.js';
import type { PreprocessSpec } from '../../image/preprocess.js';
import type { AdapterTimings, DecodedBatch, DecodeOptions, EncodedCrop, ModelAdapter, ModelFamily } from '../adapter.js';
import type { Decoder } from '../decoder.js';
import { ImageEncoderRunner, type FeedsCrop } from '../encoding.js';
import { ModelError } from '../errors.js';
import type { Feeds, OrtRuntime } from '../runtime.js';
import { boxCorners, positivePoints, type PromptRows } from './prompt-inputs.js';

/** The sessions and settings an export adapter is made from (LayoutSpec.bind's `create`). */
export interface ExportParts {
  encoder: InferenceSession;
  decoder: Decoder;
  pre: PreprocessSpec;
  /** The decoder's file name, for messages. */
  decoderFile: string;
  runtime: OrtRuntime;
}

/** A single-decoder export: mask prompts accepted, the multimask output unless the export has one mask only. */
export abstract class ExportAdapter implements ModelAdapter {
  abstract readonly family: ModelFamily;
  abstract readonly layout: string;
  /** The exports always take `mask_input` / `has_mask_input`. */
  readonly supportsMaskInput = true;
  abstract readonly supportsSingleMask: boolean;
  /** False for an export with the single-mask output only. */
  readonly supportsMultimask: boolean;
  readonly timings: AdapterTimings = { preprocess: 0, encoder: 0, decoder: 0 };
  protected readonly decoderFile: string;
  protected readonly runtime: OrtRuntime;
  private readonly encoder: InferenceSession;
  private readonly decoder: Decoder;
  private readonly pre: PreprocessSpec;
  private readonly runner: ImageEncoderRunner;
  private zeroMasks: Float32Array | undefined;

  /**
   * @param embeddings decoder input name → encoder output name
   * @param padding whether a point prompt gets SAM's padding point here (the export does not add it itself)
   * @param masks the masks per decoder call in the output (1: the single-mask output only)
   */
  protected constructor(parts: ExportParts, embeddings: Readonly<Record<string, string>>, private readonly padding: boolean, masks: number) {
    this.encoder = parts.encoder;
    this.decoder = parts.decoder;
    this.pre = parts.pre;
    this.decoderFile = parts.decoderFile;
    this.runtime = parts.runtime;
    this.supportsMultimask = masks !== 1;
    this.runner = new ImageEncoderRunner(this.encoder, this.runtime, this.pre, embeddings, this.timings, this.decoder);
  }

  encode(image: RgbImage): Promise<EncodedCrop> {
    return this.runner.encode(image);
  }

  async decode(crop: EncodedCrop, points: Float64Array, count: number, opts: DecodeOptions = {}): Promise<DecodedBatch> {
    const c = crop as FeedsCrop;
    return this.run(this.decoder, c.feeds, positivePoints(points, count, c, this.pre, this.padding), crop, opts);
  }

  async decodeBoxes(crop: EncodedCrop, boxes: Float64Array, count: number, opts: DecodeOptions = {}): Promise<DecodedBatch> {
    if (opts.maskInput) throw new ModelError(`${this.decoderFile}: box prompts take no mask input`);
    const c = crop as FeedsCrop;
    const { decoder, feeds } = await c.boxFeeds();
    return this.run(decoder, feeds, boxCorners(boxes, count, c, this.pre), crop, opts);
  }

  async release(): Promise<void> {
    await this.encoder.release();
    await this.decoder.release();
  }

  /** Decodes the prompt `rows` with `decoder` on the crop's image-side feeds `image`. */
  protected abstract run(decoder: Decoder, image: Feeds, rows: PromptRows, crop: EncodedCrop, opts: DecodeOptions): Promise<DecodedBatch>;

  /** Refuses the multimask output of an export that has only the single-mask one. */
  protected checkMultimask(multimask: boolean): void {
    if (multimask && !this.supportsMultimask) {
      throw new ModelError(`${this.decoderFile}: this export has only the single-mask output (run with --no-multimask)`);
    }
  }

  /** Refuses a mask input shorter than one low-res map of `cells` per prompt. */
  protected checkMaskInput(maskInput: Float32Array, count: number, cells: number): void {
    if (maskInput.length < count * cells) throw new ModelError(`mask input has ${maskInput.length} values, expected ${count} × ${cells}`);
  }

  /**
   * `length` zeros: the mask input when there is no mask prompt. Never written after creation, so concurrent
   * decode() calls may share it.
   */
  protected zeros(length: number): Float32Array {
    if (!this.zeroMasks || this.zeroMasks.length !== length) this.zeroMasks = new Float32Array(length);
    return this.zeroMasks;
  }
}
