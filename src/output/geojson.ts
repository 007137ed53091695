/**
 * GeoJSON output (`--format geojson --out DIR`): one FeatureCollection per image, `DIR/<image path without
 * extension>.geojson`, one Feature per mask. Per image rather than one file, because each image has its own frame:
 * pixel coordinates of its own size, or, for a georeferenced input, its own CRS and transform, and a GIS opens each
 * file as one layer.
 *
 * A Feature's geometry is the mask's polygons (src/polygon/geojson.ts): a Polygon, or a MultiPolygon when the mask
 * has several, holes as interior rings, RFC 7946 winding in the written coordinates; null for an empty mask. Its
 * properties are `id` and the record's fields without the segmentation, as src/output/records.ts converts them
 * (`bbox`, `area`, the scores, `point_coords`, `crop_box`, in pixels, and `polygon_loss` when simplification
 * dropped something).
 *
 * Coordinates are pixel-edge coordinates (x right, y down) unless the image result carries a georeference (`geo`,
 * src/base/types.ts): then they are map coordinates through its affine transform, the collection names the CRS in
 * the legacy GeoJSON 2008 `crs` member that GDAL (and so QGIS) reads (`urn:ogc:def:crs:EPSG::<code>`; `null` for a
 * CRS without an EPSG code), and the `image` member keeps the transform so that readers can map back to pixels.
 * RFC 7946 itself knows only WGS 84 longitude/latitude; a file in a projected CRS is valid GeoJSON 2008.
 */
import type { GeoReference } from '../base/types.js';
import { geoJsonGeometry, type GeoTransform } from '../polygon/index.js';
import { checkMaskSize, type ImageResult } from './coco.js';
import { outputFields } from './records.js';
import { imageFilePath } from './sa1b.js';
import type { MaskTracer, SegmentationEncoder } from './segmentation.js';

/** `DIR/<relPath without extension>.geojson`; throws for a name that would leave the folder (as sa1bPathFor). */
export function geoJsonPathFor(dir: string, relPath: string): string {
  return imageFilePath(dir, relPath, '.geojson');
}

/** How every sam-amg GeoJSON file starts: how one is recognised. */
export const GEOJSON_PREFIX = '{"type":"FeatureCollection","image":{"file_name":';

/** The `image` member of a collection. */
export interface GeoJsonImage {
  file_name: string;
  width: number;
  height: number;
  geo?: GeoReference;
}

/** GDAL's GeoTransform [c, a, b, f, d, e] of an affine transform [a, b, c, d, e, f] (x = a·col + b·row + c, …). */
export function gdalTransformOf(t: GeoReference['transform']): GeoTransform {
  return [t[2], t[0], t[1], t[5], t[3], t[4]];
}

/** The legacy `crs` member naming `crs` ("EPSG:<code>") the way GDAL reads it; null when the CRS has no code. */
export function crsMember(crs: string | null): { type: 'name'; properties: { name: string } } | null {
  if (crs === null) return null;
  const m = /^EPSG:(\d+)$/iu.exec(crs);
  // EPSG:4326 written as a URN would mean latitude first to strict readers; CRS84 is the same datum, longitude first.
  const name = m === null ? crs : m[1] === '4326' ? 'urn:ogc:def:crs:OGC:1.3:CRS84' : `urn:ogc:def:crs:EPSG::${m[1]}`;
  return { type: 'name', properties: { name } };
}

/**
 * The FeatureCollection of one image as text: the collection's members on the first line, then one Feature per
 * line, ending with a newline. Masks go through `tracer` (traced and simplified once). Throws when a mask's size is
 * not the image's or a number is not finite.
 */
export function geoJsonText(result: ImageResult, tracer: MaskTracer): string {
  const image: GeoJsonImage = {
    file_name: result.relPath,
    width: result.width,
    height: result.height,
    ...(result.geo ? { geo: { crs: result.geo.crs, transform: [...result.geo.transform] } } : {}),
  };
  const transform = result.geo ? gdalTransformOf(result.geo.transform) : undefined;
  const features = result.records.map((record, r) => {
    const where = `${result.relPath}: record ${r}`;
    checkMaskSize(record, result, where);
    const t = tracer.trace(record.segmentation);
    // The record's fields through the one converter, with the loss of its polygons; the segmentation is the geometry.
    const lossOnly: SegmentationEncoder = { encode: () => ({ segmentation: [], ...(t.loss ? { polygon_loss: t.loss } : {}) }) };
    const f = outputFields(record, where, lossOnly);
    const geometry = geoJsonGeometry(t.polygons, transform ? { transform } : {});
    // Every field of the record but its segmentation (whatever fields the record has), numbered like SA-1B ids.
    const { segmentation: _geometry, ...fields } = f;
    const properties = { id: r + 1, ...fields };
    return JSON.stringify({ type: 'Feature', id: r + 1, geometry, properties });
  });
  const crs = result.geo ? `"crs":${JSON.stringify(crsMember(result.geo.crs))},` : '';
  const head = `{"type":"FeatureCollection","image":${JSON.stringify(image)},${crs}"features":[`;
  return features.length === 0 ? `${head}]}\n` : `${head}\n${features.join(',\n')}\n]}\n`;
}
