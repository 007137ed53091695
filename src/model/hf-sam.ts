/**
 * Adapter for the Hugging Face ONNX layout (transformers.js): vision_encoder + prompt_encoder_mask_decoder,
 * for SAM 1 (`image_embeddings`, `image_positional_embeddings`) and SAM 2 (`image_embeddings.0/1/2`, `input_boxes`).
 */
import * as ort from 'onnxruntime-node';
import type { RgbImage } from '../core/types.js';
import type { PreprocessSpec } from '../image/preprocess.js';
import type { AdapterTimings, DecodedBatch, DecodeOptions, EncodedCrop, ModelAdapter, ModelFamily } from './adapter.js';
import type { Decoder } from './decoder.js';
import { ImageEncoderRunner, mapPoint, type FeedsCrop } from './encoding.js';
import { ModelError } from './session.js';

const now = (): number => performance.now() / 1000;

/** SAM / SAM 2 models in the Hugging Face ONNX layout. */
export class HfSamAdapter implements ModelAdapter {
  readonly layout: string;
  readonly supportsMaskInput = false;
  readonly supportsSingleMask = false;
  readonly timings: AdapterTimings = { preprocess: 0, encoder: 0, decoder: 0 };
  private readonly runner: ImageEncoderRunner;
  private readonly hasBoxes: boolean;

  constructor(
    readonly family: ModelFamily,
    private readonly encoder: ort.InferenceSession,
    private readonly decoder: Decoder,
    private readonly pre: PreprocessSpec,
    private readonly decoderFile: string,
  ) {
    this.layout = family === 'sam' ? 'hf-sam' : 'hf-sam2';
    const decoderInputs = new Set(decoder.inputNames);
    const embeddings = encoder.outputNames.filter((n) => decoderInputs.has(n));
    this.runner = new ImageEncoderRunner(encoder, pre, Object.fromEntries(embeddings.map((n) => [n, n])), this.timings, (image) =>
      decoder.prepare(image),
    );
    this.hasBoxes = decoderInputs.has('input_boxes');
  }

  async encode(image: RgbImage): Promise<EncodedCrop> {
    return this.runner.encode(image);
  }

  async decode(crop: EncodedCrop, points: Float64Array, count: number, opts: DecodeOptions = {}): Promise<DecodedBatch> {
    if (opts.maskInput || opts.multimask === false) {
      throw new ModelError(`${this.decoderFile}: this layout has no mask input or single-mask output`);
    }
    const c = crop as FeedsCrop;
    const coords = new Float32Array(count * 2);
    for (let i = 0; i < count; i++) mapPoint(points, i, c, this.pre, coords, 2 * i);
    const labels = new BigInt64Array(count).fill(1n);
    const feeds: Record<string, ort.Tensor> = {
      ...c.feeds,
      input_points: new ort.Tensor('float32', coords, [1, count, 1, 2]),
      input_labels: new ort.Tensor('int64', labels, [1, count, 1]),
    };
    if (this.hasBoxes) feeds.input_boxes = new ort.Tensor('float32', new Float32Array(0), [1, 0, 4]);
    const t = now();
    const out = await this.decoder.run(feeds, ['iou_scores', 'pred_masks']);
    this.timings.decoder += now() - t;
    const iou = out.iou_scores;
    const masks = out.pred_masks;
    const dims = masks.dims;
    if (dims.length !== 5 || dims[1] !== count || dims[3] !== dims[4] || dims[3] !== crop.geometry.lowRes) {
      throw new ModelError(`${this.decoderFile}: pred_masks has shape [${dims.join(', ')}], expected [1, ${count}, M, 256, 256]`);
    }
    return {
      count,
      masksPerPrompt: dims[2],
      iou: iou.data as Float32Array,
      logits: masks.data as Float32Array,
    };
  }

  /** The encoder and decoder sessions, for `models info`. */
  sessions(): [ort.InferenceSession, ort.InferenceSession] {
    return [this.encoder, this.decoder.session];
  }

  async release(): Promise<void> {
    await this.encoder.release();
    await this.decoder.release();
  }
}
