/**
 * The polygon outputs without the model: the per-record encoder (COCO lists, holes filled or kept as RLE, what
 * simplification dropped), the YOLO label text and dataset files, the GeoJSON collections (pixel and map
 * coordinates), and the readers that turn each back into masks for compare, merge and report.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MaskRecord, Rle } from '../src/base/types.js';
import { cocoDocument, serializeCoco, type ImageResult, type RunInfo } from '../src/output/coco.js';
import { parseCocoDocument } from '../src/output/coco-parse.js';
import { crsMember, geoJsonText } from '../src/output/geojson.js';
import { mergedEncoding, mergedResults, mergeSets } from '../src/output/merge.js';
import { parseGeoJsonImage } from '../src/output/read-polygons.js';
import { parseMaskSet, readMaskSet, ReadError } from '../src/output/read.js';
import { CocoPolygonEncoder, MaskTracer, polygonNotes } from '../src/output/segmentation.js';
import { createSink } from '../src/output/sinks/index.js';
import { duplicateLabels, yoloDataYaml, yoloLabels } from '../src/output/yolo.js';
import { signedArea } from '../src/polygon/index.js';
import { rleArea, rleBoxXYXY, rleIou, toCoco, uncropRle } from '../src/rle/rle.js';
import { readUltralyticsSegmentLabels } from './oracle/ultralytics-labels.js';
import { fromArt } from './polygon/masks.js';

/** A record of `rle` with the fields a run writes (area and box from the mask). */
function recordOf(rle: Rle, score = 0.9): MaskRecord {
  const [x0, y0, x1, y1] = rleBoxXYXY(rle);
  return {
    segmentation: rle,
    area: rleArea(rle),
    bbox: [x0, y0, x1 - x0, y1 - y0],
    predictedIou: score,
    pointCoords: [x0 + 0.5, y0 + 0.5],
    stabilityScore: 0.96,
    cropBox: [0, 0, rle.w, rle.h],
  };
}

const INFO: Omit<RunInfo, 'errors'> = { version: '0.0.0-test', date: null, model: 'test-model', modelSha256: 'ab'.repeat(32), options: { points_per_side: 4 } };

/** The 3 × 3 ring with one hole, the example of docs/polygons.md. */
const RING = fromArt(['###', '#.#', '###']);
/** A 6 × 6 block and a lone pixel far from it: at 1 px the pixel's ring collapses (a unit square fits a 1-px band). */
const SPECK = fromArt(['######....', '######....', '######....', '######....', '######....', '######....', '..........', '.........#']);

