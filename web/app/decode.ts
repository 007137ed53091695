/**
 * An image file to the generator's RgbImage with the browser's own decoder: EXIF orientation applied, no colour
 * management (the file's bytes as they are, like sharp and OpenCV), alpha dropped. For JPEGs and opaque PNGs the
 * pixels are those of the CLI's decoder (src/node/decode.ts); a canvas stores premultiplied alpha, so the colour of
 * semi-transparent pixels may differ by rounding.
 */
import { rgbFromRgba, type RgbImage } from '../../src/core/index.js';
import { errorMessage } from '../../src/base/errors.js';

/** A decoded image: the generator's pixels, and a bitmap to draw. */
export interface DecodedImage {
  rgb: RgbImage;
  bitmap: ImageBitmap;
}

/** Decodes `blob` (JPEG, PNG, WebP, … whatever the browser reads); `name` names it in errors. */
export async function decodeImageBlob(blob: Blob, name: string): Promise<DecodedImage> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', imageOrientation: 'from-image', premultiplyAlpha: 'none' });
  } catch (err) {
    throw new Error(`${name}: the browser cannot decode it as an image (${errorMessage(err)})`);
  }
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (ctx === null) throw new Error(`${name}: no 2D canvas to read its pixels`);
  ctx.drawImage(bitmap, 0, 0);
  const data = ctx.getImageData(0, 0, width, height).data;
  return { rgb: rgbFromRgba(data, width, height), bitmap };
}
