/** GeoJSON (`--format geojson`): `<dir>/<image path without extension>.geojson` per image (src/output/geojson.ts). */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../fs/atomic.js';
import { geoJsonPathFor, geoJsonText } from '../geojson.js';
import { MaskTracer, polygonNotes } from '../segmentation.js';
import type { ImageFileFormat } from './per-image.js';

/** The GeoJSON per-image files, masks simplified with `tolerance` pixels. */
export function geoJsonFiles(tolerance: number): ImageFileFormat {
  const tracer = new MaskTracer(tolerance);
  return {
    format: 'geojson',
    maskIdBase: 1,
    pathFor: geoJsonPathFor,
    doneMarker: (file) => file,
    async write(file, result) {
      await fsp.mkdir(path.dirname(file), { recursive: true });
      await writeFileAtomic(file, geoJsonText(result, tracer));
    },
    notes: () => polygonNotes(tracer.tally, { tolerance, holes: 'rings', format: 'geojson', where: 'properties.polygon_loss' }),
  };
}
