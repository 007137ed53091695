/**
 * Image decoding with sharp, following the reference script's rules (amg-reference.md, "Image decoding"):
 * EXIF orientation applied, grey replicated, alpha dropped (not composited), 16-bit → high byte, CMYK → RGB by OpenCV's formula.
 */
import sharp, { type Metadata } from 'sharp';
import type { RgbImage } from '../base/types.js';
import { cmykToRgb } from '../image/cmyk.js';
import { InputFileError, readRegularFile } from './read-input.js';
import { errorMessage } from '../base/errors.js';

/** File extensions (lower case, with the dot) of the formats decodeImage accepts. */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set([
  '.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.gif', '.avif',
]);

/** sharp's `format` names that decodeImage accepts; SVG is refused because the reference cannot read it. */
const FORMATS: ReadonlySet<string> = new Set(['jpeg', 'png', 'webp', 'tiff', 'gif', 'heif']);

/** Default pixel limit (width × height) before any pixel is decoded. */
export const DEFAULT_MAX_PIXELS = 100_000_000;

/** A file that cannot become an RgbImage; `reason` is the one-line cause, also used as the message. */
export class ImageDecodeError extends Error {
  readonly reason: string;
  constructor(reason: string, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = 'ImageDecodeError';
    this.reason = reason;
  }
}

/** Options of decodeImage. */
export interface DecodeOptions {
  /** Refuse images with more pixels than this (checked on the header, before decoding). */
  maxPixels?: number;
}

/** Map sharp/libvips failures to a short, stable reason. */
function reasonOf(err: unknown): string {
  const msg = errorMessage(err);
  if (/unsupported image format/i.test(msg)) return 'not a supported image';
  if (/exceeds pixel limit/i.test(msg)) return 'image is over the pixel limit (--max-pixels)';
  return 'truncated or corrupt image data';
}

function overLimitReason(w: number, h: number, maxPixels: number): string {
  // Small limits are stated in pixels: "0 MP" would hide what the limit is.
  if (maxPixels < 1e6) return `image is ${w}x${h} = ${w * h} pixels, over the ${maxPixels}-pixel limit (--max-pixels)`;
  const limit = (maxPixels / 1e6).toFixed(1).replace(/\.0$/, '');
  return `image is ${w}x${h} = ${((w * h) / 1e6).toFixed(1)} MP, over the ${limit} MP limit (--max-pixels)`;
}

/**
 * The largest file read for an image within `maxPixels`: 16 bytes per pixel (uncompressed 16-bit CMYK with alpha
 * needs 10) plus 64 MiB of metadata, so that a huge file is refused from its size before it is read.
 */
export function maxFileBytes(maxPixels: number): number {
  return Math.floor(Math.min(16 * maxPixels + 64 * 2 ** 20, 2 ** 32 - 1));
}

async function readInput(input: string | Buffer, maxPixels: number): Promise<Buffer> {
  if (typeof input !== 'string') return input;
  try {
    return await readRegularFile(input, maxFileBytes(maxPixels), ' for images within --max-pixels');
  } catch (err) {
    if (err instanceof InputFileError) throw new ImageDecodeError(err.message, { cause: err });
    throw err;
  }
}

/** Expand 1-channel bytes to RGB. */
function greyToRgb(grey: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  for (let i = 0, o = 0; i < pixels; i++, o += 3) {
    const v = grey[i];
    out[o] = v;
    out[o + 1] = v;
    out[o + 2] = v;
  }
  return out;
}

/** Keep the high byte of 16-bit samples (the reference's 16 → 8 bit rule, not rounding). */
function highBytes(words: Uint16Array): Uint8Array {
  const out = new Uint8Array(words.length);
  for (let i = 0; i < words.length; i++) out[i] = words[i] >>> 8;
  return out;
}

/**
 * Decode an image file or buffer to 8-bit RGB with EXIF orientation applied. Only the first frame of animated
 * images is read. Embedded ICC profiles are ignored, as OpenCV and Pillow ignore them; CMYK becomes RGB by
 * OpenCV's ink formula (see cmyk.ts) so that pixels equal the reference script's.
 * @throws ImageDecodeError with a one-line reason.
 */
export async function decodeImage(input: string | Buffer, opts: DecodeOptions = {}): Promise<RgbImage> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (!(maxPixels > 0)) throw new RangeError(`decodeImage: maxPixels must be positive, got ${maxPixels}`);
  const buf = await readInput(input, maxPixels);
  if (buf.length === 0) throw new ImageDecodeError('empty file');

  let meta: Metadata;
  try {
    meta = await sharp(buf, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new ImageDecodeError(reasonOf(err), { cause: err });
  }
  if (meta.format === undefined || !FORMATS.has(meta.format)) throw new ImageDecodeError('not a supported image');
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (w <= 0 || h <= 0) throw new ImageDecodeError('truncated or corrupt image data');
  if (w * h > maxPixels) throw new ImageDecodeError(overLimitReason(w, h, maxPixels));

  const is16 = meta.depth === 'ushort';
  try {
    const pipeline = sharp(buf, {
      failOn: 'truncated',
      limitInputPixels: Number.isFinite(maxPixels) ? Math.max(1, Math.floor(maxPixels)) : false,
      autoOrient: true,
      // OpenCV and Pillow ignore embedded profiles, so sharp must not convert through them either.
      ignoreIcc: true,
      page: 0,
      pages: 1,
    }).removeAlpha();
    if (meta.space === 'cmyk') {
      // Keep the ink values (no profile conversion) and apply the reference decoder's own formula.
      const { data, info } = await pipeline.pipelineColourspace('cmyk').toColourspace('cmyk')
        .raw({ depth: is16 ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
      if (info.channels !== 4) throw new ImageDecodeError(`unexpected decoder output (${info.channels} channels)`);
      const ink = is16 ? highBytes(wordsOf(data)) : new Uint8Array(data.buffer, data.byteOffset, data.length);
      const rule = meta.format === 'tiff' ? 'tiff' : 'jpeg';
      return finish(cmykToRgb(ink, info.width * info.height, rule), info.width, info.height, 3);
    }
    if (is16) {
      // Ask for the 16-bit samples and shift ourselves, so the 16 → 8 rule does not depend on libvips' cast.
      const { data, info } = await pipeline.toColourspace('rgb16').raw({ depth: 'ushort' })
        .toBuffer({ resolveWithObject: true });
      return finish(highBytes(wordsOf(data)), info.width, info.height, info.channels);
    }
    const { data, info } = await pipeline.toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    return finish(new Uint8Array(data.buffer, data.byteOffset, data.length), info.width, info.height, info.channels);
  } catch (err) {
    if (err instanceof ImageDecodeError) throw err;
    throw new ImageDecodeError(reasonOf(err), { cause: err });
  }
}

/** View raw native-endian 16-bit output as words; a Uint16Array view needs an even byte offset, so copy if odd. */
function wordsOf(data: Buffer): Uint16Array {
  const bytes = data.byteOffset % 2 === 0 ? data : Buffer.from(data);
  return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 1);
}

function finish(data: Uint8Array, width: number, height: number, channels: number): RgbImage {
  const pixels = width * height;
  if (channels === 3 && data.length === pixels * 3) return { data, width, height };
  if (channels === 1 && data.length === pixels) return { data: greyToRgb(data, pixels), width, height };
  throw new ImageDecodeError(`unexpected decoder output (${channels} channels)`);
}
