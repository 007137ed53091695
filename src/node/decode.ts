/**
 * Image decoding with sharp, following the reference script's rules (amg-reference.md, "Image decoding"):
 * EXIF orientation applied, grey replicated, alpha dropped (not composited), 16-bit → high byte, CMYK → RGB by OpenCV's formula.
 */
import sharp, { type Metadata, type Sharp } from 'sharp';
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
export function reasonOf(err: unknown): string {
  const msg = errorMessage(err);
  if (/unsupported image format/i.test(msg)) return 'not a supported image';
  if (/exceeds pixel limit/i.test(msg)) return 'image is over the pixel limit (--max-pixels)';
  return 'truncated or corrupt image data';
}

export function overLimitReason(w: number, h: number, maxPixels: number): string {
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

  const header = await readHeader(buf);
  const { width: w, height: h } = header.stored;
  if (w * h > maxPixels) throw new ImageDecodeError(overLimitReason(w, h, maxPixels));

  try {
    const pipeline = sharp(buf, {
      ...PIXEL_READ,
      limitInputPixels: Number.isFinite(maxPixels) ? Math.max(1, Math.floor(maxPixels)) : false,
      autoOrient: true,
    });
    return await rgbPixels(pipeline, header);
  } catch (err) {
    if (err instanceof ImageDecodeError) throw err;
    throw new ImageDecodeError(reasonOf(err), { cause: err });
  }
}

/** What the header of a supported image says: its format, stored size, orientation tag and how samples become RGB. */
export interface ImageHeader {
  /** sharp's format name (jpeg, png, webp, tiff, gif, heif). */
  format: string;
  /** Size as stored, before orientation. */
  stored: { width: number; height: number };
  /** The EXIF / TIFF orientation tag (1 when absent). */
  orientation: number;
  cmyk: boolean;
  /** 16-bit samples (the high byte is kept). */
  is16: boolean;
  /** A progressive JPEG or an interlaced PNG: its decoder needs the whole image before the first row. */
  progressive: boolean;
}

/**
 * Reads and checks the header of an image (a file path or its bytes); nothing is decoded.
 * @throws ImageDecodeError for an unsupported or unreadable file.
 */
export async function readHeader(input: string | Buffer): Promise<ImageHeader> {
  let meta: Metadata;
  try {
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new ImageDecodeError(reasonOf(err), { cause: err });
  }
  if (meta.format === undefined || !FORMATS.has(meta.format)) throw new ImageDecodeError('not a supported image');
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (w <= 0 || h <= 0) throw new ImageDecodeError('truncated or corrupt image data');
  return {
    format: meta.format,
    stored: { width: w, height: h },
    orientation: meta.orientation ?? 1,
    cmyk: meta.space === 'cmyk',
    is16: meta.depth === 'ushort',
    progressive: meta.isProgressive === true,
  };
}

/**
 * The sharp input options every pixel read uses (whole images and regions alike): fail on truncated data, ignore
 * embedded profiles (OpenCV and Pillow do), first page only.
 */
export const PIXEL_READ = { failOn: 'truncated', ignoreIcc: true, page: 0, pages: 1 } as const;

/**
 * The decoding rules (module comment) applied to a pipeline that already selects the pixels to read — a whole
 * image, or a region of one: alpha dropped, CMYK by the reference's formula, 16-bit → high byte, grey → RGB.
 * Every rule works pixel by pixel, so a region comes out as the same region of the whole image.
 */
export async function rgbPixels(pipeline: Sharp, header: Pick<ImageHeader, 'format' | 'cmyk' | 'is16'>): Promise<RgbImage> {
  const { is16 } = header;
  const p = samplePipeline(pipeline, header);
  if (header.cmyk) {
    const { data, info } = await p.raw({ depth: is16 ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 4) throw new ImageDecodeError(`unexpected decoder output (${info.channels} channels)`);
    const ink = is16 ? highBytes(wordsOf(data)) : new Uint8Array(data.buffer, data.byteOffset, data.length);
    const rule = header.format === 'tiff' ? 'tiff' : 'jpeg';
    return finish(cmykToRgb(ink, info.width * info.height, rule), info.width, info.height, 3);
  }
  if (is16) {
    // Ask for the 16-bit samples and shift ourselves, so the 16 → 8 rule does not depend on libvips' cast.
    const { data, info } = await p.raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
    return finish(highBytes(wordsOf(data)), info.width, info.height, info.channels);
  }
  const { data, info } = await p.raw().toBuffer({ resolveWithObject: true });
  return finish(new Uint8Array(data.buffer, data.byteOffset, data.length), info.width, info.height, info.channels);
}

/**
 * The samples {@link rgbPixels} turns into RGB, before its JavaScript rules: alpha dropped, then CMYK ink values
 * (no profile conversion: the reference's own formula follows), 16-bit RGB, or 8-bit sRGB. A lossless file written
 * from this stage and read back through rgbPixels gives the same pixels (the temporary tiled copy of a huge image).
 */
export function samplePipeline(pipeline: Sharp, header: Pick<ImageHeader, 'cmyk' | 'is16'>): Sharp {
  const p = pipeline.removeAlpha();
  if (header.cmyk) return p.pipelineColourspace('cmyk').toColourspace('cmyk');
  if (header.is16) return p.toColourspace('rgb16');
  return p.toColourspace('srgb');
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
