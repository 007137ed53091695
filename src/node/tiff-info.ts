/**
 * What the header of a TIFF says beyond its pixels, read with the `geotiff` package (only the directories are
 * read, never the pixels): how its pixels are laid out (tiles or strips, which decides whether it can be read by
 * region), and the georeferencing of a GeoTIFF (CRS and affine transform), which the output keeps per image.
 */
import { promises as fsp } from 'node:fs';
import { fromFile, type GeoTIFF } from 'geotiff';
import type { GeoReference } from '../base/types.js';
import { orientationOf, swapsAxes, type Orientation } from '../image/orientation.js';
import { errorMessage } from '../base/errors.js';

/** How a TIFF's first image stores its pixels. */
export interface TiffLayout {
  tiled: boolean;
  /** Tile size, or for strips the image width and the rows per strip (at most the height). */
  blockWidth: number;
  blockHeight: number;
  /** Decoded bytes of one tile or strip. */
  blockBytes: number;
  /**
   * Blocks (tiles or strips) whose data lies past the end of the file — a truncated download or copy — by block
   * index (row-major; planar files repeat the grid per sample), or null when every block is whole. libvips reads
   * such blocks as zeros without failing, so region reads check this first.
   */
  damaged: Uint8Array | null;
  /** Blocks per row of the grid (1 for strips) and per plane. */
  across: number;
  perPlane: number;
}

/** A TIFF's layout and georeferencing. */
export interface TiffInfo {
  layout: TiffLayout;
  /** Null for a TIFF without georeferencing (or whose georeferencing cannot be read as an affine transform). */
  geo: GeoReference | null;
  /** Why georeferencing tags that the file has give no transform (geo is then null); null when there is none to say. */
  geoProblem: string | null;
}

/** GeoTIFF's code for a user-defined CRS (no EPSG code). */
const USER_DEFINED = 32767;

/**
 * Reads the first image's directory of a TIFF (or BigTIFF) file. Throws what `geotiff` throws for a file it cannot
 * parse; callers treat that as "not a region-readable TIFF" (sharp still decides whether the file is an image).
 */
export async function readTiffInfo(file: string): Promise<TiffInfo> {
  const tiff: GeoTIFF = await fromFile(file);
  try {
    const image = await tiff.getImage(0);
    const blockWidth = image.getTileWidth();
    const blockHeight = image.getTileHeight();
    const dir = image.getFileDirectory();
    const across = Math.ceil(image.getWidth() / blockWidth);
    const perPlane = across * Math.ceil(image.getHeight() / blockHeight);
    const offsets = arrayOf(await dir.loadValue(image.isTiled ? 'TileOffsets' : 'StripOffsets')) ?? [];
    const counts = arrayOf(await dir.loadValue(image.isTiled ? 'TileByteCounts' : 'StripByteCounts')) ?? [];
    const layout: TiffLayout = {
      tiled: image.isTiled,
      blockWidth,
      blockHeight,
      blockBytes: blockWidth * blockHeight * image.getBytesPerPixel(),
      damaged: damagedBlocks(offsets, counts, (await fsp.stat(file)).size),
      across,
      perPlane,
    };
    // Georeferencing that cannot be parsed costs only the georeferencing (said in geoProblem), never the layout.
    try {
      const tags: GeoTags = {
        ModelTransformation: await dir.loadValue('ModelTransformation'),
        ModelTiepoint: await dir.loadValue('ModelTiepoint'),
        ModelPixelScale: await dir.loadValue('ModelPixelScale'),
      };
      const orientation = orientationOf(numberOf(await dir.loadValue('Orientation')));
      const stored = { width: image.getWidth(), height: image.getHeight() };
      const keys = image.getGeoKeys();
      const geo = geoReference(tags, keys, orientation, stored);
      return { layout, geo, geoProblem: geo === null ? unusableGeoTags(tags, keys) : null };
    } catch (err) {
      return { layout, geo: null, geoProblem: `its GeoTIFF tags cannot be read (${errorMessage(err)})` };
    }
  } finally {
    await (tiff as { close?: () => Promise<void> | void }).close?.();
  }
}

/**
 * Which blocks end past `fileSize` (a block with offset 0 and no bytes is a sparse, empty block, not damage); null
 * when none does.
 */
export function damagedBlocks(offsets: readonly number[], counts: readonly number[], fileSize: number): Uint8Array | null {
  let damaged: Uint8Array | null = null;
  for (let i = 0; i < offsets.length; i++) {
    const end = offsets[i] + (counts[i] ?? 0);
    if (offsets[i] === 0 && (counts[i] ?? 0) === 0) continue;
    if (end > fileSize) (damaged ??= new Uint8Array(offsets.length))[i] = 1;
  }
  return damaged;
}

/**
 * Whether the stored region [x0, x1) × [y0, y1) touches a damaged block of `layout` (in any plane).
 */
export function regionDamaged(layout: TiffLayout, x0: number, y0: number, x1: number, y1: number): boolean {
  const d = layout.damaged;
  if (d === null) return false;
  const c0 = layout.tiled ? Math.floor(x0 / layout.blockWidth) : 0;
  const c1 = layout.tiled ? Math.floor((x1 - 1) / layout.blockWidth) : 0;
  const r0 = Math.floor(y0 / layout.blockHeight);
  const r1 = Math.floor((y1 - 1) / layout.blockHeight);
  for (let plane = 0; plane * layout.perPlane < d.length; plane++) {
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) if (d[plane * layout.perPlane + r * layout.across + c] === 1) return true;
    }
  }
  return false;
}

/** The GeoTIFF tags that place an image (absent ones undefined). */
export interface GeoTags {
  ModelTransformation?: unknown;
  ModelTiepoint?: unknown;
  ModelPixelScale?: unknown;
}

