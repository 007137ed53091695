/**
 * Automatic-mask-generation parameters, their reference defaults per model family, their documented bounds, and
 * validation that names the option of every bad value (by its key; the CLI maps keys to its flags).
 */
import type { ModelFamily } from '../model/adapter.js';
import { defaultTileOverlap, MAX_TILE, MIN_TILE } from '../crop/tiles.js';

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
  /**
   * Tiled mode (amg-reference.md, "Tiles"): the image is cut into tiles of this many pixels, each processed as a
   * crop, instead of the crop pyramid; null (the default) runs the reference's whole-image layer.
   */
  tile: number | null;
  /** Overlap of neighbouring tiles in pixels, in [0, tile); resolved to tile / 8 (floored) when tile is set. */
  tileOverlap: number | null;
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
    tile: null,
    tileOverlap: null,
  };
}

/** The name of one option (a key of {@link AmgOptions}). */
export type OptionKey = keyof AmgOptions;

/** Inclusive bounds of a numeric option; `minExclusive` / `maxExclusive` make one of them exclusive. */
export interface OptionBound {
  min: number;
  max: number;
  integer?: boolean;
  minExclusive?: boolean;
  maxExclusive?: boolean;
}

/** The largest image, in pixels, whose masks the generator is sized for (sharp's own default pixel limit). */
export const MAX_IMAGE_PIXELS = 16383 * 16383;

/**
 * The largest image of a tiled run: what one output can hold. A mask is COCO RLE whose run lengths are 32-bit
 * unsigned integers (sam-amg's Uint32Array counts, and the COCO toolkit's own `uint`), so width × height must stay
 * below 2^32 (65,535 × 65,535). Everything else scales with the masks, not with the image: a mask's runs come from
 * one tile, so its RLE string is at most a few characters per column of that tile.
 */
export const MAX_TILED_IMAGE_PIXELS = 2 ** 32 - 1;

/** The largest number of points a grid of `pointGrids` may hold: as many as the largest `pointsPerSide` grid. */
export const MAX_GRID_POINTS = 256 * 256;

/**
 * The documented bounds of every numeric option (README, "Options"). The upper bounds keep work and memory finite:
 * 256² prompts per crop, 1024 prompts per decoder call (under 1 GB of logits), 4 extra crop layers (341 crops in
 * all), logit thresholds and offsets beyond any logit a SAM decoder produces, and region areas up to the largest
 * image.
 */
export const OPTION_BOUNDS: Readonly<Record<Exclude<OptionKey, 'pointGrids' | 'multimaskOutput' | 'useM2m' | 'tile' | 'tileOverlap'>, OptionBound>> = {
  pointsPerSide: { min: 1, max: 256, integer: true },
  pointsPerBatch: { min: 1, max: 1024, integer: true },
  predIouThresh: { min: 0, max: 1 },
  stabilityScoreThresh: { min: 0, max: 1 },
  stabilityScoreOffset: { min: 0, max: 1000 },
  maskThreshold: { min: -1000, max: 1000 },
  boxNmsThresh: { min: 0, max: 1 },
  cropNLayers: { min: 0, max: 4, integer: true },
  cropNmsThresh: { min: 0, max: 1 },
  cropOverlapRatio: { min: 0, max: 1, maxExclusive: true },
  cropNPointsDownscaleFactor: { min: 1, max: 256 },
  minMaskRegionArea: { min: 0, max: MAX_IMAGE_PIXELS },
};

/**
 * Bounds of tiled mode's options, which are null when the mode is off: a tile of at least {@link MIN_TILE} px (the
 * edge filter drops masks within 20 px of an inner tile edge) and at most {@link MAX_TILE}; the overlap's upper
 * bound is the tile itself (exclusive), checked against the tile given.
 */
export const TILE_BOUNDS = {
  tile: { min: MIN_TILE, max: MAX_TILE, integer: true },
  tileOverlap: { min: 0, max: MAX_TILE, integer: true, maxExclusive: true },
} as const satisfies Record<'tile' | 'tileOverlap', OptionBound>;

/**
 * How a message names options: by their keys (`pointsPerSide`, the library's own message) or by command-line flags
 * (which may be switches, such as `--no-multimask` for multimaskOutput false).
 */
export type NameStyle = 'key' | 'flag';

/**
 * Bad option values (a usage error: exit code 2 in the CLI). The message names options by their keys
 * (`pointsPerSide`); {@link OptionsError.messageWith} renders it with other names (the CLI's flags).
 */
export class OptionsError extends Error {
  override name = 'OptionsError';
  constructor(
    /** The options the problem is about, in the order the message names them. */
    readonly keys: readonly OptionKey[],
    private readonly render: (names: readonly string[], style: NameStyle) => string,
  ) {
    super(render(keys, 'key'));
  }

  /** The message with every option named by `name(key)` (flags). */
  messageWith(name: (key: OptionKey) => string): string {
    return this.render(this.keys.map(name), 'flag');
  }
}

/** `[1, 256]`, `[0, 1)`: a bound as the messages and the README write it. */
export function boundText(b: OptionBound): string {
  return `${b.minExclusive ? '(' : '['}${b.min}, ${b.max}${b.maxExclusive ? ')' : ']'}`;
}

/** Whether `v` is a number within `b`. */
export function withinBound(v: unknown, b: OptionBound): v is number {
  if (typeof v !== 'number' || !Number.isFinite(v)) return false;
  if (b.integer && !Number.isInteger(v)) return false;
  return (b.minExclusive ? v > b.min : v >= b.min) && (b.maxExclusive ? v < b.max : v <= b.max);
}

