/**
 * Adapter for samexporter's SAM 2 export (`export_sam2.py`).
 *
 * Encoder: `image` [1,3,1024,1024] → `high_res_feats_0` [1,32,256,256], `high_res_feats_1` [1,64,128,128],
 * `image_embed` [1,256,64,64]. samexporter feeds it SAM 2's transform: the image stretched to 1024×1024 (no padding,
 * aspect ratio not kept), /255, ImageNet mean/std. The folder's preprocessor_config.json decides when present
 * (`size: {height: 1024, width: 1024}`, `do_pad: false`); without one that transform is the default.
 *
 * Decoder: `image_embed`, `high_res_feats_0`, `high_res_feats_1`, `point_coords` [L,N,2] (x / w · 1024,
 * y / h · 1024), `point_labels` [L,N] float, `mask_input` [L,1,256,256], `has_mask_input` [L], with a dynamic prompt
 * axis L → `masks` [L,M,256,256] (low-resolution logits, already clamped to ±32), `iou_predictions` [L,M']. The
 * export adds SAM's padding point itself, so each prompt is one row with one point, label 1, and each box one row
 * with its two corners, labels 2 and 3 (exactly what SAM 2's predictor feeds its prompt encoder). M = 3 (the default
 * export, multimask_output on: outputs 1..3 of the mask decoder) or M = 1 (multimask_output off: the single-mask
 * output after SAM 2's dynamic stability fallback; that export returns all four IoU columns, of which column 0 is the
 * single mask's).
 *
 * use_m2m needs the single-mask output. A 3-mask export has none, so there the refinement keeps, per prompt, the
 * output with the highest predicted IoU (first on ties): what SAM 2's `_dynamic_multimask_via_stability` returns
 * when the single-mask token is unstable, and the closest this export can give. `models info` says so.
 */
import type { PreprocessSpec } from '../../image/preprocess.js';
import type { DecodedBatch, DecodeOptions, EncodedCrop } from '../adapter.js';
import { checkContract, type TensorSpec } from '../contract.js';
import type { Decoder } from '../decoder.js';
import { feedSpecOf, IOU_TOLERANCE, LOGIT_TOLERANCE } from '../decoder-spec.js';
import { ModelError } from '../errors.js';
import type { Feeds, OrtRuntime } from '../runtime.js';
import { ExportAdapter, type ExportParts } from './export-adapter.js';
import { pointTensors, type PromptRows } from './prompt-inputs.js';
import { checkImageInput, exportPoints, exportPromptFeeds, MASK_PROMPT_IN, maskCount } from './single-decoder.js';
import type { LayoutSpec, SessionPair } from './spec.js';

const now = (): number => performance.now() / 1000;

/** point_coords [L, N, 2], point_labels [L, N]: a dynamic prompt axis. */
const POINTS = exportPoints(true);

/** samexporter's SAM 2 encoder/decoder pair (dynamic prompt batch, mask input). */
export class SamexporterAdapter extends ExportAdapter {
  readonly family = 'sam2' as const;
  readonly layout = 'samexporter-sam2';
  /** Only a multimask_output=False export has the single-mask output. */
  readonly supportsSingleMask: boolean;

  /** @param masksPerPrompt M from the decoder's `masks` metadata (1 or 3). */
  constructor(parts: ExportParts, private readonly masksPerPrompt: 1 | 3) {
    super(parts, Object.fromEntries(FEATURES.map((f) => [f.name, f.name])), false, masksPerPrompt);
    this.supportsSingleMask = masksPerPrompt === 1;
  }

