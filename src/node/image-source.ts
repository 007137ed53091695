/**
 * Image files as region sources for tiled runs (src/image/source.ts): the generator reads one tile at a time, so a
 * 20,000 px image is never held whole. Three ways, chosen from the header:
 *
 * - **region**: a TIFF / BigTIFF stored in tiles, or in strips of at most {@link MAX_BLOCK_BYTES} decoded bytes, is
 *   read region by region with libvips (only the tiles or strips a region touches are read and decoded), whatever
 *   its size; a block past the end of a truncated file fails the regions over it, and only those;
 * - **whole**: any other image of at most {@link WHOLE_DECODE_PIXELS} is simply decoded (decodeImage), which is
 *   faster than a copy and already bounded;
 * - **copy**: anything else (JPEG, PNG, WebP, GIF, AVIF, a TIFF in huge strips) can only be decoded from the start,
 *   so it is decoded once, streaming, into a temporary tiled, uncompressed TIFF (libvips writes it with bounded
 *   memory; it takes width × height × 3 bytes of disk, 6 for 16-bit samples), which is then read by region and
 *   removed on close().
 *
 * Every way applies the decoding rules of src/node/decode.ts to exactly the same samples, and EXIF / TIFF
 * orientation by mapping the displayed region to the stored one and turning only that (src/image/orientation.ts),
 * so a region read gives, byte for byte, that region of a whole decode.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { GeoReference, RgbImage } from '../base/types.js';
import { displayedSize, orientationOf, orientRegion, storedRegion, type Orientation } from '../image/orientation.js';
import { wholeImageSource, type ImageSource } from '../image/source.js';
import { decodeImage, DEFAULT_MAX_PIXELS, ImageDecodeError, PIXEL_READ, readHeader, reasonOf, rgbPixels, samplePipeline, type ImageHeader } from './decode.js';
import { specialFileKind } from './read-input.js';
import { readTiffInfo, regionDamaged, type TiffInfo, type TiffLayout } from './tiff-info.js';
import { errorMessage } from '../base/errors.js';

/** Images up to this many pixels (48 MiB of RGB) are decoded whole even in tiled runs. */
export const WHOLE_DECODE_PIXELS = 4096 * 4096;

/** TIFF strips (or tiles) up to this many decoded bytes are read by region; larger ones go through a copy. */
export const MAX_BLOCK_BYTES = 64 * 2 ** 20;

/** Formats whose libraries decode the whole image at once (never row by row), as messages name them. */
const WHOLE_IMAGE_FORMATS: ReadonlyMap<string, string> = new Map([
  ['webp', 'a WebP'],
  ['gif', 'a GIF'],
  ['heif', 'an AVIF / HEIF'],
]);

/** Tile side of the temporary copy. */
const COPY_TILE = 256;

/** How a source reads its pixels (see the module comment). */
export type SourceAccess = 'whole' | 'region' | 'copy';

/** Options of {@link openImageSource}. */
export interface OpenImageOptions {
  /** Refuse images with more (displayed) pixels than this. */
  maxPixels: number;
  /** The reason given for an image over maxPixels (it names the limit). */
  overLimit: (width: number, height: number) => string;
  /** Decode images up to this many pixels whole (default {@link WHOLE_DECODE_PIXELS}; 0: never). */
  wholeBelow?: number;
  /**
   * Formats whose decoder holds the whole image (WebP, GIF, AVIF/HEIF, progressive JPEG, interlaced PNG) are copied
   * only up to this many pixels (default {@link DEFAULT_MAX_PIXELS}); beyond, they are refused with the reason.
   */
  wholeMaxPixels?: number;
  /** Force the temporary copy even for region-readable TIFFs (tests). */
  forceCopy?: boolean;
  /** Where the temporary copy goes (default: the OS temporary folder, TMPDIR). */
  tempDir?: string;
}

/** An image file opened for region reads; close() it (it removes a temporary copy). */
export interface FileImageSource extends ImageSource {
  readonly access: SourceAccess;
  /** A GeoTIFF's georeferencing, null for other files. */
  readonly geo: GeoReference | null;
  /** Why a TIFF's georeferencing could not be used (geo is then null), for a warning; absent when there is nothing to say. */
  readonly geoProblem?: string;
  /** The whole decoded image when access is 'whole' (small images), so that nothing decodes it again. */
  readonly image?: RgbImage;
  close(): Promise<void>;
}

/**
 * Opens an image file for region reads. Reads only the header, except that a small image is decoded whole and an
 * image that cannot be read by region is copied.
 * @throws ImageDecodeError with a one-line reason.
 */
