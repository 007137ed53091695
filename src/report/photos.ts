/**
 * The pictures of a report: a display copy of each photo and a thumbnail with its masks, both JPEG, both made from
 * the image exactly as the run decoded it (EXIF orientation applied), so they line up with the masks.
 *
 * Two ways, by size. An image of up to {@link WHOLE_PHOTO_PIXELS} (and `--max-pixels`) is decoded whole, the copy
 * resized from it and the thumbnail drawn over it at full resolution, then shrunk. A larger one — a tiled run's
 * 20,000 px orthophoto — is never held whole: it is read by region (src/node/image-source.ts, the decoding rules
 * of src/node/decode.ts), band by band, each band added into a copy shrunk by the whole factor s that brings its
 * long side within {@link DISPLAY_MAX_SIDE} (every copy pixel the mean of an s×s block, src/image/shrink.ts), and
 * the thumbnail's masks are drawn by the rasteriser straight onto that copy at scale s (src/draw). Memory: one
 * band of rows (at most {@link BAND_BYTES}) plus the copy (≤ 2048² pixels), whatever the image's size.
 */
import sharp, { type Sharp } from 'sharp';
import { MAX_TILED_IMAGE_PIXELS } from '../amg/options.js';
import type { MaskRecord, RgbImage } from '../base/types.js';
import { frameSize, rgbaToRgb, rgbToRgba, scaleToFit } from '../draw/frame.js';
import { drawMasks, type DrawMask } from '../draw/rasterise.js';
import { BlockShrinker } from '../image/shrink.js';
import { openImageSource, WHOLE_DECODE_PIXELS } from '../node/image-source.js';
import { maskColour } from '../output/mask-colour.js';
import { renderOverlay } from '../output/overlay.js';

/** The display copy's longest side at most (the page stretches it back over the full-resolution mask grid). */
export const DISPLAY_MAX_SIDE = 2048;
/** The thumbnail's longest side at most. */
export const THUMB_MAX_SIDE = 256;
/** Images above this many pixels (or `--max-pixels`, when lower) are read by region and shrunk, never decoded whole. */
export const WHOLE_PHOTO_PIXELS = WHOLE_DECODE_PIXELS;
/** The most decoded bytes one band of a region-read photo holds. */
export const BAND_BYTES = 8 * 2 ** 20;
/** What a thumbnail shows where there is no photo. */
const BLANK = 40;
/** The thumbnail's fill opacity. */
const THUMB_ALPHA = 0.5;

/** The display copy: the photo downscaled to fit DISPLAY_MAX_SIDE (never enlarged). */
export async function displayJpeg(image: RgbImage, maxSide = DISPLAY_MAX_SIDE): Promise<{ data: Buffer; width: number; height: number }> {
  const out = await fromRgb(image)
    .resize({ width: maxSide, height: maxSide, fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 85, chromaSubsampling: '4:2:0' })
    .toBuffer({ resolveWithObject: true });
  return { data: out.data, width: out.info.width, height: out.info.height };
}

/** The thumbnail: masks filled as `--overlay` fills them (same colours) over the photo, or over grey without one. */
export async function thumbnailJpeg(image: RgbImage | null, width: number, height: number, records: MaskRecord[]): Promise<Buffer> {
  const base = image ?? { width, height, data: new Uint8Array(width * height * 3).fill(BLANK) };
  const rgb = renderOverlay(base, records, { fill: true, outline: false, box: false, points: false, alpha: THUMB_ALPHA });
  return thumbJpeg({ width, height, data: rgb });
}

/** The factor a W×H image is shrunk by for its region-read display copy: its long side within DISPLAY_MAX_SIDE. */
export function photoScale(width: number, height: number): number {
  return scaleToFit(width, height, DISPLAY_MAX_SIDE);
}

/** Options of {@link shrunkPhoto}. */
export interface ShrunkPhotoOptions {
  /** Decode whole (rather than by region) only images up to this many pixels; also the limit of formats that can only be decoded whole. */
  maxPixels: number;
}

