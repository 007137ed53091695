/**
 * The registered model layouts, in the order loadModel tries them. Adding a layout: one file with its LayoutSpec,
 * one line here.
 */
import { HF_SAM, HF_SAM2 } from './hugging-face.js';
import { REFERENCE_EXPORT } from './reference-export.js';
import { SAMEXPORTER_SAM2 } from './samexporter.js';
import type { LayoutSpec } from './spec.js';

export const LAYOUTS: readonly LayoutSpec[] = [HF_SAM2, HF_SAM, REFERENCE_EXPORT, SAMEXPORTER_SAM2];

export type { BoundLayout, EncoderKind, LayoutDescription, LayoutSpec, SessionPair } from './spec.js';
