/**
 * EXIF orientation for region reads. A file stores its pixels in one frame and shows them in another (orientation
 * 1–8 of the EXIF / TIFF Orientation tag); a whole decode turns the whole image, but a region read must know which
 * stored pixels a displayed region comes from, read those, and turn only them.
 *
 * For a displayed pixel (u, v) of a stored W×H image, the stored pixel (x, y) is:
 *   1 (u, v)            2 (W−1−u, v)          3 (W−1−u, H−1−v)      4 (u, H−1−v)
 *   5 (v, u)            6 (v, H−1−u)          7 (W−1−v, H−1−u)      8 (W−1−v, u)
 * Orientations 5–8 swap width and height.
 */
import type { BoxXYXY, RgbImage } from '../base/types.js';

/** EXIF orientation, 1 (as stored) to 8; anything else is treated as 1, as decoders do. */
export type Orientation = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

/** The orientation a tag value means (missing or out-of-range values mean 1). */
export function orientationOf(tag: number | undefined): Orientation {
  return tag !== undefined && Number.isInteger(tag) && tag >= 1 && tag <= 8 ? (tag as Orientation) : 1;
}

/** Whether the orientation swaps width and height. */
export function swapsAxes(o: Orientation): boolean {
  return o >= 5;
}

/** The displayed size of a stored W×H image. */
export function displayedSize(o: Orientation, storedW: number, storedH: number): { width: number; height: number } {
  return swapsAxes(o) ? { width: storedH, height: storedW } : { width: storedW, height: storedH };
}

/**
 * The stored region [x0, y0, x1, y1) (exclusive max) that holds the displayed region `box` of an image stored as
 * W×H: its pixels, turned by {@link orientRegion}, are the displayed region.
 */
export function storedRegion(o: Orientation, storedW: number, storedH: number, box: BoxXYXY): BoxXYXY {
  const [u0, v0, u1, v1] = box;
  // Displayed spans along u and v, mapped to stored spans: flips mirror a span, swaps exchange the axes.
  const flipU = o === 2 || o === 3 || o === 6 || o === 7;
  const flipV = o === 3 || o === 4 || o === 7 || o === 8;
  if (!swapsAxes(o)) {
    const [x0, x1] = flipU ? [storedW - u1, storedW - u0] : [u0, u1];
    const [y0, y1] = flipV ? [storedH - v1, storedH - v0] : [v0, v1];
    return [x0, y0, x1, y1];
  }
  // Swapped: stored x follows v, stored y follows u. Orientations 6 and 7 mirror u (into y), 7 and 8 mirror v (into x).
  const [x0, x1] = flipV ? [storedW - v1, storedW - v0] : [v0, v1];
  const [y0, y1] = flipU ? [storedH - u1, storedH - u0] : [u0, u1];
  return [x0, y0, x1, y1];
}

/**
 * The displayed pixels of a stored region read as `region` (w×h stored pixels, RGB): mirrored and/or transposed
 * so that pixel (u, v) of the result is displayed pixel (u0 + u, v0 + v) of the image. Orientation 1 returns the
 * region itself.
 */
export function orientRegion(o: Orientation, region: RgbImage): RgbImage {
  if (o === 1) return region;
  const { width: w, height: h, data } = region;
  const swap = swapsAxes(o);
  const outW = swap ? h : w;
  const outH = swap ? w : h;
  const out = new Uint8Array(data.length);
  // Stored (x, y) of displayed (u, v) inside the region, per the table in the module comment, with the region's
  // own size in place of the image's (a region's mirror is the image's mirror restricted to it).
  for (let v = 0; v < outH; v++) {
    for (let u = 0; u < outW; u++) {
      let x: number;
      let y: number;
      switch (o) {
        case 2: x = w - 1 - u; y = v; break;
        case 3: x = w - 1 - u; y = h - 1 - v; break;
        case 4: x = u; y = h - 1 - v; break;
        case 5: x = v; y = u; break;
        case 6: x = v; y = h - 1 - u; break;
        case 7: x = w - 1 - v; y = h - 1 - u; break;
        default: x = w - 1 - v; y = u; break; // 8
      }
      const s = (y * w + x) * 3;
      const d = (v * outW + u) * 3;
      out[d] = data[s];
      out[d + 1] = data[s + 1];
      out[d + 2] = data[s + 2];
    }
  }
  return { data: out, width: outW, height: outH };
}
