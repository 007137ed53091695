/**
 * The contract pieces the single-decoder exports (the reference repository's and samexporter's) share: one image
 * input on the encoder, the point/mask prompt inputs, and the masks per prompt read from the output metadata.
 */
import type { InferenceSession } from 'onnxruntime-common';
import type { PreprocessSpec } from '../../image/preprocess.js';
import { checkContract, fixedDim, type TensorSpec } from '../contract.js';
import type { PromptInput } from '../decoder-spec.js';
import { ModelError } from '../errors.js';
import { pointContract, pointFeeds, type PointInputs } from './prompt-inputs.js';

type Meta = readonly InferenceSession.ValueMetadata[];

/** `point_coords` [P, N, 2] and float `point_labels` [P, N]; P fixed at 1 when the export takes one prompt per call. */
export function exportPoints(batched: boolean): PointInputs {
  return { coords: 'point_coords', labels: 'point_labels', labelType: 'float32', lead: [], batched };
}

/** Prompt inputs of the single-decoder exports: points, labels and a mask prompt (`mask_input`, `has_mask_input`). */
export const MASK_PROMPT_IN: TensorSpec[] = [
  ...pointContract(exportPoints(true)),
  { name: 'mask_input', type: 'float32', rank: 4 },
  { name: 'has_mask_input', type: 'float32', rank: 1 },
];

/**
 * The prompt side of a single-decoder export for points (`n` per prompt, with their label probe) and for boxes (two
 * corners, labels 2 and 3): the point inputs, then a mask prompt per prompt.
 */
export function exportPromptFeeds(batched: boolean, n: number): { inputs: Record<string, PromptInput>; boxInputs: Record<string, PromptInput> } {
  const p = exportPoints(batched);
  const prompts = batched ? 'P' : 1;
  const mask: Record<string, PromptInput> = {
    mask_input: { dims: [prompts, 1, 256, 256], probe: 'mask' },
    has_mask_input: { dims: [prompts], probe: 'flag' },
  };
  return { inputs: { ...pointFeeds(p, n, 'labels'), ...mask }, boxInputs: { ...pointFeeds(p, 2, 'box-labels'), ...mask } };
}

/** The encoder of a single-decoder export: one float32 [B,3,S,S] input, S the transform's tensor side when fixed. */
export function checkImageInput(encoderFile: string, encoder: InferenceSession, pre: PreprocessSpec): void {
  const inputs = encoder.inputMetadata;
  if (inputs.length !== 1) {
    throw new ModelError(`${encoderFile}: an image encoder has one input, found ${inputs.length}: ${inputs.map((m) => m.name).join(', ')}`);
  }
  const name = inputs[0].name;
  checkContract(encoderFile, 'input', inputs, [{ name, type: 'float32', rank: 4 }]);
  const side = pre.mode === 'square' ? pre.size : pre.padSize;
  for (const [axis, want] of [[1, 3], [2, side], [3, side]] as const) {
    const d = fixedDim(inputs, name, axis);
    if (d !== undefined && d !== want) {
      const m = inputs[0];
      const shape = m.isTensor ? m.shape : [];
      throw new ModelError(`${encoderFile}: input '${name}' has shape [${shape.join(', ')}], expected [1, 3, ${side}, ${side}] for the configured transform`);
    }
  }
}

/** Masks per prompt of a decoder output: fixed in the metadata, or the layout's usual count when symbolic. */
export function maskCount<T extends number>(file: string, meta: Meta, name: string, allowed: readonly T[], dflt: T): T {
  const d = fixedDim(meta, name, 1);
  if (d === undefined) return dflt;
  if (!(allowed as readonly number[]).includes(d)) {
    throw new ModelError(`${file}: output '${name}' has ${d} masks per prompt, expected ${allowed.join(' or ')}`);
  }
  return d as T;
}
