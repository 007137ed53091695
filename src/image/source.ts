/**
 * Where the generator's pixels come from. Untiled runs hold the whole image (an RgbImage); tiled runs of very large
 * images read one tile at a time from an ImageSource, so that memory is bounded by the tile, not by the image. A
 * whole RgbImage is trivially a source. The Node side reads regions of files (src/node/image-source.ts).
 */
import type { RgbImage } from '../base/types.js';
import { cropImage } from './preprocess.js';

/**
 * An image read region by region, in its displayed frame (EXIF orientation applied), 8-bit RGB, with exactly the
 * pixels a whole decode would give.
 */
export interface ImageSource {
  readonly width: number;
  readonly height: number;
  /** The pixels of [x0, x1) × [y0, y1), which lies inside the image. Rejects with the reader's error. */
  readRegion(x0: number, y0: number, x1: number, y1: number): Promise<RgbImage>;
}

/** A whole decoded image as a source (a region read is a copy of that part of it). */
export function wholeImageSource(image: RgbImage): ImageSource {
  return {
    width: image.width,
    height: image.height,
    readRegion: (x0, y0, x1, y1) =>
      Promise.resolve(x0 === 0 && y0 === 0 && x1 === image.width && y1 === image.height ? image : cropImage(image, x0, y0, x1, y1)),
  };
}

/** Whether `x` is a decoded image (its pixels are there) rather than a source to read from. */
export function isRgbImage(x: RgbImage | ImageSource): x is RgbImage {
  return (x as RgbImage).data instanceof Uint8Array;
}