/**
 * The photo of `file` shrunk by `scale` (see the module comment), read by region band by band; `expect` is the size
 * the output says the image has. Resolves to the shrunk image, or to a string saying why there is none (the file
 * is another size).
 * @throws ImageDecodeError for a file that cannot be read
 */
export async function shrunkPhoto(file: string, expect: { width: number; height: number }, scale: number, opts: ShrunkPhotoOptions): Promise<RgbImage | string> {
  const source = await openImageSource(file, {
    maxPixels: MAX_TILED_IMAGE_PIXELS,
    overLimit: (w, h) => `image is ${w}x${h} = ${w * h} pixels, more than an output can hold (${MAX_TILED_IMAGE_PIXELS} pixels)`,
    wholeBelow: Math.min(opts.maxPixels, WHOLE_PHOTO_PIXELS),
    wholeMaxPixels: opts.maxPixels,
  });
  try {
    const { width: W, height: H } = source;
    if (W !== expect.width || H !== expect.height) return `${file} is ${W}x${H} but the output says ${expect.width}x${expect.height}; shown without the photo`;
    const shrinker = new BlockShrinker(W, H, scale);
    // Whole block rows per band, as many as BAND_BYTES allow (at least one).
    const rows = scale * Math.max(1, Math.floor(BAND_BYTES / (W * 3 * scale)));
    for (let y = 0; y < H; y += rows) shrinker.add(await source.readRegion(0, y, W, Math.min(H, y + rows)));
    return shrinker.finish();
  } finally {
    await source.close();
  }
}

/** A shrunk photo (or none) as the display copy: JPEG at its own size. */
export async function shrunkDisplayJpeg(photo: RgbImage): Promise<{ data: Buffer; width: number; height: number }> {
  const data = await fromRgb(photo).jpeg({ quality: 85, chromaSubsampling: '4:2:0' }).toBuffer();
  return { data, width: photo.width, height: photo.height };
}

/**
 * The thumbnail picture of a W×H image drawn at `scale` (RGB of frameSize(W, H, scale)): `photo` (that size, or null
 * for grey) with every mask filled in its `--overlay` colour at opacity 0.5 × the share of each frame pixel's
 * scale×scale block it covers, largest mask first (the rasteriser's downscaled fill).
 */
export function scaledThumbnailRgb(photo: RgbImage | null, width: number, height: number, scale: number, records: readonly MaskRecord[]): RgbImage {
  const size = frameSize(width, height, scale);
  if (photo !== null && (photo.width !== size.width || photo.height !== size.height)) {
    throw new RangeError(`thumbnail: a ${photo.width}x${photo.height} photo for ${width}x${height} at scale ${scale} (needs ${size.width}x${size.height})`);
  }
  const rgb = photo?.data ?? new Uint8Array(size.width * size.height * 3).fill(BLANK);
  const frame = { data: rgbToRgba(rgb, size.width, size.height), width: size.width, height: size.height, scale };
  const masks: DrawMask[] = records.map((r, i) => {
    if (r.segmentation.h !== height || r.segmentation.w !== width) {
      throw new Error(`thumbnail: mask ${i} is ${r.segmentation.w}x${r.segmentation.h} but the image is ${width}x${height}`);
    }
    return { rle: r.segmentation, area: r.area, bbox: r.bbox, colour: maskColour(i) };
  });
  drawMasks(frame, masks, { fill: true, alpha: THUMB_ALPHA });
  return { width: size.width, height: size.height, data: rgbaToRgb(frame.data, size.width, size.height) };
}

/** {@link scaledThumbnailRgb} as the thumbnail JPEG. */
export async function scaledThumbnailJpeg(photo: RgbImage | null, width: number, height: number, scale: number, records: readonly MaskRecord[]): Promise<Buffer> {
  return thumbJpeg(scaledThumbnailRgb(photo, width, height, scale, records));
}

function thumbJpeg(image: RgbImage): Promise<Buffer> {
  return fromRgb(image)
    .resize({ width: THUMB_MAX_SIDE, height: THUMB_MAX_SIDE, fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 80, chromaSubsampling: '4:2:0' })
    .toBuffer();
}

function fromRgb(image: RgbImage): Sharp {
  const { data, width, height } = image;
  return sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels: 3 } });
}
