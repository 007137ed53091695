/**
 * Adapter for the SAM reference repository's own decoder export (`scripts/export_onnx_model.py`, the layout many
 * desktop labelling tools use), paired with a SAM 1 image encoder.
 *
 * Decoder inputs: `image_embeddings` [1,256,64,64], `point_coords` [1,N,2] (resized 1024 frame), `point_labels`
 * [1,N] float, `mask_input` [1,1,256,256], `has_mask_input` [1], `orig_im_size` [2] float (h, w); outputs
 * `masks`, `iou_predictions` [1,M], `low_res_masks` [1,M,256,256] with M = 4 (return_single_mask off: output 0 is
 * the single-mask output, 1..3 the multimask outputs) or M = 1 (return_single_mask on: the single-mask output only).
 *
 * The batch axis is fixed at 1, so decode() loops over the prompts, one decoder call each. Every prompt is fed as
 * the reference's ONNX example does: the point with label 1 plus the padding point (0, 0) with label −1 (the export
 * does not pad by itself when no box is given); a box as its two corners with labels 2 and 3 and no padding point
 * (as SamPredictor feeds a box: the export's prompt encoder embeds labels 2 and 3 as box corners); `mask_input`
 * zeros with `has_mask_input` 0, or the given mask with `has_mask_input` 1 (use_m2m); `orig_im_size` the crop's
 * (h, w). The adapter reads `low_res_masks`, not `masks`, so the generator's own exact upscaling applies as for
 * every other layout. Points and boxes feed the same shapes ([1, 2, 2]), so one optimised graph serves both.
 */
import type { PreprocessSpec } from '../../image/preprocess.js';
import type { DecodedBatch, DecodeOptions, EncodedCrop } from '../adapter.js';
import { checkContract } from '../contract.js';
import type { Decoder } from '../decoder.js';
import { feedSpecOf, IOU_TOLERANCE, LOGIT_TOLERANCE } from '../decoder-spec.js';
import { ModelError } from '../errors.js';
import type { Feeds, OrtRuntime } from '../runtime.js';
import { ExportAdapter, type ExportParts } from './export-adapter.js';
import { pointTensors, type PromptRows } from './prompt-inputs.js';
import { checkImageInput, exportPoints, exportPromptFeeds, MASK_PROMPT_IN, maskCount } from './single-decoder.js';
import type { LayoutSpec, SessionPair } from './spec.js';

const now = (): number => performance.now() / 1000;

/** One prompt per call: point_coords [1, N, 2], point_labels [1, N]. */
const POINTS = exportPoints(false);

/** The reference single-decoder export (SAM 1 family, batch 1). */
export class ReferenceExportAdapter extends ExportAdapter {
  readonly family = 'sam' as const;
  readonly layout = 'reference-export';
  readonly supportsSingleMask = true;

  /**
   * @param embeddingOutput the encoder output that feeds `image_embeddings`
   * @param masksPerCall M from the decoder metadata (1 or 4)
   */
  constructor(parts: ExportParts, embeddingOutput: string, private readonly masksPerCall: 1 | 4) {
    super(parts, { image_embeddings: embeddingOutput }, true, masksPerCall);
  }

