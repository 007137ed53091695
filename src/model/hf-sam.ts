/**
 * Adapter for the Hugging Face ONNX layout (transformers.js): vision_encoder + prompt_encoder_mask_decoder,
 * for SAM 1 (`image_embeddings`, `image_positional_embeddings`) and SAM 2 (`image_embeddings.0/1/2`, `input_boxes`).
 */
import * as ort from 'onnxruntime-node';
import type { RgbImage } from '../amg/types.js';
import { preprocess, type PreprocessSpec } from '../image/preprocess.js';
import type { LogitGeometry } from '../mask/upscale.js';
import type { AdapterTimings, DecodedBatch, DecodeOptions, EncodedCrop, ModelAdapter, ModelFamily } from './adapter.js';
import { ModelError } from './session.js';

/** An encoded crop as this adapter keeps it: the encoder outputs the decoder reads, and the prompt scale. */
interface HfEncodedCrop extends EncodedCrop {
  readonly feeds: Record<string, ort.Tensor>;
  /** Multiply crop-pixel x/y by these to get the model's input frame (longest-edge mode). */
  readonly scaleX: number;
  readonly scaleY: number;
}

const now = (): number => performance.now() / 1000;

/** SAM / SAM 2 models in the Hugging Face ONNX layout. */
export class HfSamAdapter implements ModelAdapter {
  readonly layout: string;
  readonly supportsMaskInput = false;
  readonly supportsSingleMask = false;
  readonly timings: AdapterTimings = { preprocess: 0, encoder: 0, decoder: 0 };
  private pixelBuffer: Float32Array | undefined;
  private readonly embeddingNames: string[];
  private readonly hasBoxes: boolean;

  constructor(
    readonly family: ModelFamily,
    private readonly encoder: ort.InferenceSession,
    private readonly decoder: ort.InferenceSession,
    private readonly pre: PreprocessSpec,
    private readonly decoderFile: string,
  ) {
    this.layout = family === 'sam' ? 'hf-sam' : 'hf-sam2';
    const decoderInputs = new Set(decoder.inputNames);
    this.embeddingNames = encoder.outputNames.filter((n) => decoderInputs.has(n));
    this.hasBoxes = decoderInputs.has('input_boxes');
  }

  async encode(image: RgbImage): Promise<EncodedCrop> {
    let t = now();
    const pre = preprocess(image, this.pre, this.pixelBuffer);
    this.pixelBuffer = pre.pixels;
    const side = this.pre.mode === 'square' ? this.pre.size : this.pre.padSize;
    const input = new ort.Tensor('float32', pre.pixels, [1, 3, side, side]);
    this.timings.preprocess += now() - t;
    t = now();
    const out = await this.encoder.run({ [this.encoder.inputNames[0]]: input });
    this.timings.encoder += now() - t;
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of this.embeddingNames) feeds[name] = out[name];
    const geometry: LogitGeometry =
      this.pre.mode === 'square'
        ? { lowRes: 256, frame: null, validW: 256, validH: 256 }
        : { lowRes: 256, frame: this.pre.padSize, validW: pre.resizedW, validH: pre.resizedH };
    const crop: HfEncodedCrop = {
      width: image.width,
      height: image.height,
      geometry,
      feeds,
      scaleX: pre.resizedW / image.width,
      scaleY: pre.resizedH / image.height,
    };
    return crop;
  }

  async decode(crop: EncodedCrop, points: Float64Array, count: number, opts: DecodeOptions = {}): Promise<DecodedBatch> {
    if (opts.maskInput || opts.multimask === false) {
      throw new ModelError(`${this.decoderFile}: this layout has no mask input or single-mask output`);
    }
    const c = crop as HfEncodedCrop;
    const coords = new Float32Array(count * 2);
    if (this.pre.mode === 'square') {
      // SAM 2's own transform: normalise by the crop size, then scale to the square input, all in float32.
      const f32 = Math.fround;
      const size = this.pre.size;
      for (let i = 0; i < count; i++) {
        coords[2 * i] = f32(f32(f32(points[2 * i]) / c.width) * size);
        coords[2 * i + 1] = f32(f32(f32(points[2 * i + 1]) / c.height) * size);
      }
    } else {
      for (let i = 0; i < count; i++) {
        coords[2 * i] = points[2 * i] * c.scaleX;
        coords[2 * i + 1] = points[2 * i + 1] * c.scaleY;
      }
    }
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
    return [this.encoder, this.decoder];
  }

  async release(): Promise<void> {
    await this.encoder.release();
    await this.decoder.release();
  }
}
