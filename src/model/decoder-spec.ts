/**
 * How each layout's adapter feeds its decoder, as the graph optimiser needs to know it: the shape of every input
 * with the prompt count P marked, which inputs come from the image encoder, which outputs are read, and what the
 * exactness probe feeds each input.
 */
import type * as ort from 'onnxruntime-node';
import type { DecoderSpec } from './optimise/index.js';
import type { ModelLayout } from './load.js';

/** Probe values of an input: encoder features, prompt points, labels, a mask prompt, its flag, an image size. */
export type ProbeKind = 'features' | 'points' | 'labels' | 'mask' | 'flag' | 'size' | 'empty';

/** A decoder spec plus what the probe feeds and how closely each read output must agree. */
export interface FeedSpec extends DecoderSpec {
  probe: Readonly<Record<string, ProbeKind>>;
  /** Output → its prompt axis (absent: the output has none) and the largest |Δ| the exactness check accepts. */
  outputAxes: Readonly<Record<string, { axis?: number; tolerance: number }>>;
}

/** Largest |Δ| on mask logits and on predicted IoU between the original and the optimised decoder. */
export const LOGIT_TOLERANCE = 1e-4;
export const IOU_TOLERANCE = 1e-5;

type Meta = readonly ort.InferenceSession.ValueMetadata[];

/**
 * The feed spec of a layout, or a reason why the graph cannot be specialised (an image-side input whose size the
 * decoder does not fix and the encoder does not state).
 */
export function feedSpec(layout: ModelLayout, decoderIn: Meta, encoderOut: Meta): FeedSpec | string {
  const imageNames = decoderIn.map((m) => m.name).filter((n) => encoderOut.some((e) => e.name === n) || IMAGE_INPUTS.has(n));
  const inputs: Record<string, (number | 'P')[]> = {};
  const probe: Record<string, ProbeKind> = {};
  for (const name of imageNames) {
    const dims = imageDims(name, decoderIn, encoderOut);
    if (typeof dims === 'string') return dims;
    inputs[name] = dims;
    probe[name] = 'features';
  }
  const set = (name: string, dims: (number | 'P')[], kind: ProbeKind): void => {
    inputs[name] = dims;
    probe[name] = kind;
  };
  const has = (name: string): boolean => decoderIn.some((m) => m.name === name);
  switch (layout) {
    case 'hf-sam':
    case 'hf-sam2':
      // One image, P prompts of one point each (HfSamAdapter.decode).
      set('input_points', [1, 'P', 1, 2], 'points');
      set('input_labels', [1, 'P', 1], 'labels');
      if (has('input_boxes')) set('input_boxes', [1, 0, 4], 'empty');
      return {
        inputs,
        imageInputs: imageNames,
        outputs: ['iou_scores', 'pred_masks'],
        probe,
        outputAxes: { iou_scores: { axis: 1, tolerance: IOU_TOLERANCE }, pred_masks: { axis: 1, tolerance: LOGIT_TOLERANCE } },
      };
    case 'reference-export':
      // Batch 1, the point and the padding point, one call per prompt (ReferenceExportAdapter.decode).
      set('point_coords', [1, 2, 2], 'points');
      set('point_labels', [1, 2], 'labels');
      set('mask_input', [1, 1, 256, 256], 'mask');
      set('has_mask_input', [1], 'flag');
      set('orig_im_size', [2], 'size');
      return {
        inputs,
        imageInputs: imageNames,
        outputs: ['iou_predictions', 'low_res_masks'],
        probe,
        outputAxes: { iou_predictions: { tolerance: IOU_TOLERANCE }, low_res_masks: { tolerance: LOGIT_TOLERANCE } },
      };
    case 'samexporter-sam2':
      // P prompts of one point each, a mask prompt per prompt (SamexporterAdapter.decode).
      set('point_coords', ['P', 1, 2], 'points');
      set('point_labels', ['P', 1], 'labels');
      set('mask_input', ['P', 1, 256, 256], 'mask');
      set('has_mask_input', ['P'], 'flag');
      return {
        inputs,
        imageInputs: imageNames,
        outputs: ['masks', 'iou_predictions'],
        probe,
        outputAxes: { masks: { axis: 0, tolerance: LOGIT_TOLERANCE }, iou_predictions: { axis: 0, tolerance: IOU_TOLERANCE } },
      };
  }
}

/** Encoder features every layout's decoder reads. */
const IMAGE_INPUTS = new Set(['image_embeddings', 'image_positional_embeddings', 'image_embeddings.0', 'image_embeddings.1', 'image_embeddings.2', 'image_embed', 'high_res_feats_0', 'high_res_feats_1']);

/** Dims of an image-side input for one image: batch 1, the rest from the decoder or else the encoder metadata. */
function imageDims(name: string, decoderIn: Meta, encoderOut: Meta): number[] | string {
  const fixed = (meta: Meta): (number | undefined)[] | undefined => {
    const m = meta.find((x) => x.name === name);
    if (!m || !m.isTensor) return undefined;
    return m.shape.map((d, i) => (i === 0 ? 1 : typeof d === 'number' && d > 0 ? d : undefined));
  };
  const dec = fixed(decoderIn);
  const enc = fixed(encoderOut);
  if (!dec) return `no input ${name}`;
  const dims = dec.map((d, i) => d ?? enc?.[i]);
  if (dims.some((d) => d === undefined)) return `the size of ${name} is not fixed by the decoder or the encoder`;
  return dims as number[];
}
