/**
 * Georeferenced polygons end to end: a GeoTIFF (made here with geotiff.js) through `--format geojson`, untiled and
 * with `--tile`, gives features in the image's CRS — every ring the pixel-corner ring of the same mask (from the same
 * pixels as a PNG) through the file's transform — with the CRS named as GDAL reads it; georeferencing that cannot be
 * used gives a warning naming the file and why, and the masks in pixel coordinates (nothing lost).
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMaskSet } from '../src/output/read.js';
import { toCoco } from '../src/rle/rle.js';
import { writeGeoTiff as writeGeoTiffAt } from '../scripts/make-geotiff.js';
import { MODEL, runCli } from './helpers/batch.js';
import { spotsRaw } from './helpers/spots.js';

const W = 160;
const H = 120;
/** 0.25 m pixels, the top-left corner at (500123.5, 4649776.25) in UTM 33N: x = 0.25·col + 500123.5, y = −0.25·row + 4649776.25. */
const TRANSFORM = [0.25, 0, 500123.5, 0, -0.25, 4649776.25];
const CRS_MEMBER = { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::32633' } };
const PIXELS = spotsRaw(W, H, 3);

interface Collection {
  type: string;
  image: { file_name: string; width: number; height: number; geo?: unknown };
  crs?: unknown;
  features: { id: number; geometry: { type: 'Polygon' | 'MultiPolygon'; coordinates: unknown } | null; properties: Record<string, unknown> }[];
}

let tmp: string;
beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sam-amg-geojson-geo-'));
});
afterAll(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

/** A GeoTIFF of PIXELS placed by a tie point and a pixel scale (RGB, written by geotiff.js); `extra` replaces tags. */
function writeGeoTiff(file: string, extra: Record<string, unknown> = {}): Promise<void> {
  return writeGeoTiffAt(file, { data: new Uint8Array(PIXELS), width: W, height: H }, { epsg: 32633, origin: [500123.5, 4649776.25], pixel: 0.25 }, extra);
}

/** The TIFF's tag `from` renamed `to` in its first directory (same type and value): a tag the reader does not know. */
async function renameTag(file: string, from: number, to: number): Promise<void> {
  const b = await fsp.readFile(file);
  const le = b.toString('latin1', 0, 2) === 'II';
  const u16 = (at: number): number => (le ? b.readUInt16LE(at) : b.readUInt16BE(at));
  const ifd = le ? b.readUInt32LE(4) : b.readUInt32BE(4);
  let found = false;
  for (let k = 0, n = u16(ifd); k < n; k++) {
    const at = ifd + 2 + 12 * k;
    if (u16(at) === from) {
      if (le) b.writeUInt16LE(to, at);
      else b.writeUInt16BE(to, at);
      found = true;
    }
  }
  expect(found).toBe(true);
  await fsp.writeFile(file, b);
}

async function collection(file: string): Promise<Collection> {
  return JSON.parse(await fsp.readFile(file, 'utf8')) as Collection;
}

/** Every ring of a feature's geometry. */
function rings(f: Collection['features'][number]): number[][][] {
  if (f.geometry === null) return [];
  const c = f.geometry.coordinates as number[][][] | number[][][][];
  return f.geometry.type === 'Polygon' ? (c as number[][][]) : (c as number[][][][]).flat();
}

/** A closed ring the other way round, from the same first position (v0, v(n−1), …, v1, v0), as the writer turns rings. */
function reversed(r: number[][]): number[][] {
  return [r[0], ...r.slice(0, -1).reverse()];
}

const FLAGS = ['--model', MODEL, '--points-per-side', '8', '--date', 'none'];

describe('GeoJSON of a GeoTIFF', () => {
  it('is in the image CRS: every vertex the transform of its pixel corner, untiled and tiled; the masks read back exactly', async () => {
    const geoDir = path.join(tmp, 'geo-in');
    const pixDir = path.join(tmp, 'pix-in');
    await fsp.mkdir(geoDir, { recursive: true });
    await fsp.mkdir(pixDir, { recursive: true });
    await writeGeoTiff(path.join(geoDir, 'ortho.tif'));
    // The same pixels without georeferencing: the pixel-coordinate GeoJSON of the same masks.
    await sharp(PIXELS, { raw: { width: W, height: H, channels: 3 } }).png().toFile(path.join(pixDir, 'ortho.png'));
    const [a, b, c, d, e, f] = TRANSFORM;
    for (const tiled of [[], ['--tile', '96', '--tile-overlap', '16']]) {
      const geoOut = path.join(tmp, `geo${tiled.length}`);
      const pixOut = path.join(tmp, `pix${tiled.length}`);
      const r = await runCli([path.join(geoDir, 'ortho.tif'), ...FLAGS, ...tiled, '--format', 'geojson', '--out', geoOut]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toContain('warning');
      expect((await runCli([path.join(pixDir, 'ortho.png'), ...FLAGS, ...tiled, '--format', 'geojson', '--out', pixOut])).code).toBe(0);

      const map = await collection(path.join(geoOut, 'ortho.geojson'));
      const pix = await collection(path.join(pixOut, 'ortho.geojson'));
      expect(map.crs).toEqual(CRS_MEMBER);
      expect(map.image).toEqual({ file_name: 'ortho.tif', width: W, height: H, geo: { crs: 'EPSG:32633', transform: TRANSFORM } });
      expect(pix.crs).toBeUndefined();
      expect(map.features.length).toBe(pix.features.length);
      expect(map.features.length).toBeGreaterThan(2);
      map.features.forEach((mf, k) => {
        const pf = pix.features[k];
        expect(mf.properties).toEqual(pf.properties);
        const mr = rings(mf);
        const pr = rings(pf);
        expect(mr.length).toBe(pr.length);
        mr.forEach((ring, j) => {
          // Pixel corner (col, row) → (a·col + b·row + c, d·col + e·row + f), exactly (binary fractions).
          const mapped = pr[j].map(([col, row]) => [a * col + b * row + c, d * col + e * row + f]);
          expect(ring[0]).toEqual(mapped[0]);
          // The y axis flips, so each ring is written the other way round to keep RFC 7946's winding.
          expect(ring).toEqual(reversed(mapped));
        });
      });
      // One vertex by hand: the first mask's first vertex.
      const [col, row] = rings(pix.features[0])[0][0];
      expect(rings(map.features[0])[0][0]).toEqual([0.25 * col + 500123.5, 4649776.25 - 0.25 * row]);

      // Read back (compare, merge, report): mapped to pixels through the transform, the same masks as the pixel file.
      const counts = async (dir: string): Promise<string[]> => (await readMaskSet(dir)).images[0].annotations.map((an) => toCoco(an.rle).counts);
      expect(await counts(geoOut)).toEqual(await counts(pixOut));
    }
  }, 120_000);

  it('unusable georeferencing: a warning naming the file and why, the masks in pixel coordinates', async () => {
    const dir = path.join(tmp, 'bad-in');
    await fsp.mkdir(dir, { recursive: true });
    // A tie point without a pixel scale (ModelPixelScale, tag 33550, renamed to an unknown tag).
    await writeGeoTiff(path.join(dir, 'no-scale.tif'));
    await renameTag(path.join(dir, 'no-scale.tif'), 33550, 33551);
    // A pixel scale that is not a number.
    await writeGeoTiff(path.join(dir, 'nan.tif'), { ModelPixelScale: [Number.NaN, 0.25, 0] });
    // A transform that maps every pixel onto one line (singular): kept in the output's geo, unusable for GeoJSON.
    await writeGeoTiff(path.join(dir, 'flat.tif'), { ModelPixelScale: [0, 0.25, 0] });
    await sharp(PIXELS, { raw: { width: W, height: H, channels: 3 } }).png().toFile(path.join(dir, 'plain.png'));

    const out = path.join(tmp, 'bad');
    const r = await runCli([dir, ...FLAGS, '--format', 'geojson', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      'sam-amg: warning: no-scale.tif: georeferencing not used: it has a tie point (ModelTiepoint) but no pixel scale (ModelPixelScale); its masks are in pixel coordinates\n',
    );
    expect(r.stderr).toContain(
      'sam-amg: warning: nan.tif: georeferencing not used: its ModelTiepoint or ModelPixelScale holds a number that is not finite; its masks are in pixel coordinates\n',
    );
    expect(r.stderr).toContain(
      'sam-amg: warning: geojson: the georeferencing of 1 image cannot map pixels, so it is written in pixel coordinates: flat.tif (geotransform is singular (b·f − c·e = 0))\n',
    );
    // Nothing lost: every image has the masks of the same pixels as a PNG, in pixel coordinates, without a crs.
    const plain = await collection(path.join(out, 'plain.geojson'));
    expect(plain.features.length).toBeGreaterThan(2);
    for (const name of ['no-scale', 'nan', 'flat']) {
      const fc = await collection(path.join(out, `${name}.geojson`));
      expect(fc.crs).toBeUndefined();
      expect(fc.image).toEqual({ file_name: `${name}.tif`, width: W, height: H });
      expect(fc.features.map((ft) => ft.geometry)).toEqual(plain.features.map((ft) => ft.geometry));
    }
    // Tiled, the same warning.
    const tiled = await runCli([path.join(dir, 'no-scale.tif'), ...FLAGS, '--tile', '96', '--format', 'geojson', '--out', path.join(tmp, 'bad-tiled')]);
    expect(tiled.code).toBe(0);
    expect(tiled.stderr).toContain('sam-amg: warning: no-scale.tif: georeferencing not used: it has a tie point (ModelTiepoint) but no pixel scale (ModelPixelScale)');
    // A COCO output keeps the singular transform as read (its geo), and nothing for the others.
    const coco = path.join(tmp, 'bad.json');
    expect((await runCli([dir, ...FLAGS, '--out', coco, '--quiet'])).code).toBe(0);
    const images = (JSON.parse(await fsp.readFile(coco, 'utf8')) as { images: { file_name: string; geo?: unknown }[] }).images;
    expect(images.map((im) => [im.file_name, im.geo ?? null])).toEqual([
      ['flat.tif', { crs: 'EPSG:32633', transform: [0, 0, 500123.5, 0, -0.25, 4649776.25] }],
      ['nan.tif', null],
      ['no-scale.tif', null],
      ['plain.png', null],
    ]);
  }, 120_000);
});
