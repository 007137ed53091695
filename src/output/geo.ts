/**
 * The per-image `geo` key of every output format: a GeoTIFF input's CRS and affine transform (src/base/types.ts
 * GeoReference), written after `height` and read back by every reader so that merge, resume and the report keep it.
 */
import type { GeoReference } from '../base/types.js';
import { FormatError } from './records.js';

/** `{ geo }` for an image that has georeferencing, `{}` otherwise: spread into an image entry after height. */
export function geoField(geo: GeoReference | undefined): { geo?: GeoReference } {
  return geo === undefined ? {} : { geo: { crs: geo.crs, transform: [...geo.transform] } };
}

/**
 * The `geo` of an image entry (`o.geo`), or undefined when it has none. Throws FormatError naming `at` when it is
 * present but not `{ "crs": string | null, "transform": [6 finite numbers] }`.
 */
export function parseGeo(o: Record<string, unknown>, at: string): GeoReference | undefined {
  const v = o.geo;
  if (v === undefined) return undefined;
  const bad = (): never => {
    throw new FormatError(`${at}.geo must be {"crs": string or null, "transform": [a, b, c, d, e, f]}`);
  };
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad();
  const g = v as Record<string, unknown>;
  if (!(g.crs === null || typeof g.crs === 'string')) return bad();
  const t = g.transform;
  if (!Array.isArray(t) || t.length !== 6 || !t.every((x) => typeof x === 'number' && Number.isFinite(x))) return bad();
  return { crs: g.crs, transform: t as GeoReference['transform'] };
}