  /** One decoder call for every prompt of `rows`. */
  protected async run(decoder: Decoder, image: Feeds, rows: PromptRows, crop: EncodedCrop, opts: DecodeOptions): Promise<DecodedBatch> {
    const count = rows.count;
    const multimask = opts.multimask !== false;
    const M = this.masksPerPrompt;
    this.checkMultimask(multimask);
    if (!multimask && M === 3 && !opts.maskInput) {
      throw new ModelError(`${this.decoderFile}: this export has no single-mask output (multimask_output was on when exported)`);
    }
    const lowRes = crop.geometry.lowRes;
    const cells = lowRes * lowRes;
    let mask: Float32Array;
    if (opts.maskInput) {
      this.checkMaskInput(opts.maskInput, count, cells);
      mask = opts.maskInput.length === count * cells && opts.maskInput.byteOffset === 0
        ? opts.maskInput
        : opts.maskInput.slice(0, count * cells);
    } else {
      mask = this.zeros(count * cells);
    }
    const feeds: Feeds = {
      ...image,
      ...pointTensors(this.runtime, POINTS, rows),
      mask_input: this.runtime.float32(mask, [count, 1, lowRes, lowRes]),
      has_mask_input: this.runtime.float32(new Float32Array(count).fill(opts.maskInput ? 1 : 0), [count]),
    };
    const t = now();
    const out = await decoder.run(feeds, ['masks', 'iou_predictions']);
    this.timings.decoder += now() - t;
    const dims = out.masks.dims;
    if (dims.length !== 4 || dims[0] !== count || dims[1] !== M || dims[2] !== lowRes || dims[3] !== lowRes) {
      throw new ModelError(`${this.decoderFile}: masks has shape [${dims.join(', ')}], expected [${count}, ${M}, ${lowRes}, ${lowRes}]`);
    }
    const iouDims = out.iou_predictions.dims;
    const iouCols = iouDims[1];
    if (iouDims.length !== 2 || iouDims[0] !== count || !(iouCols === M || (M === 1 && iouCols === 4))) {
      throw new ModelError(`${this.decoderFile}: iou_predictions has shape [${iouDims.join(', ')}], expected [${count}, ${M}]`);
    }
    const scores = out.iou_predictions.data as Float32Array;
    const maps = out.masks.data as Float32Array;
    if (M === 1) {
      const iou = new Float32Array(count);
      for (let i = 0; i < count; i++) iou[i] = scores[i * iouCols];
      return { count, masksPerPrompt: 1, iou, logits: maps };
    }
    if (multimask) return { count, masksPerPrompt: 3, iou: scores, logits: maps };
    // use_m2m on a 3-mask export: the best output per prompt stands in for the single-mask output.
    const iou = new Float32Array(count);
    const logits = new Float32Array(count * cells);
    for (let i = 0; i < count; i++) {
      let best = 0;
      for (let k = 1; k < 3; k++) if (scores[i * 3 + k] > scores[i * 3 + best]) best = k;
      iou[i] = scores[i * 3 + best];
      logits.set(maps.subarray((i * 3 + best) * cells, (i * 3 + best + 1) * cells), i * cells);
    }
    return { count, masksPerPrompt: 1, iou, logits };
  }
}

const FEATURES: TensorSpec[] = [
  { name: 'high_res_feats_0', type: 'float32', rank: 4 },
  { name: 'high_res_feats_1', type: 'float32', rank: 4 },
  { name: 'image_embed', type: 'float32', rank: 4 },
];

/** samexporter's SAM 2 export: `point_coords` + `image_embed` + `high_res_feats_0`. */
export const SAMEXPORTER_SAM2: LayoutSpec = {
  name: 'samexporter-sam2',
  family: 'sam2',
  matches: (inputs) => inputs.has('point_coords') && inputs.has('image_embed') && inputs.has('high_res_feats_0'),
  encoder: 'sam2-samexporter',
  defaultTransform: { size: { height: 1024, width: 1024 }, do_pad: false },
  bind(pair: SessionPair, pre: PreprocessSpec) {
    const { encoder, decoder, encoderFile, decoderFile } = pair;
    checkImageInput(encoderFile, encoder, pre);
    checkContract(encoderFile, 'output', encoder.outputMetadata, FEATURES);
    checkContract(decoderFile, 'input', decoder.inputMetadata, [...FEATURES, ...MASK_PROMPT_IN]);
    checkContract(decoderFile, 'output', decoder.outputMetadata, [
      { name: 'masks', type: 'float32', rank: 4 },
      { name: 'iou_predictions', type: 'float32', rank: 2 },
    ]);
    const masks = maskCount(decoderFile, decoder.outputMetadata, 'masks', [1, 3] as const, 3);
    return {
      // P prompts of one point each or P boxes, a mask prompt per prompt (SamexporterAdapter.decode, decodeBoxes).
      feeds: feedSpecOf(
        {
          ...exportPromptFeeds(true, 1),
          outputs: ['masks', 'iou_predictions'],
          outputAxes: { masks: { axis: 0, tolerance: LOGIT_TOLERANCE }, iou_predictions: { axis: 0, tolerance: IOU_TOLERANCE } },
        },
        decoder.inputMetadata,
        encoder.outputMetadata,
      ),
      description: { m2mNote: masks === 1 ? 'single-mask output' : 'no single-mask output: the best of the 3 outputs by predicted IoU' },
      create: (dec: Decoder, runtime: OrtRuntime) => new SamexporterAdapter({ encoder, decoder: dec, pre, decoderFile, runtime }, masks),
    };
  },
};
