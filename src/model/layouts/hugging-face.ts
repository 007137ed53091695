/**
 * The Hugging Face ONNX layout (transformers.js): vision_encoder + prompt_encoder_mask_decoder, for SAM 1
 * (`image_embeddings`, `image_positional_embeddings`) and SAM 2 (`image_embeddings.0/1/2`, `input_boxes`). All
 * prompts of a batch go to the decoder in one call; the decoder returns 3 masks per prompt and has no mask input.
 *
 * Box prompts: a decoder with `input_boxes` (SAM 2) gets the boxes there, [1, P, 4], and as its point prompt per box
 * only the padding point (0, 0) with label −1, which the reference SAM 2 predictor adds to a box as well (its
 * decoder needs at least one point per prompt). A decoder without it (SAM 1's) gets the corners as two points with
 * labels 2 and 3; note that such a graph appends its own padding point to every point prompt, which SAM 1's
 * reference predictor does not do for a box (SAM 2's does), so real SAM 1 weights in this layout may differ slightly
 * from SamPredictor on boxes (the prompt-aware conformance toy is not affected).
 */
import type { InferenceSession } from 'onnxruntime-common';
import type { RgbImage } from '../../base/types.js';
import type { PreprocessSpec } from '../../image/preprocess.js';
import type { AdapterTimings, DecodedBatch, DecodeOptions, EncodedCrop, ModelAdapter, ModelFamily } from '../adapter.js';
import { checkContract, type TensorSpec } from '../contract.js';
import type { Decoder } from '../decoder.js';
import { feedSpecOf, IOU_TOLERANCE, LOGIT_TOLERANCE } from '../decoder-spec.js';
import { ImageEncoderRunner, type FeedsCrop } from '../encoding.js';
import { ModelError } from '../errors.js';
import type { Feeds, OrtRuntime } from '../runtime.js';
import { boxCorners, paddingPoints, pointContract, pointFeeds, pointTensors, positivePoints, type PointInputs, type PromptRows } from './prompt-inputs.js';
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
/** input_points [1, P, N, 2], input_labels int64 [1, P, N]: one image, P prompts. */
const POINTS: PointInputs = { coords: 'input_points', labels: 'input_labels', labelType: 'int64', lead: [1], batched: true };
const BOX_IN: TensorSpec = { name: 'input_boxes', type: 'float32', rank: 3 };
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
    this.runner = new ImageEncoderRunner(encoder, runtime, pre, Object.fromEntries(embeddings.map((n) => [n, n])), this.timings, decoder);
    this.hasBoxes = decoderInputs.has(BOX_IN.name);
  }

  async encode(image: RgbImage): Promise<EncodedCrop> {
    return this.runner.encode(image);
  }

  async decode(crop: EncodedCrop, points: Float64Array, count: number, opts: DecodeOptions = {}): Promise<DecodedBatch> {
    this.checkOptions(opts);
    const c = crop as FeedsCrop;
    const rows = positivePoints(points, count, c, this.pre, false);
    const boxes = this.hasBoxes ? new Float32Array(0) : undefined;
    return this.run(this.decoder, c.feeds, rows, boxes, crop);
  }

  async decodeBoxes(crop: EncodedCrop, boxes: Float64Array, count: number, opts: DecodeOptions = {}): Promise<DecodedBatch> {
    this.checkOptions(opts);
    const c = crop as FeedsCrop;
    const { decoder, feeds } = await c.boxFeeds();
    const corners = boxCorners(boxes, count, c, this.pre);
    // The mapped corners are the box input's [x0, y0, x1, y1] per box.
    if (this.hasBoxes) return this.run(decoder, feeds, paddingPoints(count), corners.coords, crop);
    return this.run(decoder, feeds, corners, undefined, crop);
  }

  private checkOptions(opts: DecodeOptions): void {
    if (opts.maskInput || opts.multimask === false) {
      throw new ModelError(`${this.decoderFile}: this layout has no mask input or single-mask output`);
    }
  }

  /** One decoder call: the point rows, and the boxes ([1, count, 4]; empty: [1, 0, 4]) when the decoder takes them. */
  private async run(decoder: Decoder, image: Feeds, rows: PromptRows, boxes: Float32Array | undefined, crop: EncodedCrop): Promise<DecodedBatch> {
    const count = rows.count;
    const feeds: Feeds = { ...image, ...pointTensors(this.runtime, POINTS, rows) };
    if (boxes) feeds[BOX_IN.name] = this.runtime.float32(boxes, [1, boxes.length / 4, 4]);
    const t = now();
    const out = await decoder.run(feeds, ['iou_scores', 'pred_masks']);
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
      checkContract(decoderFile, 'input', decoder.inputMetadata, [...pointContract(POINTS), ...embeddings, ...(sam2 ? [{ ...BOX_IN, optional: true }] : [])]);
      checkContract(decoderFile, 'output', decoder.outputMetadata, DECODER_OUT);
      const hasBoxes = decoder.inputNames.includes(BOX_IN.name);
      return {
        // One image, P prompts of one point each, or P boxes (HfSamAdapter.decode, decodeBoxes).
        feeds: feedSpecOf(
          {
            inputs: { ...pointFeeds(POINTS, 1, 'labels'), ...(hasBoxes ? { [BOX_IN.name]: { dims: [1, 0, 4], probe: 'zeros' as const } } : {}) },
            boxInputs: hasBoxes
              ? { ...pointFeeds(POINTS, 1, 'pad-labels'), [BOX_IN.name]: { dims: [1, 'P', 4], probe: 'points' as const } }
              : pointFeeds(POINTS, 2, 'box-labels'),
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