  /** One decoder call per prompt of `rows`. */
  protected async run(decoder: Decoder, image: Feeds, rows: PromptRows, crop: EncodedCrop, opts: DecodeOptions): Promise<DecodedBatch> {
    const count = rows.count;
    const multimask = opts.multimask !== false;
    this.checkMultimask(multimask);
    const lowRes = crop.geometry.lowRes;
    const cells = lowRes * lowRes;
    if (opts.maskInput) this.checkMaskInput(opts.maskInput, count, cells);
    const per = multimask ? 3 : 1;
    const first = multimask ? 1 : 0;
    const iou = new Float32Array(count * per);
    const logits = new Float32Array(count * per * cells);
    const mask = opts.maskInput ? new Float32Array(cells) : this.zeros(cells);
    const hasMask = this.runtime.float32(new Float32Array([opts.maskInput ? 1 : 0]), [1]);
    const origSize = this.runtime.float32(new Float32Array([crop.height, crop.width]), [2]);
    for (let i = 0; i < count; i++) {
      if (opts.maskInput) mask.set(opts.maskInput.subarray(i * cells, (i + 1) * cells));
      const t = now();
      const out = await decoder.run(
        {
          ...image,
          ...pointTensors(this.runtime, POINTS, rows, i, 1),
          mask_input: this.runtime.float32(mask, [1, 1, lowRes, lowRes]),
          has_mask_input: hasMask,
          orig_im_size: origSize,
        },
        ['iou_predictions', 'low_res_masks'],
      );
      this.timings.decoder += now() - t;
      const dims = out.low_res_masks.dims;
      if (dims.length !== 4 || dims[1] !== this.masksPerCall || dims[2] !== lowRes || dims[3] !== lowRes) {
        throw new ModelError(
          `${this.decoderFile}: low_res_masks has shape [${dims.join(', ')}], expected [1, ${this.masksPerCall}, ${lowRes}, ${lowRes}]`,
        );
      }
      const scores = out.iou_predictions.data as Float32Array;
      const maps = out.low_res_masks.data as Float32Array;
      iou.set(scores.subarray(first, first + per), i * per);
      logits.set(maps.subarray(first * cells, (first + per) * cells), i * per * cells);
    }
    return { count, masksPerPrompt: per, iou, logits };
  }
}

/** The reference repository's decoder export: `point_coords` + `orig_im_size` + `image_embeddings`. */
export const REFERENCE_EXPORT: LayoutSpec = {
  name: 'reference-export',
  family: 'sam',
  matches: (inputs) => inputs.has('point_coords') && inputs.has('orig_im_size') && inputs.has('image_embeddings'),
  encoder: 'sam1',
  defaultTransform: { size: { longest_edge: 1024 }, do_pad: true },
  bind(pair: SessionPair, pre: PreprocessSpec) {
    const { encoder, decoder, encoderFile, decoderFile } = pair;
    checkImageInput(encoderFile, encoder, pre);
    checkContract(encoderFile, 'output', encoder.outputMetadata, [{ name: 'image_embeddings', type: 'float32', rank: 4 }]);
    checkContract(decoderFile, 'input', decoder.inputMetadata, [
      { name: 'image_embeddings', type: 'float32', rank: 4 },
      ...MASK_PROMPT_IN,
      { name: 'orig_im_size', type: 'float32', rank: 1 },
    ]);
    checkContract(decoderFile, 'output', decoder.outputMetadata, [
      { name: 'iou_predictions', type: 'float32', rank: 2 },
      { name: 'low_res_masks', type: 'float32', rank: 4 },
    ]);
    const masks = maskCount(decoderFile, decoder.outputMetadata, 'low_res_masks', [1, 4] as const, 4);
    const prompts = exportPromptFeeds(false, 2);
    const size = { orig_im_size: { dims: [2], probe: 'size' as const } };
    return {
      // Batch 1, one call per prompt: the point and the padding point, or a box's corners (decode, decodeBoxes).
      feeds: feedSpecOf(
        {
          inputs: { ...prompts.inputs, ...size },
          boxInputs: { ...prompts.boxInputs, ...size },
          outputs: ['iou_predictions', 'low_res_masks'],
          outputAxes: { iou_predictions: { tolerance: IOU_TOLERANCE }, low_res_masks: { tolerance: LOGIT_TOLERANCE } },
        },
        decoder.inputMetadata,
        encoder.outputMetadata,
      ),
      description: {},
      create: (dec: Decoder, runtime: OrtRuntime) => new ReferenceExportAdapter({ encoder, decoder: dec, pre, decoderFile, runtime }, 'image_embeddings', masks),
    };
  },
};
