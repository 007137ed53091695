/**
 * A small GeoTIFF from any photo, to try georeferenced output without one of your own (and for the docs check's
 * sandbox, scripts/docs-check/sandbox.ts): the photo's pixels as an RGB TIFF placed north-up by a tie point and a
 * pixel scale in a projected CRS, written by the `geotiff` package.
 *
 *   npx tsx scripts/make-geotiff.ts photo.jpg ortho.tif [--epsg 32633] [--origin 500000,4649776] [--pixel 0.5]
 *
 * Defaults: UTM zone 33N (EPSG:32633), the top-left corner at easting 500000, northing 4649776, 0.5 m pixels, so the
 * output's `geo` is {"crs": "EPSG:32633", "transform": [0.5, 0, 500000, 0, -0.5, 4649776]}.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeArrayBuffer } from 'geotiff';
import type { RgbImage } from '../src/base/types.js';
import { decodeImage } from '../src/node/decode.js';

/** Where and how a GeoTIFF is placed. */
export interface GeoPlacement {
  /** EPSG code of a projected CRS. */
  epsg: number;
  /** Map coordinates of the top-left corner of the top-left pixel. */
  origin: [number, number];
  /** Pixel size in map units (square pixels, north up). */
  pixel: number;
}

export const DEFAULT_PLACEMENT: GeoPlacement = { epsg: 32633, origin: [500000, 4649776], pixel: 0.5 };

/** Writes `image` to `file` as a GeoTIFF placed by `placement`; `extra` (tests) adds or replaces TIFF tags. */
export async function writeGeoTiff(file: string, image: RgbImage, placement: GeoPlacement = DEFAULT_PLACEMENT, extra: Record<string, unknown> = {}): Promise<void> {
  const { epsg, origin, pixel } = placement;
  const buf = writeArrayBuffer(image.data, {
    width: image.width,
    height: image.height,
    SamplesPerPixel: 3,
    BitsPerSample: [8, 8, 8],
    PhotometricInterpretation: 2,
    ModelPixelScale: [pixel, pixel, 0],
    ModelTiepoint: [0, 0, 0, origin[0], origin[1], 0],
    ProjectedCSTypeGeoKey: epsg,
    GTModelTypeGeoKey: 1,
    GTRasterTypeGeoKey: 1,
    ...extra,
  });
  await writeFile(file, Buffer.from(buf));
}

async function main(argv: string[]): Promise<number> {
  const usage = 'usage: npx tsx scripts/make-geotiff.ts IN OUT.tif [--epsg N] [--origin X,Y] [--pixel S]';
  const placement: GeoPlacement = { ...DEFAULT_PLACEMENT };
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--epsg') (placement.epsg = Number(v)), i++;
    else if (a === '--origin') (placement.origin = (v ?? '').split(',').map(Number) as [number, number]), i++;
    else if (a === '--pixel') (placement.pixel = Number(v)), i++;
    else files.push(a);
  }
  const ok = files.length === 2 && Number.isInteger(placement.epsg) && placement.origin.length === 2 && placement.origin.every(Number.isFinite) && placement.pixel > 0;
  if (!ok) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  await writeGeoTiff(files[1], await decodeImage(files[0]), placement);
  process.stderr.write(`${files[1]}: EPSG:${placement.epsg}, top-left (${placement.origin.join(', ')}), ${placement.pixel} per pixel\n`);
  return 0;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      process.stderr.write(`make-geotiff: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