export async function openImageSource(file: string, opts: OpenImageOptions): Promise<FileImageSource> {
  await checkRegularFile(file);
  const header = await readHeader(file);
  const orientation = orientationOf(header.orientation);
  const { width, height } = displayedSize(orientation, header.stored.width, header.stored.height);
  if (width * height > opts.maxPixels) throw new ImageDecodeError(opts.overLimit(width, height));
  let tiffError: string | undefined;
  const tiff = header.format === 'tiff' ? await readTiffInfo(file).catch((err: unknown): TiffInfo | null => ((tiffError = errorMessage(err)), null)) : null;
  const geo = tiff?.geo ?? null;
  const problem = tiff?.geoProblem ?? (tiffError !== undefined ? `its TIFF directory cannot be read for georeferencing (${tiffError})` : null);
  const geoInfo = { geo, ...(problem !== null ? { geoProblem: problem } : {}) };
  // sharp refuses inputs above its own pixel limit (16383² by default) before reading anything: raise it to this
  // image's size, which the caller's limit has already accepted.
  const limit = header.stored.width * header.stored.height;
  if (tiff !== null && !opts.forceCopy && (tiff.layout.tiled || tiff.layout.blockBytes <= MAX_BLOCK_BYTES)) {
    return regionSource(file, header, orientation, limit, 'region', geoInfo, () => Promise.resolve(), tiff.layout);
  }
  // libvips reads the missing blocks of a truncated TIFF as zeros without failing: only region reads can keep the
  // part before the damage, every other way refuses the file.
  if (tiff?.layout.damaged) throw new ImageDecodeError('truncated or corrupt image data (the file ends before the data of its last tiles or strips)');
  if (width * height <= (opts.wholeBelow ?? WHOLE_DECODE_PIXELS)) {
    const image = await decodeImage(file, { maxPixels: width * height });
    return { ...wholeImageSource(image), access: 'whole', ...geoInfo, image, close: () => Promise.resolve() };
  }
  const wholeMax = opts.wholeMaxPixels ?? DEFAULT_MAX_PIXELS;
  const holdsWhole = WHOLE_IMAGE_FORMATS.get(header.format) ?? (header.progressive ? `a progressive or interlaced ${header.format.toUpperCase()}` : null);
  if (holdsWhole !== null && width * height > wholeMax) {
    throw new ImageDecodeError(
      `${holdsWhole} can only be decoded whole: ${width}x${height} is over the ${wholeMax}-pixel limit of whole decodes (--max-pixels); ` +
        'convert it to a tiled TIFF first (for example: vips tiffsave in out.tif --tile --bigtiff)',
    );
  }
  const dir = await fsp.mkdtemp(path.join(opts.tempDir ?? os.tmpdir(), 'sam-amg-tiles-'));
  const remove = (): Promise<void> => fsp.rm(dir, { recursive: true, force: true });
  try {
    const copy = path.join(dir, 'image.tif');
    await writeTiledCopy(file, header, limit, copy);
    return regionSource(copy, header, orientation, limit, 'copy', geoInfo, remove);
  } catch (err) {
    await remove();
    if (err instanceof ImageDecodeError) throw err;
    throw new ImageDecodeError(reasonOf(err), { cause: err });
  }
}

/**
 * Decodes `file` once, streaming, into a tiled uncompressed TIFF of the samples rgbPixels reads (decode.ts
 * samplePipeline), in the stored orientation; BigTIFF when it may pass 4 GiB.
 */
async function writeTiledCopy(file: string, header: ImageHeader, limit: number, copy: string): Promise<void> {
  const bytesPerSample = header.is16 ? 2 : 1;
  const bands = header.cmyk ? 4 : 3;
  const bytes = header.stored.width * header.stored.height * bands * bytesPerSample;
  const input = sharp(file, { ...PIXEL_READ, limitInputPixels: limit, autoOrient: false, sequentialRead: true });
  await samplePipeline(input, header)
    .tiff({ tile: true, tileWidth: COPY_TILE, tileHeight: COPY_TILE, compression: 'none', bigtiff: bytes > 3.5 * 2 ** 30 })
    .toFile(copy);
}

/**
 * A source reading regions of `file` (the image itself, or its copy): the displayed region mapped to the stored
 * one, read with libvips' random access, the decoding rules of the original file's `header` (whose format also
 * decides the CMYK formula), then turned to the displayed orientation.
 */
async function regionSource(
  file: string,
  header: ImageHeader,
  orientation: Orientation,
  limit: number,
  access: SourceAccess,
  geoInfo: Pick<FileImageSource, 'geo' | 'geoProblem'>,
  close: () => Promise<void>,
  /** The TIFF's blocks, when the file itself is read: a region over a block past the end of the file is refused. */
  layout?: TiffLayout,
): Promise<FileImageSource> {
  const { width, height } = displayedSize(orientation, header.stored.width, header.stored.height);
  const readRegion = async (x0: number, y0: number, x1: number, y1: number): Promise<RgbImage> => {
    if (!(Number.isInteger(x0) && Number.isInteger(y0) && Number.isInteger(x1) && Number.isInteger(y1)) || x0 < 0 || y0 < 0 || x1 > width || y1 > height || x1 <= x0 || y1 <= y0) {
      throw new RangeError(`readRegion: [${x0}, ${y0}, ${x1}, ${y1}) is not inside ${width}x${height}`);
    }
    const [sx0, sy0, sx1, sy1] = storedRegion(orientation, header.stored.width, header.stored.height, [x0, y0, x1, y1]);
    if (layout !== undefined && regionDamaged(layout, sx0, sy0, sx1, sy1)) {
      throw new ImageDecodeError('truncated or corrupt image data (the file ends before the data of this part of the image)');
    }
    const pipeline = sharp(file, { ...PIXEL_READ, limitInputPixels: limit, autoOrient: false, sequentialRead: false })
      .extract({ left: sx0, top: sy0, width: sx1 - sx0, height: sy1 - sy0 });
    let region: RgbImage;
    try {
      region = await rgbPixels(pipeline, header);
    } catch (err) {
      if (err instanceof ImageDecodeError) throw err;
      throw new ImageDecodeError(reasonOf(err), { cause: err });
    }
    return orientRegion(orientation, region);
  };
  return { width, height, readRegion, access, ...geoInfo, close };
}

async function checkRegularFile(file: string): Promise<void> {
  let st;
  try {
    st = await fsp.stat(file);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new ImageDecodeError(`cannot read file (${typeof code === 'string' ? code : errorMessage(err)})`, { cause: err });
  }
  const kind = specialFileKind(st);
  if (kind !== null) throw new ImageDecodeError(`not a regular file (${kind}); only regular files are read`);
}