/**
 * The georeferencing of an image from its GeoTIFF tags, as GDAL reads it: ModelTransformation when present,
 * otherwise one tie point plus the pixel scale (north-up); PixelIsPoint rasters shifted by half a pixel so that
 * the transform maps pixel corners. The transform is of the displayed image (orientation applied).
 */
export function geoReference(
  tags: GeoTags,
  keys: Record<string, unknown> | null,
  orientation: Orientation,
  stored: { width: number; height: number },
): GeoReference | null {
  let t: [number, number, number, number, number, number] | null = null;
  const matrix = arrayOf(tags.ModelTransformation);
  const tie = arrayOf(tags.ModelTiepoint);
  const scale = arrayOf(tags.ModelPixelScale);
  if (matrix !== null && matrix.length >= 16) {
    t = [matrix[0], matrix[1], matrix[3], matrix[4], matrix[5], matrix[7]];
  } else if (tie !== null && tie.length >= 6 && scale !== null && scale.length >= 2) {
    const [i, j, , x, y] = tie;
    const [sx, sy] = scale;
    t = [sx, 0, x - i * sx, 0, -sy, y + j * sy];
  }
  if (t === null || !t.every(Number.isFinite)) return null;
  if (keys !== null && numberOf(keys.GTRasterTypeGeoKey) === 2) {
    // PixelIsPoint: the tie point is a pixel's centre; GDAL moves the transform to the pixel's corner.
    t = [t[0], t[1], t[2] - 0.5 * t[0] - 0.5 * t[1], t[3], t[4], t[5] - 0.5 * t[3] - 0.5 * t[4]];
  }
  return { crs: crsOf(keys), transform: orient(t, orientation, stored) };
}

/**
 * Why a TIFF's georeferencing tags give no affine transform (geoReference returned null), in words for a warning;
 * null when the file simply has none (no placement tags and no GeoKeys).
 */
export function unusableGeoTags(tags: GeoTags, keys: Record<string, unknown> | null): string | null {
  const matrix = arrayOf(tags.ModelTransformation);
  const tie = arrayOf(tags.ModelTiepoint);
  const scale = arrayOf(tags.ModelPixelScale);
  if (matrix !== null) {
    if (matrix.length < 16) return `its ModelTransformation has ${matrix.length} numbers, not 16`;
    return 'its ModelTransformation holds a number that is not finite';
  }
  if (tie !== null && scale === null) {
    return tie.length > 6
      ? `it is placed by ${Math.floor(tie.length / 6)} ground control points (ModelTiepoint) without a pixel scale, which is not an affine transform`
      : 'it has a tie point (ModelTiepoint) but no pixel scale (ModelPixelScale)';
  }
  if (scale !== null && tie === null) return 'it has a pixel scale (ModelPixelScale) but no tie point (ModelTiepoint)';
  if (tie !== null && scale !== null) {
    if (tie.length < 6) return `its ModelTiepoint has ${tie.length} numbers, not 6`;
    if (scale.length < 2) return `its ModelPixelScale has ${scale.length} numbers, not 2 or 3`;
    return 'its ModelTiepoint or ModelPixelScale holds a number that is not finite';
  }
  if (keys !== null && Object.keys(keys).length > 0) return 'it names a CRS (GeoKeyDirectory) but has no ModelTiepoint, ModelPixelScale or ModelTransformation to place the image';
  return null;
}

/** The warning for an image whose georeferencing cannot be used: the image is kept, in pixel coordinates. */
export function geoWarning(why: string): string {
  return `georeferencing not used: ${why}; its masks are in pixel coordinates`;
}

/** "EPSG:<code>" from the projected or geographic CRS key, null when there is none (or it is user-defined). */
function crsOf(keys: Record<string, unknown> | null): string | null {
  if (keys === null) return null;
  for (const k of ['ProjectedCSTypeGeoKey', 'GeographicTypeGeoKey']) {
    const code = numberOf(keys[k]);
    if (code !== undefined && Number.isInteger(code) && code > 0 && code !== USER_DEFINED) return `EPSG:${code}`;
  }
  return null;
}

/**
 * The transform of the displayed image: a displayed corner point (u, v) is the stored point (x, y) of the
 * orientation table (src/image/orientation.ts, with W − u in place of W − 1 − u for corners), then the file's
 * transform applies.
 */
function orient(
  t: [number, number, number, number, number, number],
  o: Orientation,
  { width: W, height: H }: { width: number; height: number },
): [number, number, number, number, number, number] {
  if (o === 1) return t;
  // x = xu·u + xv·v + x0, y = yu·u + yv·v + y0
  const flipU = o === 2 || o === 3 || o === 6 || o === 7;
  const flipV = o === 3 || o === 4 || o === 7 || o === 8;
  let xu = 0, xv = 0, x0 = 0, yu = 0, yv = 0, y0 = 0;
  if (!swapsAxes(o)) {
    [xu, x0] = flipU ? [-1, W] : [1, 0];
    [yv, y0] = flipV ? [-1, H] : [1, 0];
  } else {
    [xv, x0] = flipV ? [-1, W] : [1, 0];
    [yu, y0] = flipU ? [-1, H] : [1, 0];
  }
  const [a, b, c, d, e, f] = t;
  return [a * xu + b * yu, a * xv + b * yv, a * x0 + b * y0 + c, d * xu + e * yu, d * xv + e * yv, d * x0 + e * y0 + f];
}

function numberOf(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (Array.isArray(v) && typeof v[0] === 'number') return v[0];
  return undefined;
}

function arrayOf(v: unknown): number[] | null {
  if (v === undefined || v === null) return null;
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return Array.from(v as ArrayLike<number>, Number);
  return null;
}
