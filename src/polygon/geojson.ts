/**
 * GeoJSON (RFC 7946) geometry of a mask: a Polygon, or a MultiPolygon when the mask has several polygons; holes are
 * interior rings. Coordinates are pixel-edge coordinates, or map coordinates through a geotransform. Rings are
 * closed (first position repeated) and wound as RFC 7946 asks in the coordinates actually written: exterior rings
 * counter-clockwise, holes clockwise, i.e. positive and negative shoelace area of the output x, y. So the winding
 * is decided after the transform (a north-up geotransform flips y and with it every ring), and in plain pixel
 * coordinates, where y grows downwards, an exterior ring looks clockwise on screen.
 */
import { applyGeoTransform, checkGeoTransform, type GeoTransform } from './geo-transform.js';
import { signedArea } from './ring-geometry.js';
import type { MaskPolygons } from './types.js';

export interface GeoJsonPolygon {
  type: 'Polygon';
  coordinates: number[][][];
}

export interface GeoJsonMultiPolygon {
  type: 'MultiPolygon';
  coordinates: number[][][][];
}

export interface GeoJsonOptions {
  /** Pixel → map coordinates; pixel coordinates when absent. */
  transform?: GeoTransform;
  /** Round written coordinates to this many decimals (winding is decided on the rounded values); none by default. */
  decimals?: number;
}

/** The geometry of one mask, or null when it has no polygon. */
export function geoJsonGeometry(mp: MaskPolygons, options: GeoJsonOptions = {}): GeoJsonPolygon | GeoJsonMultiPolygon | null {
  if (options.transform !== undefined) checkGeoTransform(options.transform);
  const polys = mp.polygons.map((p) => [ring(p.outer, true, options), ...p.holes.map((h) => ring(h, false, options))]);
  if (polys.length === 0) return null;
  if (polys.length === 1) return { type: 'Polygon', coordinates: polys[0] };
  return { type: 'MultiPolygon', coordinates: polys };
}

/** One closed GeoJSON ring with the RFC 7946 winding for an exterior (or interior) ring. */
function ring(pixels: Int32Array, exterior: boolean, options: GeoJsonOptions): number[][] {
  let xy: ArrayLike<number> = options.transform ? applyGeoTransform(pixels, options.transform) : pixels;
  if (options.decimals !== undefined) {
    const scale = 10 ** options.decimals;
    xy = Float64Array.from(xy, (v) => Math.round(v * scale) / scale);
  }
  const n = xy.length >> 1;
  const reverse = signedArea(xy) > 0 !== exterior;
  const out: number[][] = [];
  for (let k = 0; k <= n; k++) {
    // Reversed rings keep their first position: v0, v(n-1), …, v1, v0.
    const v = (reverse ? n - k : k) % n;
    out.push([xy[2 * v], xy[2 * v + 1]]);
  }
  return out;
}
