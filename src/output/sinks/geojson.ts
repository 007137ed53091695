/** GeoJSON (`--format geojson`): `<dir>/<image path without extension>.geojson` per image (src/output/geojson.ts). */
import { errorMessage } from '../../base/errors.js';
import { checkGeoTransform } from '../../polygon/index.js';
import type { ImageResult } from '../coco.js';
import { gdalTransformOf, geoJsonPathFor, geoJsonText } from '../geojson.js';
import { MaskTracer, polygonNotes, type PolygonNote } from '../segmentation.js';
import { plural } from '../text.js';
import { writeImageFile, type ImageFileFormat } from './per-image.js';

/**
 * The GeoJSON per-image files, masks simplified with `tolerance` pixels. An image whose georeference cannot map
 * pixels (a transform that is not 6 finite numbers, or singular) is written in pixel coordinates rather than lost,
 * and the run's closing lines name it.
 */
export function geoJsonFiles(tolerance: number): ImageFileFormat {
  const tracer = new MaskTracer(tolerance);
  const unusable: { file: string; why: string }[] = [];
  return {
    format: 'geojson',
    maskIdBase: 1,
    pathFor: geoJsonPathFor,
    doneMarker: (file) => file,
    async write(file, result) {
      let r: ImageResult = result;
      if (result.geo !== undefined) {
        const why = geoProblem(result.geo.transform);
        if (why !== null) {
          const { geo: _unused, ...pixels } = result;
          r = pixels;
          unusable.push({ file: result.relPath, why });
        }
      }
      await writeImageFile(file, geoJsonText(r, tracer));
    },
    notes(): PolygonNote[] {
      const notes = polygonNotes(tracer.tally, { tolerance, holes: 'rings', format: 'geojson', where: 'properties.polygon_loss' });
      if (unusable.length > 0) {
        const sorted = [...unusable].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
        notes.push({
          level: 'warn',
          text:
            `geojson: the georeferencing of ${plural(unusable.length, 'image')} cannot map pixels, so ${unusable.length === 1 ? 'it is' : 'they are'} written in pixel coordinates: ` +
            `${sorted.slice(0, 5).map((u) => `${u.file} (${u.why})`).join(', ')}${sorted.length > 5 ? ', …' : ''}`,
        });
      }
      return notes;
    },
  };
}

/** Why a georeference's transform cannot map pixels, or null when it can. */
function geoProblem(t: readonly number[]): string | null {
  try {
    if (t.length !== 6) throw new RangeError(`the transform has ${t.length} numbers, not 6`);
    checkGeoTransform(gdalTransformOf(t as [number, number, number, number, number, number]));
    return null;
  } catch (err) {
    return errorMessage(err);
  }
}
