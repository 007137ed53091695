/**
 * Pixels from a browser canvas (RGBA, as ImageData holds them) as the RgbImage the generator takes. Alpha is
 * dropped, not composited, as the reference's OpenCV reading does (amg-reference.md, "Image decoding").
 */
import type { RgbImage } from '../base/types.js';

/** `data` is width × height × 4 bytes, row-major RGBA. */
export function rgbFromRgba(data: Uint8Array | Uint8ClampedArray, width: number, height: number): RgbImage {
  if (data.length !== width * height * 4) throw new RangeError(`rgbFromRgba: ${data.length} bytes for ${width}×${height} RGBA`);
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < data.length; i += 4, j += 3) {
    rgb[j] = data[i];
    rgb[j + 1] = data[i + 1];
    rgb[j + 2] = data[i + 2];
  }
  return { data: rgb, width, height };
}
