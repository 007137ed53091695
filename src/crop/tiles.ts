/**
 * Tile grid of sam-amg's tiled mode (amg-reference.md, "Tiles"): SAHI's slicing of a large image into tiles of
 * T px that overlap by O px, listed in the crop boxes' order (x0 in the outer loop, y0 in the inner one).
 */
import type { BoxXYXY } from '../base/types.js';

/** The smallest tile side accepted: below it the edge filter's 20 px band would cover most of a tile. */
export const MIN_TILE = 64;

/** The largest tile side accepted: a tile is encoded as one image, so it stays within what a crop may be. */
export const MAX_TILE = 16384;

/**
 * Interval starts along one axis of `length` px: 0 when the axis fits in one tile, otherwise 0, T−O, 2(T−O), … for
 * as long as the previous interval ends before `length`, the last one moved back to length − T so that it ends
 * exactly at `length`. Example: 1800 px, T 512, O 64 → 0, 448, 896, 1288.
 */
export function tileStarts(length: number, tile: number, overlap: number): number[] {
  checkTiling(tile, overlap);
  if (!Number.isInteger(length) || length < 1) throw new RangeError(`tileStarts: length must be a positive integer, got ${length}`);
  if (length <= tile) return [0];
  const stride = tile - overlap;
  const starts: number[] = [];
  let end = 0;
  for (let s = 0; end < length; s += stride) {
    starts.push(Math.min(s, length - tile));
    end = s + tile;
  }
  return starts;
}

/** Tile boxes [x0, y0, x1, y1] (x1, y1 exclusive) of a W×H image, x0 in the outer loop and y0 in the inner one. */
export function generateTileBoxes(width: number, height: number, tile: number, overlap: number): BoxXYXY[] {
  const xs = tileStarts(width, tile, overlap);
  const ys = tileStarts(height, tile, overlap);
  const boxes: BoxXYXY[] = [];
  for (const x0 of xs) {
    for (const y0 of ys) boxes.push([x0, y0, Math.min(x0 + tile, width), Math.min(y0 + tile, height)]);
  }
  return boxes;
}

/** How many tiles a W×H image has (without listing them). */
export function tileCount(width: number, height: number, tile: number, overlap: number): number {
  return tileStarts(width, tile, overlap).length * tileStarts(height, tile, overlap).length;
}

/** The default overlap of a tile size: an eighth of it (64 px for 512 px tiles, 128 px for 1024 px tiles). */
export function defaultTileOverlap(tile: number): number {
  return Math.floor(tile / 8);
}

function checkTiling(tile: number, overlap: number): void {
  if (!Number.isInteger(tile) || tile < 1) throw new RangeError(`tile must be a positive integer, got ${tile}`);
  if (!Number.isInteger(overlap) || overlap < 0 || overlap >= tile) {
    throw new RangeError(`tile overlap must be an integer in [0, ${tile}), got ${overlap}`);
  }
}
