/**
 * Automatic-mask-generation parameters, their reference defaults per model family, and validation that names
 * the CLI flag of every bad value.
 */
import type { ModelFamily } from '../model/adapter.js';

/** Every parameter of the reference generator (amg-reference.md, "Parameters and their reference defaults"). */
export interface AmgOptions {
  /** n×n prompts on layer 0; null when pointGrids is given. */
  pointsPerSide: number | null;
  /** Explicit normalised [x, y] grids, one per layer; null when pointsPerSide is given. */
  pointGrids: number[][][] | null;
  pointsPerBatch: number;
  predIouThresh: number;
  stabilityScoreThresh: number;
  stabilityScoreOffset: number;
  maskThreshold: number;
  boxNmsThresh: number;
  cropNLayers: number;
  cropNmsThresh: number;
  cropOverlapRatio: number;
  cropNPointsDownscaleFactor: number;
  minMaskRegionArea: number;
  /** Three candidates per prompt (true) or the single-mask output (false; only where the model exposes it). */
  multimaskOutput: boolean;
  /** SAM 2's one-step mask-to-mask refinement (only where the decoder takes a mask input). */
  useM2m: boolean;
}

/** The reference defaults for a family. */
export function defaultOptions(family: ModelFamily): AmgOptions {
  return {
    pointsPerSide: 32,
    pointGrids: null,
    pointsPerBatch: 64,
    predIouThresh: family === 'sam2' ? 0.8 : 0.88,
    stabilityScoreThresh: 0.95,
    stabilityScoreOffset: 1.0,
    maskThreshold: 0.0,
    boxNmsThresh: 0.7,
    cropNLayers: 0,
    cropNmsThresh: 0.7,
    cropOverlapRatio: 512 / 1500,
    cropNPointsDownscaleFactor: 1,
    minMaskRegionArea: 0,
    multimaskOutput: true,
    useM2m: false,
  };
}

/** The CLI flag of each option, for error messages. */
export const OPTION_FLAGS: Readonly<Record<keyof AmgOptions, string>> = {
  pointsPerSide: '--points-per-side',
  pointGrids: '--point-grids',
  pointsPerBatch: '--points-per-batch',
  predIouThresh: '--pred-iou-thresh',
  stabilityScoreThresh: '--stability-score-thresh',
  stabilityScoreOffset: '--stability-score-offset',
  maskThreshold: '--mask-threshold',
  boxNmsThresh: '--box-nms-thresh',
  cropNLayers: '--crop-n-layers',
  cropNmsThresh: '--crop-nms-thresh',
  cropOverlapRatio: '--crop-overlap-ratio',
  cropNPointsDownscaleFactor: '--crop-n-points-downscale-factor',
  minMaskRegionArea: '--min-mask-region-area',
  multimaskOutput: '--no-multimask',
  useM2m: '--use-m2m',
};

/** A usage error: bad option values. Exit code 2 in the CLI. */
export class OptionsError extends Error {
  override name = 'OptionsError';
}

/**
 * Fills the family's defaults under the given values and validates the result.
 * Giving both pointsPerSide and pointGrids is refused; giving pointGrids alone clears the default pointsPerSide.
 */
export function resolveOptions(given: Partial<AmgOptions>, family: ModelFamily): AmgOptions {
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as Partial<AmgOptions>;
  if (defined.pointGrids != null && defined.pointsPerSide != null) {
    throw new OptionsError('--points-per-side and --point-grids are exclusive: give one of them');
  }
  const opts: AmgOptions = { ...defaultOptions(family), ...defined };
  if (defined.pointGrids != null) opts.pointsPerSide = null;
  validateOptions(opts);
  return opts;
}

