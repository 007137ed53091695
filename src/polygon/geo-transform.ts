/** GDAL-style affine geotransform from pixel-edge coordinates to map coordinates. */

/**
 * [a, b, c, d, e, f]: X = a + px·b + py·c, Y = d + px·e + py·f, with (px, py) pixel-edge coordinates (GDAL's
 * GetGeoTransform order; a north-up image has c = e = 0 and f < 0).
 */
export type GeoTransform = readonly [number, number, number, number, number, number];

/** Maps interleaved pixel coordinates through `t` into a new array of map coordinates. */
export function applyGeoTransform(coords: ArrayLike<number>, t: GeoTransform): Float64Array {
  const out = new Float64Array(coords.length);
  for (let i = 0; i < coords.length; i += 2) {
    const px = coords[i];
    const py = coords[i + 1];
    out[i] = t[0] + px * t[1] + py * t[2];
    out[i + 1] = t[3] + px * t[4] + py * t[5];
  }
  return out;
}

/** Throws a RangeError unless `t` is six finite numbers with a non-zero determinant. */
export function checkGeoTransform(t: ArrayLike<number>): asserts t is GeoTransform {
  if (t.length !== 6 || !Array.prototype.every.call(t, (v: number) => Number.isFinite(v))) {
    throw new RangeError(`geotransform must be 6 finite numbers [a, b, c, d, e, f], got ${JSON.stringify(Array.from(t))}`);
  }
  if (t[1] * t[5] - t[2] * t[4] === 0) throw new RangeError('geotransform is singular (b·f − c·e = 0)');
}
