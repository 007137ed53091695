/**
 * The one interface the algorithm sees. Each model family/layout implements it; the generator never asks which.
 */
import type { LogitGeometry, RgbImage } from '../base/types.js';

/** Model family, which decides the reference generator's defaults and number handling. */
export type ModelFamily = 'sam' | 'sam2';

/** An encoded crop: the adapter's own opaque feeds plus what the algorithm needs to read the logits. */
export interface EncodedCrop {
  readonly width: number;
  readonly height: number;
  readonly geometry: LogitGeometry;
}

/** Decoder output for `count` prompts with `masksPerPrompt` candidates each, prompt-major. */
export interface DecodedBatch {
  count: number;
  masksPerPrompt: number;
  /** Predicted IoU, [count × masksPerPrompt]. */
  iou: Float32Array;
  /** Low-res logits, [count × masksPerPrompt × lowRes × lowRes]. */
  logits: Float32Array;
}

/** Timings an adapter accumulates, in seconds. */
export interface AdapterTimings {
  preprocess: number;
  encoder: number;
  decoder: number;
}

/** What a loaded model can do, for the generator and for `models info`. */
export interface ModelAdapter {
  readonly family: ModelFamily;
  readonly layout: string;
  /** Encodes one crop (resize, normalise, pad as the model's config says, then the image encoder). */
  encode(image: RgbImage): Promise<EncodedCrop>;
  /**
   * Decodes single positive-point prompts given in the crop's pixel frame (x, y interleaved), one prompt per point.
   * `maskInput`, when given, is one low-res logit map per prompt (SAM 2's mask-to-mask refinement); `multimask`
   * false asks for the single-mask output.
   */
  decode(crop: EncodedCrop, points: Float64Array, count: number, opts?: DecodeOptions): Promise<DecodedBatch>;
  /**
   * Decodes box prompts given in the crop's pixel frame (x0, y0, x1, y1 per box), one prompt per box, mapped to the
   * model's input frame like prompt points. The model sees each box as the reference predictors give it: its two
   * corners with labels 2 and 3 (or the layout's box input). Absent when the layout cannot take a box. `maskInput`
   * is not accepted.
   */
  decodeBoxes?(crop: EncodedCrop, boxes: Float64Array, count: number, opts?: DecodeOptions): Promise<DecodedBatch>;
  /** Whether decode() accepts a mask prompt (use_m2m) and the single-mask output. */
  readonly supportsMaskInput: boolean;
  readonly supportsSingleMask: boolean;
  /** False when the model has only the single-mask output (then --no-multimask is required); undefined means true. */
  readonly supportsMultimask?: boolean;
  readonly timings: AdapterTimings;
  release(): Promise<void>;
}

/** Options of one decoder call. */
export interface DecodeOptions {
  multimask?: boolean;
  maskInput?: Float32Array;
}
