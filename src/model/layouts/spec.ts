/**
 * A model layout as one registered spec: how to recognise its decoder, which encoder it needs, its contract, and how
 * to build its adapter. load.ts loops over the registry (./index.ts); a new layout is one file.
 */
import type { InferenceSession } from 'onnxruntime-common';
import type { PreprocessSpec } from '../../image/preprocess.js';
import type { ModelAdapter, ModelFamily } from '../adapter.js';
import type { Decoder } from '../decoder.js';
import type { FeedSpec } from '../decoder-spec.js';
import type { OrtRuntime } from '../runtime.js';

/** What the encoder's outputs say it is (rule 3 of loadModel). */
export type EncoderKind = 'sam1' | 'sam2-hf' | 'sam2-samexporter';

/** The two sessions of a model and the names messages use for their files. */
export interface SessionPair {
  encoder: InferenceSession;
  decoder: InferenceSession;
  encoderFile: string;
  decoderFile: string;
}

/** What `models info` says about a layout beyond the adapter's capabilities and the sessions' I/O. */
export interface LayoutDescription {
  /** How use_m2m gets its single mask, when the layout has to choose. */
  m2mNote?: string;
}

/** A layout whose contract held for one model: everything needed to build the adapter. */
export interface BoundLayout {
  /** How the adapter feeds the decoder (for the graph optimiser), or why the graph cannot be specialised. */
  readonly feeds: FeedSpec | string;
  readonly description: LayoutDescription;
  /** The adapter over the encoder session and the (possibly optimised) decoder; it owns both from here on. */
  create(decoder: Decoder, runtime: OrtRuntime): ModelAdapter;
}

/** One model layout. */
export interface LayoutSpec {
  readonly name: string;
  readonly family: ModelFamily;
  /** Rule 2: whether a decoder with these input names is of this layout. */
  matches(decoderInputs: ReadonlySet<string>): boolean;
  /** Rule 3: the encoder this layout's decoder reads. */
  readonly encoder: EncoderKind;
  /** Where the folder has no preprocessor_config.json (single-decoder exports only): the layout's own transform. */
  readonly defaultTransform: Readonly<Record<string, unknown>>;
  /** Rule 4: checks every tensor the layout exchanges (a ModelError naming the file otherwise). */
  bind(pair: SessionPair, pre: PreprocessSpec): BoundLayout;
}
