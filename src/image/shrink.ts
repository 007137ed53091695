/**
 * Shrinking an image by a whole factor s, band by band: each output pixel is the mean of its s×s block of image
 * pixels (a partial block at the right or bottom edge: the mean of the pixels it has), rounded half up. Bands of
 * rows are added as they are read, so an image of any size is shrunk holding one band and the output: the report's
 * photo of a huge image (src/report/photos.ts) is made this way from region reads. Browser-safe, no allocation per
 * pixel.
 */
import type { RgbImage } from '../base/types.js';

/** Sums of one shrink in progress; {@link BlockShrinker.add} the image's rows top to bottom, then {@link BlockShrinker.finish}. */
export class BlockShrinker {
  /** Output size: ceil(W / s) × ceil(H / s). */
  readonly width: number;
  readonly height: number;
  private readonly out: Uint8Array;
  /** Channel sums of the output row being filled (a block row may span several bands). */
  private readonly sums: Float64Array;
  /** The next image row expected. */
  private row = 0;

  constructor(
    readonly imageWidth: number,
    readonly imageHeight: number,
    readonly scale: number,
  ) {
    if (!Number.isInteger(scale) || scale < 1) throw new RangeError(`shrink: scale must be a positive integer, got ${scale}`);
    this.width = Math.ceil(imageWidth / scale);
    this.height = Math.ceil(imageHeight / scale);
    this.out = new Uint8Array(this.width * this.height * 3);
    this.sums = new Float64Array(this.width * 3);
  }

  /** Adds the next rows of the image: `band` is `imageWidth` wide and starts at the first row not yet added. */
  add(band: RgbImage): void {
    const { imageWidth: W, imageHeight: H, scale: s, width: ow } = this;
    if (band.width !== W) throw new RangeError(`shrink: a band ${band.width} px wide, the image is ${W}`);
    if (this.row + band.height > H) throw new RangeError(`shrink: rows ${this.row}–${this.row + band.height} are past the image's ${H}`);
    const sums = this.sums;
    const px = band.data;
    for (let r = 0; r < band.height; r++) {
      let o = r * W * 3;
      for (let ox = 0, x = 0; ox < ow; ox++) {
        const xe = Math.min(W, x + s);
        let sr = 0;
        let sg = 0;
        let sb = 0;
        for (; x < xe; x++, o += 3) {
          sr += px[o];
          sg += px[o + 1];
          sb += px[o + 2];
        }
        sums[ox * 3] += sr;
        sums[ox * 3 + 1] += sg;
        sums[ox * 3 + 2] += sb;
      }
      this.row++;
      // The block row is complete at every s-th row and at the image's last row.
      if (this.row % s === 0 || this.row === H) this.flushRow();
    }
  }

  /** The shrunk image; throws when rows are missing. */
  finish(): RgbImage {
    if (this.row !== this.imageHeight) throw new RangeError(`shrink: ${this.row} of ${this.imageHeight} rows added`);
    return { width: this.width, height: this.height, data: this.out };
  }

  /** Writes the means of the block row that just ended and clears the sums. */
  private flushRow(): void {
    const { imageWidth: W, scale: s, width: ow } = this;
    const oy = Math.ceil(this.row / s) - 1;
    const rows = this.row - oy * s;
    const sums = this.sums;
    let o = oy * ow * 3;
    for (let ox = 0; ox < ow; ox++) {
      const n = rows * (Math.min(W, (ox + 1) * s) - ox * s);
      for (let c = 0; c < 3; c++, o++) {
        const k = ox * 3 + c;
        this.out[o] = Math.floor((sums[k] + n / 2) / n);
        sums[k] = 0;
      }
    }
  }
}

/** The image shrunk by `scale` (see the module comment): one band, the whole image (tests, small images). */
export function shrinkImage(image: RgbImage, scale: number): RgbImage {
  const s = new BlockShrinker(image.width, image.height, scale);
  s.add(image);
  return s.finish();
}