/**
 * Fills the family's defaults under the given values and validates the result.
 * Giving both pointsPerSide and pointGrids is refused; giving pointGrids alone clears the default pointsPerSide.
 */
export function resolveOptions(given: Partial<AmgOptions>, family: ModelFamily): AmgOptions {
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as Partial<AmgOptions>;
  if (defined.pointGrids != null && defined.pointsPerSide != null) {
    throw new OptionsError(['pointsPerSide', 'pointGrids'], ([a, b]) => `${a} and ${b} are exclusive: give one of them`);
  }
  const opts: AmgOptions = { ...defaultOptions(family), ...defined };
  if (defined.pointGrids != null) opts.pointsPerSide = null;
  if (typeof opts.tile === 'number' && opts.tileOverlap === null && withinBound(opts.tile, TILE_BOUNDS.tile)) {
    opts.tileOverlap = defaultTileOverlap(opts.tile);
  }
  validateOptions(opts);
  return opts;
}

/** Throws OptionsError naming the first invalid value and the bound it breaks. */
export function validateOptions(o: AmgOptions): void {
  const check = (key: keyof typeof OPTION_BOUNDS): void => {
    const b = OPTION_BOUNDS[key];
    const v: unknown = o[key];
    if (!withinBound(v, b)) {
      const what = b.integer ? 'an integer' : 'a number';
      throw new OptionsError([key], ([n]) => `${n} must be ${what} in ${boundText(b)}, got ${valueText(v)}`);
    }
  };
  if (o.pointGrids === null) {
    if (o.pointsPerSide === null) throw new OptionsError(['pointsPerSide', 'pointGrids'], ([a, b]) => `give ${a} or ${b}`);
    check('pointsPerSide');
  }
  for (const key of Object.keys(OPTION_BOUNDS) as (keyof typeof OPTION_BOUNDS)[]) {
    if (key !== 'pointsPerSide') check(key);
  }
  if (o.pointGrids !== null) validateGrids(o.pointGrids, o.cropNLayers);
  if (o.pointGrids === null && o.pointsPerSide !== null) {
    const pps = o.pointsPerSide;
    for (let i = 0; i <= o.cropNLayers; i++) {
      if (Math.trunc(pps / o.cropNPointsDownscaleFactor ** i) < 1) {
        const f = o.cropNPointsDownscaleFactor;
        throw new OptionsError(['cropNPointsDownscaleFactor', 'pointsPerSide'], ([a, b]) => `${a} ${f} leaves layer ${i} with no points (${b} ${pps})`);
      }
    }
  }
  for (const key of ['multimaskOutput', 'useM2m'] as const) {
    if (typeof o[key] !== 'boolean') throw new OptionsError([key], ([n]) => `${n} must be true or false, got ${valueText(o[key])}`);
  }
  validateTiling(o);
}

/** Tiled mode: a tile size in bounds, an overlap smaller than the tile, and no crop pyramid beside it. */
function validateTiling(o: AmgOptions): void {
  const tile: unknown = o.tile ?? null;
  const overlap: unknown = o.tileOverlap ?? null;
  if (tile === null) {
    if (overlap !== null) throw new OptionsError(['tileOverlap', 'tile'], ([a, b]) => `${a} needs ${b}`);
    return;
  }
  if (!withinBound(tile, TILE_BOUNDS.tile)) {
    throw new OptionsError(['tile'], ([n]) => `${n} must be an integer number of pixels in ${boundText(TILE_BOUNDS.tile)}, got ${valueText(tile)}`);
  }
  if (!withinBound(overlap, { min: 0, max: tile, integer: true, maxExclusive: true })) {
    throw new OptionsError(['tileOverlap', 'tile'], ([a, b]) => `${a} must be an integer in [0, ${tile}) (smaller than ${b} ${tile}), got ${valueText(overlap)}`);
  }
  if (o.cropNLayers > 0) {
    throw new OptionsError(['tile', 'cropNLayers'], ([a, b]) => `${a} and ${b} exclude each other: tiles replace the crop pyramid (give ${b} 0)`);
  }
}

function valueText(v: unknown): string {
  if (typeof v === 'number') return String(v);
  return JSON.stringify(v) ?? String(v);
}

function validateGrids(grids: unknown, cropNLayers: number): void {
  const bad = (text: (n: string) => string): never => {
    throw new OptionsError(['pointGrids'], ([n]) => text(n));
  };
  if (!Array.isArray(grids) || grids.length === 0) bad((n) => `${n} must be a non-empty JSON array of grids`);
  const list = grids as unknown[];
  if (list.length !== cropNLayers + 1) {
    throw new OptionsError(['pointGrids', 'cropNLayers'], ([a, b]) => `${a} has ${list.length} grids but ${b} ${cropNLayers} needs ${cropNLayers + 1} (one per layer)`);
  }
  list.forEach((g, i) => {
    if (!Array.isArray(g) || g.length === 0) bad((n) => `${n}: grid ${i} must be a non-empty array of [x, y]`);
    const points = g as unknown[];
    if (points.length > MAX_GRID_POINTS) bad((n) => `${n}: grid ${i} has ${points.length} points, more than the ${MAX_GRID_POINTS} allowed`);
    points.forEach((p: unknown, j: number) => {
      if (!Array.isArray(p) || p.length !== 2 || !p.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1)) {
        bad((n) => `${n}: grid ${i} point ${j} must be [x, y] with values in [0, 1], got ${JSON.stringify(p)}`);
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
    // Only tiled runs write these, so that the output of an untiled run is the same as before tiles existed.
    ...(o.tile !== null ? { tile: o.tile, tile_overlap: o.tileOverlap } : {}),
  };
}
