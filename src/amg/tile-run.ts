/**
 * What a tiled generate() call (amg-reference.md, "Tiles") shares with the run around it: the hooks that let a run
 * resume inside an image, and the two ways a tiled call ends early.
 */
import { errorMessage } from '../base/errors.js';
import type { BoxXYXY, MaskRecord } from '../base/types.js';

/**
 * Tiled mode's hooks for resuming inside an image: the records of a tile are its records after the NMS inside the
 * tile, in the image frame, before the NMS across tiles — given back unchanged, they give the same final records.
 */
export interface TileHooks {
  /** Records of tiles finished by an earlier run, by tile index (tile order of amg-reference.md "Tiles"). */
  restored?: ReadonlyMap<number, MaskRecord[]>;
  /** Called after each computed tile with its records; awaited before the next tile starts (journal it there). */
  onTileDone?: (index: number, tiles: number, records: MaskRecord[]) => Promise<void> | void;
}

/** A tiled generate() call stopped between two tiles by its AbortSignal. */
export class GenerationStopped extends Error {
  override name = 'GenerationStopped';
  constructor(
    /** Tiles finished (computed or restored) when it stopped. */
    readonly finished: number,
    readonly tiles: number,
  ) {
    super(`stopped after ${finished} of ${tiles} tiles`);
  }
}

/** A tile of a tiled run whose pixels could not be read (a truncated or damaged file); tiles before it are done. */
export class TileReadError extends Error {
  override name = 'TileReadError';
  constructor(
    /** Index of the tile (0-based, tile order). */
    readonly tile: number,
    readonly tiles: number,
    readonly box: BoxXYXY,
    /** Tiles finished before it (computed by this call or restored). */
    readonly finished: number,
    cause: unknown,
  ) {
    const reason = errorMessage(cause);
    super(`tile ${tile + 1} of ${tiles} (x ${box[0]}–${box[2]}, y ${box[1]}–${box[3]}) cannot be read: ${reason}`, { cause });
  }
}
