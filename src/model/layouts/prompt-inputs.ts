/**
 * Point prompts as every layout feeds them: a coordinates input [...lead, P, N, 2] and a labels input
 * [...lead, P, N], with P prompts of N points each. One description per layout gives its contract (names, element
 * types, ranks), its decoder feed spec for the optimiser and the tensors of each call, so the field lists are
 * written once.
 *
 * What a prompt is, in points and labels (SAM's label convention: 1 positive, 0 negative, 2 and 3 a box's
 * top-left and bottom-right corners, −1 the padding point "not a point"):
 * - a single positive point: (x, y) label 1, followed by the padding point (0, 0) label −1 where the layout does
 *   not add it itself (the reference export);
 * - a box: its corners (x0, y0) label 2 and (x1, y1) label 3, no padding point (what SAM 1's prompt encoder sees for
 *   a box, and what SAM 2's predictor feeds before its encoder adds its own padding point).
 */
import type { PreprocessSpec } from '../../image/preprocess.js';
import type { TensorSpec } from '../contract.js';
import type { ProbeKind, PromptInput } from '../decoder-spec.js';
import { mapPoint, type FeedsCrop } from '../encoding.js';
import type { Feeds, OrtRuntime } from '../runtime.js';

/** The two point inputs of a decoder. */
export interface PointInputs {
  readonly coords: string;
  readonly labels: string;
  readonly labelType: 'float32' | 'int64';
  /** Fixed dims before the prompt axis (the Hugging Face layouts' image batch: [1]). */
  readonly lead: readonly number[];
  /** False when the decoder takes one prompt per call (the reference export): the prompt axis is fixed at 1. */
  readonly batched: boolean;
}

/** Prompts of one call in the model's input frame: `count` prompts of `n` points each, prompt-major. */
export interface PromptRows {
  count: number;
  n: number;
  /** x, y per point: count · n · 2 values. */
  coords: Float32Array;
  /** count · n labels. */
  labels: Float32Array;
}

/** The contract of the point inputs: float32 coordinates, labels of the layout's type, ranks from the layout. */
export function pointContract(p: PointInputs): TensorSpec[] {
  return [
    { name: p.coords, type: 'float32', rank: p.lead.length + 3 },
    { name: p.labels, type: p.labelType, rank: p.lead.length + 2 },
  ];
}

/** The point inputs' dims and probe values for prompts of `n` points with labels probed as `labels`. */
export function pointFeeds(p: PointInputs, n: number, labels: ProbeKind): Record<string, PromptInput> {
  const prompts = p.batched ? 'P' : 1;
  return {
    [p.coords]: { dims: [...p.lead, prompts, n, 2], probe: 'points' },
    [p.labels]: { dims: [...p.lead, prompts, n], probe: labels },
  };
}

/** Tensors of prompts start … start + count − 1 of `rows` (all of them by default). */
export function pointTensors(runtime: OrtRuntime, p: PointInputs, rows: PromptRows, start = 0, count = rows.count): Feeds {
  const n = rows.n;
  const coords = rows.coords.subarray(start * n * 2, (start + count) * n * 2);
  const labels = rows.labels.subarray(start * n, (start + count) * n);
  return {
    [p.coords]: runtime.float32(coords, [...p.lead, count, n, 2]),
    [p.labels]:
      p.labelType === 'int64'
        ? runtime.int64(BigInt64Array.from(labels, (v) => BigInt(v)), [...p.lead, count, n])
        : runtime.float32(labels, [...p.lead, count, n]),
  };
}

/** Single positive points (crop pixels, x, y interleaved), each followed by the padding point when `padding`. */
export function positivePoints(points: Float64Array, count: number, crop: FeedsCrop, pre: PreprocessSpec, padding: boolean): PromptRows {
  const n = padding ? 2 : 1;
  const coords = new Float32Array(count * n * 2); // the padding point stays (0, 0)
  const labels = new Float32Array(count * n);
  for (let i = 0; i < count; i++) {
    mapPoint(points, i, crop, pre, coords, 2 * n * i);
    labels[n * i] = 1;
    if (padding) labels[n * i + 1] = -1;
  }
  return { count, n, coords, labels };
}

/**
 * Boxes (crop pixels, x0, y0, x1, y1 each) as their two corners with labels 2 and 3, mapped like prompt points.
 * The coordinates are also, box by box, the mapped [x0, y0, x1, y1] a box input takes.
 */
export function boxCorners(boxes: Float64Array, count: number, crop: FeedsCrop, pre: PreprocessSpec): PromptRows {
  const coords = new Float32Array(count * 4);
  const labels = new Float32Array(count * 2);
  // Box i's corners are points 2i and 2i + 1 of the interleaved array.
  for (let i = 0; i < 2 * count; i++) mapPoint(boxes, i, crop, pre, coords, 2 * i);
  for (let i = 0; i < count; i++) labels.set([2, 3], 2 * i);
  return { count, n: 2, coords, labels };
}

/** One padding point, (0, 0) with label −1, per prompt: the point rows of a layout that takes boxes in their own input. */
export function paddingPoints(count: number): PromptRows {
  return { count, n: 1, coords: new Float32Array(count * 2), labels: new Float32Array(count).fill(-1) };
}