/** Throws OptionsError naming the flag of the first invalid value. */
export function validateOptions(o: AmgOptions): void {
  const bad = (key: keyof AmgOptions, why: string, value: unknown): never => {
    throw new OptionsError(`${OPTION_FLAGS[key]} ${why}, got ${JSON.stringify(value) ?? String(value)}`);
  };
  const int = (key: keyof AmgOptions, min: number): void => {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) bad(key, `must be an integer ≥ ${min}`, numText(v));
  };
  const unit = (key: keyof AmgOptions): void => {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) bad(key, 'must be a number in [0, 1]', numText(v));
  };
  const finite = (key: keyof AmgOptions, min = -Infinity): void => {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) bad(key, min > -Infinity ? `must be a number ≥ ${min}` : 'must be a finite number', numText(v));
  };
  if (o.pointGrids === null) {
    if (o.pointsPerSide === null) throw new OptionsError('give --points-per-side or --point-grids');
    int('pointsPerSide', 1);
  } else {
    validateGrids(o.pointGrids, o.cropNLayers);
  }
  int('pointsPerBatch', 1);
  unit('predIouThresh');
  unit('stabilityScoreThresh');
  finite('stabilityScoreOffset', 0);
  finite('maskThreshold');
  unit('boxNmsThresh');
  int('cropNLayers', 0);
  unit('cropNmsThresh');
  const r = o.cropOverlapRatio;
  if (!Number.isFinite(r) || r < 0 || r >= 1) bad('cropOverlapRatio', 'must be a number in [0, 1)', numText(r));
  finite('cropNPointsDownscaleFactor', 1);
  finite('minMaskRegionArea', 0);
  if (o.pointGrids === null && o.pointsPerSide !== null) {
    for (let i = 0; i <= o.cropNLayers; i++) {
      if (Math.trunc(o.pointsPerSide / o.cropNPointsDownscaleFactor ** i) < 1) {
        bad('cropNPointsDownscaleFactor', `leaves layer ${i} with no points (points per side ${o.pointsPerSide})`, o.cropNPointsDownscaleFactor);
      }
    }
  }
}

function numText(v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? String(v) : v;
}

function validateGrids(grids: unknown, cropNLayers: number): void {
  if (!Array.isArray(grids) || grids.length === 0) throw new OptionsError('--point-grids must be a non-empty JSON array of grids');
  if (grids.length !== cropNLayers + 1) {
    throw new OptionsError(`--point-grids has ${grids.length} grids but --crop-n-layers ${cropNLayers} needs ${cropNLayers + 1} (one per layer)`);
  }
  grids.forEach((g, i) => {
    if (!Array.isArray(g) || g.length === 0) throw new OptionsError(`--point-grids: grid ${i} must be a non-empty array of [x, y]`);
    g.forEach((p: unknown, j: number) => {
      if (!Array.isArray(p) || p.length !== 2 || !p.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1)) {
        throw new OptionsError(`--point-grids: grid ${i} point ${j} must be [x, y] with values in [0, 1], got ${JSON.stringify(p)}`);
      }
    });
  });
}

/**
 * The options as the output file records them (snake_case, every parameter that can change the output).
 * points_per_batch is left out on purpose: it never changes the masks, so runs that differ only in it give
 * byte-identical files and can be merged.
 */
export function optionsRecord(o: AmgOptions): Record<string, unknown> {
  return {
    points_per_side: o.pointsPerSide,
    point_grids: o.pointGrids,
    pred_iou_thresh: o.predIouThresh,
    stability_score_thresh: o.stabilityScoreThresh,
    stability_score_offset: o.stabilityScoreOffset,
    mask_threshold: o.maskThreshold,
    box_nms_thresh: o.boxNmsThresh,
    crop_n_layers: o.cropNLayers,
    crop_nms_thresh: o.cropNmsThresh,
    crop_overlap_ratio: o.cropOverlapRatio,
    crop_n_points_downscale_factor: o.cropNPointsDownscaleFactor,
    min_mask_region_area: o.minMaskRegionArea,
    multimask_output: o.multimaskOutput,
    use_m2m: o.useM2m,
  };
}
