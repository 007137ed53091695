/**
 * The image side shared by every layout: pre-processing as the model folder's config says, one encoder run, and the
 * prompt mapping from crop pixels to the model's input frame.
 */
import type { InferenceSession } from 'onnxruntime-common';
import type { LogitGeometry, RgbImage } from '../base/types.js';
import { preprocess, type PreprocessSpec } from '../image/preprocess.js';
import type { AdapterTimings, EncodedCrop } from './adapter.js';
import type { Decoder } from './decoder.js';
import type { Feeds, OrtRuntime } from './runtime.js';

/** An encoded crop: the decoder feeds taken from the encoder outputs, and the prompt scale. */
export interface FeedsCrop extends EncodedCrop {
  /** The image-side feeds of point prompts (Decoder.prepare done). */
  readonly feeds: Feeds;
  /**
   * The decoder of box prompts and its image-side feeds, prepared on first use: the same as for points unless the
   * decoder graph is specialised for box prompts on its own (Decoder.forBoxes).
   */
  boxFeeds(): Promise<{ decoder: Decoder; feeds: Feeds }>;
  /** Crop pixels → resized frame (longest-edge mode). */
  readonly scaleX: number;
  readonly scaleY: number;
}

const now = (): number => performance.now() / 1000;

/** Runs one image encoder and renames its outputs to the decoder's input names. */
export class ImageEncoderRunner {

  /**
   * @param outputs decoder input name → encoder output name
   * @param decoder the decoder whose image-side step (Decoder.prepare) runs on the renamed outputs
   */
  constructor(
    private readonly session: InferenceSession,
    private readonly runtime: OrtRuntime,
    private readonly pre: PreprocessSpec,
    private readonly outputs: Readonly<Record<string, string>>,
    private readonly timings: AdapterTimings,
    private readonly decoder: Decoder,
  ) {}

  async encode(image: RgbImage): Promise<FeedsCrop> {
    let t = now();
    const pre = preprocess(image, this.pre);
    const side = this.pre.mode === 'square' ? this.pre.size : this.pre.padSize;
    const input = this.runtime.float32(pre.pixels, [1, 3, side, side]);
    this.timings.preprocess += now() - t;
    t = now();
    const out = await this.session.run({ [this.session.inputNames[0]]: input }, [...new Set(Object.values(this.outputs))]);
    this.timings.encoder += now() - t;
    const renamed: Feeds = {};
    for (const [decoderName, encoderName] of Object.entries(this.outputs)) renamed[decoderName] = out[encoderName];
    // The decoder's image-side work, once per crop. The encoder outputs stay with the crop (they go with it): box
    // prompts whose decoder is a specialisation of its own prepare them on first use.
    t = now();
    const feeds = await this.decoder.prepare(renamed);
    this.timings.decoder += now() - t;
    let boxes: Promise<{ decoder: Decoder; feeds: Feeds }> | undefined;
    const boxFeeds = (): Promise<{ decoder: Decoder; feeds: Feeds }> =>
      (boxes ??= this.decoder.forBoxes().then(async (decoder) => {
        if (decoder === this.decoder) return { decoder, feeds };
        const tb = now();
        const prepared = await decoder.prepare(renamed);
        this.timings.decoder += now() - tb;
        return { decoder, feeds: prepared };
      }));
    const geometry: LogitGeometry =
      this.pre.mode === 'square'
        ? { lowRes: 256, frame: null, validW: 256, validH: 256 }
        : { lowRes: 256, frame: this.pre.padSize, validW: pre.resizedW, validH: pre.resizedH };
    return {
      width: image.width,
      height: image.height,
      geometry,
      feeds,
      boxFeeds,
      scaleX: pre.resizedW / image.width,
      scaleY: pre.resizedH / image.height,
    };
  }
}

/**
 * Prompt point i of `points` (crop pixels) in the model's input frame, written to out[2·i], out[2·i + 1].
 * Square mode follows SAM 2's own transform in float32 (x / w · size); longest-edge mode SAM 1's
 * ResizeLongestSide (x · new_w / w).
 */
export function mapPoint(points: Float64Array, i: number, crop: FeedsCrop, pre: PreprocessSpec, out: Float32Array, at: number): void {
  if (pre.mode === 'square') {
    const f32 = Math.fround;
    out[at] = f32(f32(f32(points[2 * i]) / crop.width) * pre.size);
    out[at + 1] = f32(f32(f32(points[2 * i + 1]) / crop.height) * pre.size);
  } else {
    out[at] = points[2 * i] * crop.scaleX;
    out[at + 1] = points[2 * i + 1] * crop.scaleY;
  }
}
