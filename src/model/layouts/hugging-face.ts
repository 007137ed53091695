/**
 * The Hugging Face ONNX layout (transformers.js): vision_encoder + prompt_encoder_mask_decoder, for SAM 1
 * (`image_embeddings`, `image_positional_embeddings`) and SAM 2 (`image_embeddings.0/1/2`, `input_boxes`). All
 * prompts of a batch go to the decoder in one call; the decoder returns 3 masks per prompt and has no mask input.
 */
import type { InferenceSession } from 'onnxruntime-common';
import type { RgbImage } from '../../base/types.js';
import type { PreprocessSpec } from '../../image/preprocess.js';
import type { AdapterTimings, DecodedBatch, DecodeOptions, EncodedCrop, ModelAdapter, ModelFamily } from '../adapter.js';
import { checkContract, type TensorSpec } from '../contract.js';
import type { Decoder } from '../decoder.js';
import { feedSpecOf, IOU_TOLERANCE, LOGIT_TOLERANCE } from '../decoder-spec.js';
import { ImageEncoderRunner, mapPoint, type FeedsCrop } from '../encoding.js';
import { ModelError } from '../errors.js';
import type { Feeds, OrtRuntime } from '../runtime.js';
import type { LayoutSpec, SessionPair } from './spec.js';

const now = (): number => performance.now() / 1000;

const SAM1_ENCODER_OUT: TensorSpec[] = [
  { name: 'image_embeddings', type: 'float32', rank: 4 },
  { name: 'image_positional_embeddings', type: 'float32', rank: 4 },
];
const SAM2_ENCODER_OUT: TensorSpec[] = [
  { name: 'image_embeddings.0', type: 'float32', rank: 4 },
  { name: 'image_embeddings.1', type: 'float32', rank: 4 },
  { name: 'image_embeddings.2', type: 'float32', rank: 4 },
];
const PROMPT_IN: TensorSpec[] = [
  { name: 'input_points', type: 'float32', rank: 4 },
  { name: 'input_labels', type: 'int64', rank: 3 },
];
const DECODER_OUT: TensorSpec[] = [
  { name: 'iou_scores', type: 'float32', rank: 3 },
  { name: 'pred_masks', type: 'float32', rank: 5 },
];

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
    private readonly encoder: InferenceSession,
    private readonly decoder: Decoder,
    private readonly pre: PreprocessSpec,
    private readonly decoderFile: string,
    private readonly runtime: OrtRuntime,
  ) {
    this.layout = family === 'sam' ? 'hf-sam' : 'hf-sam2';
    const decoderInputs = new Set(decoder.inputNames);
    const embeddings = encoder.outputNames.filter((n) => decoderInputs.has(n));
    this.runner = new ImageEncoderRunner(encoder, runtime, pre, Object.fromEntries(embeddings.map((n) => [n, n])), this.timings, (image) =>
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
    const feeds: Feeds = {
      ...c.feeds,
      input_points: this.runtime.float32(coords, [1, count, 1, 2]),
      input_labels: this.runtime.int64(labels, [1, count, 1]),
    };
    if (this.hasBoxes) feeds.input_boxes = this.runtime.float32(new Float32Array(0), [1, 0, 4]);
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

  async release(): Promise<void> {
    await this.encoder.release();
    await this.decoder.release();
  }
}

/** The Hugging Face layout of one family: SAM 1 (`hf-sam`) or SAM 2 (`hf-sam2`). */
function huggingFaceLayout(family: ModelFamily): LayoutSpec {
  const sam2 = family === 'sam2';
  const embeddings = sam2 ? SAM2_ENCODER_OUT : SAM1_ENCODER_OUT;
  return {
    name: sam2 ? 'hf-sam2' : 'hf-sam',
    family,
    matches: (inputs) => inputs.has('input_points') && inputs.has(sam2 ? 'image_embeddings.0' : 'image_embeddings'),
    encoder: sam2 ? 'sam2-hf' : 'sam1',
    // Hugging Face folders always carry their preprocessor_config.json (load.ts requires it).
    defaultTransform: {},
    bind(pair: SessionPair, pre: PreprocessSpec) {
      const { encoder, decoder, encoderFile, decoderFile } = pair;
      checkContract(encoderFile, 'input', encoder.inputMetadata, [{ name: 'pixel_values', type: 'float32', rank: 4 }]);
      checkContract(encoderFile, 'output', encoder.outputMetadata, embeddings);
      checkContract(decoderFile, 'input', decoder.inputMetadata, [
        ...PROMPT_IN,
        ...embeddings,
        ...(sam2 ? [{ name: 'input_boxes', type: 'float32', rank: 3, optional: true }] : []),
      ]);
      checkContract(decoderFile, 'output', decoder.outputMetadata, DECODER_OUT);
      const hasBoxes = decoder.inputNames.includes('input_boxes');
      return {
        // One image, P prompts of one point each (HfSamAdapter.decode).
        feeds: feedSpecOf(
          {
            inputs: {
              input_points: { dims: [1, 'P', 1, 2], probe: 'points' },
              input_labels: { dims: [1, 'P', 1], probe: 'labels' },
              ...(hasBoxes ? { input_boxes: { dims: [1, 0, 4], probe: 'empty' as const } } : {}),
            },
            outputs: ['iou_scores', 'pred_masks'],
            outputAxes: { iou_scores: { axis: 1, tolerance: IOU_TOLERANCE }, pred_masks: { axis: 1, tolerance: LOGIT_TOLERANCE } },
          },
          decoder.inputMetadata,
          encoder.outputMetadata,
        ),
        description: {},
        create: (dec: Decoder, runtime: OrtRuntime) => new HfSamAdapter(family, encoder, dec, pre, decoderFile, runtime),
      };
    },
  };
}

export const HF_SAM: LayoutSpec = huggingFaceLayout('sam');
export const HF_SAM2: LayoutSpec = huggingFaceLayout('sam2');