let tmp: string;
beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sam-amg-polygon-output-'));
});
afterAll(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

describe('--segmentation polygon: the per-record encoder', () => {
  it('writes the outer ring of a mask with a hole (filled) and counts it; --polygon-holes rle keeps its RLE', () => {
    const fill = new CocoPolygonEncoder({ tolerance: 0, holes: 'fill' });
    const r = recordOf(RING.rle);
    expect(fill.encode(r)).toEqual({ segmentation: [[0, 0, 3, 0, 3, 3, 0, 3]] });
    fill.encode(r); // the same mask again is not counted twice
    expect(fill.tracer.tally).toMatchObject({ masks: 1, withHoles: 1, filled: 1, keptRle: 0, lossy: 0 });
    expect(fill.notes().map((n) => n.text)).toEqual([
      'polygons: 1 of 1 mask written have holes, written filled (COCO polygons cannot hold holes; --polygon-holes rle keeps such masks as RLE)',
    ]);
    const rle = new CocoPolygonEncoder({ tolerance: 0.5, holes: 'rle' });
    expect(rle.encode(r)).toEqual({ segmentation: toCoco(RING.rle) });
    expect(rle.encode(recordOf(fromArt(['.##', '.##']).rle))).toEqual({ segmentation: [[1, 0, 3, 0, 3, 2, 1, 2]] });
    expect(rle.tracer.tally).toMatchObject({ masks: 2, withHoles: 1, filled: 0, keptRle: 1 });
    expect(rle.info).toEqual({ type: 'polygon', tolerance: 0.5, holes: 'rle' });
  });

  it('says what simplification dropped, per record (polygon_loss) and in the closing line', () => {
    const enc = new CocoPolygonEncoder({ tolerance: 1, holes: 'fill' });
    const out = enc.encode(recordOf(SPECK.rle));
    expect(out.segmentation).toEqual([[0, 0, 6, 0, 6, 6, 0, 6]]);
    expect(out.polygon_loss).toEqual({ dropped_polygons: 1, dropped_holes: 0, vanished_parts: 1, lost_pixels: 1, added_pixels: 0 });
    // At the default 0.5 px nothing is dropped and the lone pixel stays a polygon.
    expect(new CocoPolygonEncoder({ tolerance: 0.5, holes: 'fill' }).encode(recordOf(SPECK.rle))).toEqual({
      segmentation: [
        [0, 0, 6, 0, 6, 6, 0, 6],
        [9, 7, 10, 7, 10, 8, 9, 8],
      ],
    });
    expect(enc.notes()).toEqual([
      {
        level: 'warn',
        text: 'polygons at --polygon-tolerance 1: 1 of 1 mask written lost 1 polygon (1 pixel) to simplification; 1 part of masks vanished entirely; each such record says so in polygon_loss',
      },
    ]);
  });

  it('keeps a mask whose every polygon collapses exactly as traced, and says so', () => {
    const t = new MaskTracer(2);
    const lone = fromArt(['..', '.#']);
    expect(t.trace(lone.rle).polygons.polygons.map((p) => Array.from(p.outer))).toEqual([[1, 1, 2, 1, 2, 2, 1, 2]]);
    expect(t.tally.keptExact).toBe(1);
    expect(polygonNotes(t.tally, { tolerance: 2, holes: 'rings', format: 'geojson', where: 'properties.polygon_loss' })).toEqual([
      {
        level: 'info',
        text: 'polygons: 1 of 1 mask written would have vanished at --polygon-tolerance 2 and are written unsimplified (their largest polygon, exactly)',
      },
    ]);
  });

  it('writes a COCO document with polygon lists and info.segmentation that reads back to the filled masks, area and bbox the mask\'s', () => {
    const m = uncropRle(RING.rle, 2, 1, 6, 8);
    const result: ImageResult = { relPath: 'a/x.jpg', width: 8, height: 6, records: [recordOf(m)] };
    const enc = new CocoPolygonEncoder({ tolerance: 0.5, holes: 'fill' });
    const text = serializeCoco(cocoDocument([result], { ...INFO }, { encoding: enc }));
    expect(text).toContain('"segmentation":{"type":"polygon","tolerance":0.5,"holes":"fill"}');
    expect(text).toContain('{"id":1,"image_id":1,"category_id":1,"iscrowd":0,"segmentation":[[2,1,5,1,5,4,2,4]],"area":8,"bbox":[2,1,2,2],');
    const set = parseMaskSet(text, 'poly.json');
    expect(set.info?.segmentation).toEqual({ type: 'polygon', tolerance: 0.5, holes: 'fill' });
    const a = set.images[0].annotations[0];
    expect(a.area).toBe(8);
    expect(rleArea(a.rle)).toBe(9);
    expect(toCoco(a.rle).counts).toBe(toCoco(uncropRle(fromArt(['###', '###', '###']).rle, 2, 1, 6, 8)).counts);
  });
});

describe('YOLO labels and dataset files', () => {
  it('writes one line per mask in record order, and counts the lines Ultralytics drops as duplicate boxes', () => {
    const a = fromArt(['....', '.##.', '.##.']);
    // Same box as `a` (1..3 × 1..3), different pixels: Ultralytics sees the same (class, box).
    const b = fromArt(['....', '.#..', '.##.']);
    const result: ImageResult = { relPath: 'x.jpg', width: 4, height: 3, records: [recordOf(a.rle), recordOf(b.rle)] };
    const labels = yoloLabels(result, new MaskTracer(0));
    expect(labels.text).toBe(
      '0 0.250000 0.333333 0.750000 0.333333 0.750000 1.000000 0.250000 1.000000\n' +
        '0 0.250000 0.333333 0.500000 0.333333 0.500000 0.666667 0.750000 0.666667 0.750000 1.000000 0.250000 1.000000\n',
    );
    expect(labels).toMatchObject({ lines: 2, duplicates: 1, skipped: 0 });
    const oracle = readUltralyticsSegmentLabels(labels.text, 1);
    expect(oracle.duplicatesRemoved).toBe(1);
    expect(duplicateLabels(labels.text.trim().split('\n').slice(0, 1))).toBe(0);
  });

  it('names the dataset root, the image folder and the one class in data.yaml', () => {
    expect(yoloDataYaml('/data/my ds: "x"')).toBe(
      [
        '# YOLO segmentation dataset written by sam-amg',
        '# labels/<image path>.txt holds the masks of images/<image path> (links to the inputs), one line per mask;',
        '# train and val are the same images: split them for training. Delete `path` when moving the folder.',
        'path: "/data/my ds: \\"x\\""',
        'train: images',
        'val: images',
        'names:',
        '  0: object',
        '',
      ].join('\n'),
    );
  });
});

describe('GeoJSON collections', () => {
  const result: ImageResult = { relPath: 'tile.tif', width: 3, height: 3, records: [recordOf(RING.rle)] };

  it('writes pixel coordinates with holes as interior rings and the record\'s fields as properties', () => {
    const text = geoJsonText(result, new MaskTracer(0.5));
    expect(text).toBe(
      '{"type":"FeatureCollection","image":{"file_name":"tile.tif","width":3,"height":3},"features":[\n' +
        '{"type":"Feature","id":1,"geometry":{"type":"Polygon","coordinates":[[[0,0],[3,0],[3,3],[0,3],[0,0]],[[1,1],[1,2],[2,2],[2,1],[1,1]]]},' +
        '"properties":{"id":1,"bbox":[0,0,2,2],"area":8,"predicted_iou":0.9,"point_coords":[[0.5,0.5]],"crop_box":[0,0,3,3],"stability_score":0.96}}\n' +
        ']}\n',
    );
    const back = parseGeoJsonImage(text, 'tile.geojson');
    expect(toCoco(back.annotations[0].rle).counts).toBe(toCoco(RING.rle).counts);
    expect(back.annotations[0]).toMatchObject({ id: 1, area: 8, predicted_iou: 0.9, point_coords: [[0.5, 0.5]] });
  });

  it('maps a georeferenced image into its CRS, names it as GDAL reads it, winds RFC 7946-wise, and maps back', () => {
    // 10 m pixels, north up, top-left corner at (500000, 4000000) in UTM 33N.
    const geo = { crs: 'EPSG:32633', transform: [10, 0, 500000, 0, -10, 4000000] as [number, number, number, number, number, number] };
    const text = geoJsonText({ ...result, geo }, new MaskTracer(0));
    const doc = JSON.parse(text) as {
      crs: unknown;
      image: unknown;
      features: { geometry: { coordinates: number[][][] } }[];
    };
    expect(doc.crs).toEqual({ type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::32633' } });
    expect(doc.image).toEqual({ file_name: 'tile.tif', width: 3, height: 3, geo });
    const [outer, hole] = doc.features[0].geometry.coordinates;
    expect(outer).toEqual([
      [500000, 4000000],
      [500000, 3999970],
      [500030, 3999970],
      [500030, 4000000],
      [500000, 4000000],
    ]);
    expect(signedArea(outer.slice(0, -1).flat())).toBeGreaterThan(0);
    expect(signedArea(hole.slice(0, -1).flat())).toBeLessThan(0);
    const back = parseGeoJsonImage(text, 'tile.geojson');
    expect(toCoco(back.annotations[0].rle).counts).toBe(toCoco(RING.rle).counts);
    expect(crsMember('EPSG:4326')).toEqual({ type: 'name', properties: { name: 'urn:ogc:def:crs:OGC:1.3:CRS84' } });
    expect(crsMember(null)).toBeNull();
  });

  it('refuses map coordinates it cannot map back, naming the file', () => {
    const text = geoJsonText({ ...result, geo: { crs: 'EPSG:32633', transform: [10, 0, 500000, 0, -10, 4000000] } }, new MaskTracer(0));
    const noTransform = text.replace(/,"geo":\{[^}]*\]\}/u, '');
    expect(() => parseGeoJsonImage(noTransform, 'x.geojson')).toThrow(
      'x.geojson: not a sam-amg GeoJSON output: coordinates in a named CRS ("crs") but no image.geo transform to map them back to pixels',
    );
    const singular = text.replace('"transform":[10,0,500000,0,-10,4000000]', '"transform":[0,0,500000,0,-10,4000000]');
    expect(() => parseGeoJsonImage(singular, 'x.geojson')).toThrow('image.geo.transform: singular (a·e − b·d = 0), cannot map back to pixels');
  });

  it('writes an image whose georeferencing cannot map pixels in pixel coordinates, and names it at the end', async () => {
    const dir = path.join(tmp, 'bad-geo');
    const sink = createSink({ format: 'geojson', out: dir, label: dir, streamed: false });
    const bad: ImageResult = { ...result, geo: { crs: 'EPSG:32633', transform: [10, 0, 500000, 0, 0, 4000000] } };
    await sink.begin([]);
    await sink.add(bad, 0);
    const done = await sink.finish([bad], []);
    expect(await fsp.readFile(path.join(dir, 'tile.geojson'), 'utf8')).toBe(geoJsonText(result, new MaskTracer(0.5)));
    expect(done.notes?.map((n) => n.text)).toEqual([
      'geojson: the georeferencing of 1 image cannot map pixels, so it is written in pixel coordinates: tile.tif (geotransform is singular (b·f − c·e = 0))',
    ]);
  });
});

describe('reading polygon outputs back', () => {
  const a = uncropRle(fromArt(['###', '#.#', '###']).rle, 1, 1, 6, 8);
  const b = uncropRle(fromArt(['##', '##']).rle, 5, 3, 6, 8);
  const results: ImageResult[] = [
    { relPath: 'p/x.png', width: 8, height: 6, records: [recordOf(a, 0.95), recordOf(b, 0.91)] },
    { relPath: 'q/x.png', width: 8, height: 6, records: [recordOf(b, 0.9)] },
  ];

  async function write(format: 'yolo' | 'geojson' | 'sa1b', dir: string): Promise<void> {
    const sink = createSink({ format, out: dir, label: dir, info: INFO, streamed: false, polygons: { tolerance: 0.5, holes: 'fill' } });
    await sink.begin([]);
    for (const [i, r] of results.entries()) await sink.add(r, i);
    const done = await sink.finish(results, []);
    expect(done.outputError).toBeUndefined();
  }

  it('reads a YOLO dataset with its sizes from info.json: masks filled, ids = line numbers, no scores', async () => {
    const dir = path.join(tmp, 'ds');
    await write('yolo', dir);
    expect(await fsp.readFile(path.join(dir, 'labels/p/x.txt'), 'utf8')).toBe(
      '0 0.125000 0.166667 0.500000 0.166667 0.500000 0.666667 0.125000 0.666667\n0 0.625000 0.500000 0.875000 0.500000 0.875000 0.833333 0.625000 0.833333\n',
    );
    const set = await readMaskSet(dir);
    expect(set).toMatchObject({ format: 'yolo', unscored: true });
    expect(set.info?.segmentation).toEqual({ type: 'polygon', tolerance: 0.5, holes: 'fill' });
    expect(set.images.map((im) => [im.file_name, im.width, im.height, im.annotations.map((x) => [x.id, x.area])])).toEqual([
      ['p/x.png', 8, 6, [[1, 9], [2, 4]]],
      ['q/x.png', 8, 6, [[1, 4]]],
    ]);
    expect(rleIou(set.images[0].annotations[1].rle, b)).toBe(1);
  });

  it('reads a GeoJSON folder exactly (holes kept) and an SA-1B folder of polygon lists', async () => {
    const gdir = path.join(tmp, 'gj');
    await write('geojson', gdir);
    const g = await readMaskSet(gdir);
    expect(g.format).toBe('geojson');
    expect(g.images.map((im) => im.annotations.map((x) => toCoco(x.rle).counts))).toEqual([[toCoco(a).counts, toCoco(b).counts], [toCoco(b).counts]]);
    expect(g.images[0].annotations[0].predicted_iou).toBe(0.95);
    const sdir = path.join(tmp, 'sa1b');
    await write('sa1b', sdir);
    const s = await readMaskSet(sdir);
    expect(s.images[0].annotations[0].segmentation).toEqual([[1, 1, 4, 1, 4, 4, 1, 4]]);
  });

  it('names the file and the line of a bad YOLO label, and a dataset without info.json', async () => {
    const dir = path.join(tmp, 'bad-ds');
    await write('yolo', dir);
    await fsp.writeFile(path.join(dir, 'labels/q/x.txt'), '0 0.1 0.2 0.3\n');
    await expect(readMaskSet(dir)).rejects.toThrow(`${path.join(dir, 'labels/q/x.txt')}:1: 3 coordinates, expected x, y pairs`);
    await fsp.rm(path.join(dir, 'info.json'));
    await expect(readMaskSet(dir)).rejects.toThrow(ReadError);
    await expect(readMaskSet(dir)).rejects.toThrow("a YOLO dataset without sam-amg's info.json, so the images' sizes are unknown");
  });

  it('merges polygon outputs keeping each record\'s polygons (never re-traced), and refuses YOLO and GeoJSON inputs', async () => {
    const enc = new CocoPolygonEncoder({ tolerance: 1, holes: 'fill' });
    const withSpeck: ImageResult = { relPath: 's.png', width: 10, height: 8, records: [recordOf(SPECK.rle)] };
    const text = serializeCoco(cocoDocument([withSpeck], { ...INFO }, { encoding: enc }));
    expect(text).toContain('"polygon_loss":{"dropped_polygons":1,"dropped_holes":0,"vanished_parts":1,"lost_pixels":1,"added_pixels":0}');
    const merged = mergeSets([parseMaskSet(text, 'a.json')]);
    const again = serializeCoco(cocoDocument(mergedResults(merged), { ...INFO, segmentation: merged.info?.segmentation }, { encoding: mergedEncoding(merged) }));
    expect(again).toBe(text);
    expect(() => mergeSets([{ format: 'yolo', prompted: false, path: 'ds', images: [], unscored: true }])).toThrow('cannot merge ds: a YOLO dataset holds no scores');
  });

  it('reads a COCO file whose polygon list is malformed as a clear error', () => {
    const text = serializeCoco(cocoDocument([results[1]], { ...INFO }, { encoding: new CocoPolygonEncoder({ tolerance: 0, holes: 'fill' }) }));
    expect(() => parseMaskSet(text.replace('[[5,3,7,3,7,5,5,5]]', '[[5,3,7,3]]'), 'c.json')).toThrow(
      'annotations[0].segmentation[0]: expected at least 3 x, y pairs, got 4 numbers',
    );
    expect(parseCocoDocument(text, 'c.json').annotations[0].segmentation).toEqual([[5, 3, 7, 3, 7, 5, 5, 5]]);
  });
});
