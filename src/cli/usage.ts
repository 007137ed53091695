/**
 * Usage errors of the command line (exit code 2) and how option errors of the core are worded for it: the core
 * names options by their keys (`pointsPerSide`), the command line by its flags (`--points-per-side`).
 */
import { OptionsError, type OptionKey } from '../amg/options.js';
import { LimitError, type LimitKey } from '../compare/compare.js';
import { errorMessage } from '../base/errors.js';

/** A mistake in how the command was called; reported as one `sam-amg: …` line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The flag of each generator option. */
export const OPTION_FLAGS: Readonly<Record<OptionKey, string>> = {
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
  tile: '--tile',
  tileOverlap: '--tile-overlap',
};

/** The flag of each limit of `compare` (and `report --min-iou`). */
export const LIMIT_FLAGS: Readonly<Record<LimitKey, string>> = {
  minIou: '--min-iou',
  minRecall: '--min-recall',
  maxExtra: '--max-extra',
  scoreTol: '--score-tol',
};

/** The message of any error as the command line shows it: option and limit keys become flags. */
export function cliMessage(err: unknown): string {
  if (err instanceof OptionsError) return err.messageWith((k) => OPTION_FLAGS[k]);
  if (err instanceof LimitError) return err.messageWith((k) => LIMIT_FLAGS[k]);
  return errorMessage(err);
}
