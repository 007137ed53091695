/**
 * How an adapter feeds its decoder, as the graph optimiser needs to know it: the shape of every input with the
 * prompt count P marked, which inputs come from the image encoder, which outputs are read, and what the exactness
 * probe feeds each input. Each layout (./layouts) states its prompt side; the image side comes from the metadata.
 * A layout that takes box prompts states a second prompt side for them (other shapes, other labels): the same graph
 * fed another way, which the decoder specialises and probes on its own (./decoder.ts).
 */
import type { InferenceSession } from 'onnxruntime-common';
import type { DecoderSpec } from './optimise/index.js';

/**
 * Probe values of an input: encoder features, prompt points, labels (1: positive points; box-labels: 2, 3 along
 * the last axis; pad-labels: −1), a mask prompt, its flag, an image size, zeros.
 */
export type ProbeKind = 'features' | 'points' | 'labels' | 'box-labels' | 'pad-labels' | 'mask' | 'flag' | 'size' | 'zeros';

/** A decoder spec plus what the probe feeds and how closely each read output must agree. */
export interface FeedSpec extends DecoderSpec {
  probe: Readonly<Record<string, ProbeKind>>;
  /** Output → its prompt axis (absent: the output has none) and the largest |Δ| the exactness check accepts. */
  outputAxes: Readonly<Record<string, { axis?: number; tolerance: number }>>;
  /** How box prompts are fed, when the layout takes them; or why that feeding cannot be specialised. */
  boxes?: FeedSpec | string;
}

/** Largest |Δ| on mask logits and on predicted IoU between the original and the optimised decoder. */
export const LOGIT_TOLERANCE = 1e-4;
export const IOU_TOLERANCE = 1e-5;

type Meta = readonly InferenceSession.ValueMetadata[];

/** One prompt-side input: its dims with P marked, and its probe values. */
export interface PromptInput {
  dims: readonly (number | 'P')[];
  probe: ProbeKind;
}

/** What a layout states about its decoder's prompt side: inputs with P marked, probe kinds, read outputs. */
export interface PromptFeeds {
  inputs: Readonly<Record<string, PromptInput>>;
  /** The prompt inputs when the prompts are boxes (same outputs); absent when the layout takes no boxes. */
  boxInputs?: Readonly<Record<string, PromptInput>>;
  outputs: readonly string[];
  outputAxes: FeedSpec['outputAxes'];
}

/**
 * The feed spec of a decoder: its image-side inputs (the decoder inputs the encoder outputs by the same name, which
 * every layout's bind() has checked; shapes from the decoder, else the encoder metadata) and the
 * layout's prompt side (and its box side as `boxes`); or a reason why the graph cannot be specialised (an
 * image-side input whose size the decoder does not fix and the encoder does not state).
 */
export function feedSpecOf(prompt: PromptFeeds, decoderIn: Meta, encoderOut: Meta): FeedSpec | string {
  const imageNames = decoderIn.map((m) => m.name).filter((n) => encoderOut.some((e) => e.name === n));
  const imageInputs: Record<string, (number | 'P')[]> = {};
  for (const name of imageNames) {
    const dims = imageDims(name, decoderIn, encoderOut);
    if (typeof dims === 'string') return dims;
    imageInputs[name] = dims;
  }
  const spec = (side: Readonly<Record<string, PromptInput>>): FeedSpec => {
    const inputs: Record<string, (number | 'P')[]> = { ...imageInputs };
    const probe: Record<string, ProbeKind> = Object.fromEntries(imageNames.map((n) => [n, 'features' as const]));
    for (const [name, p] of Object.entries(side)) {
      inputs[name] = [...p.dims];
      probe[name] = p.probe;
    }
    return { inputs, imageInputs: imageNames, outputs: [...prompt.outputs], probe, outputAxes: prompt.outputAxes };
  };
  const points = spec(prompt.inputs);
  return prompt.boxInputs ? { ...points, boxes: spec(prompt.boxInputs) } : points;
}

/** Whether two feed specs give every input the same dims (then one specialised graph serves both). */
export function sameShapes(a: FeedSpec, b: FeedSpec): boolean {
  const names = Object.keys(a.inputs);
  return (
    names.length === Object.keys(b.inputs).length &&
    names.every((n) => b.inputs[n] !== undefined && a.inputs[n].length === b.inputs[n].length && a.inputs[n].every((d, i) => d === b.inputs[n][i]))
  );
}

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
