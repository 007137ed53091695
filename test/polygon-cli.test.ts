/**
 * Polygon outputs end to end from the CLI with the fixture model: a YOLO dataset (files, links, data.yaml, the
 * Ultralytics reader, resume), GeoJSON, `--segmentation polygon`, compare against the RLE output, merge of shards,
 * the report's data, and every refused flag combination.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCocoDocument } from '../src/output/coco-parse.js';
import { readMaskSet } from '../src/output/read.js';
import { toCoco } from '../src/rle/rle.js';
import { buildReport } from '../src/report/build.js';
import type { ReportIndex } from '../src/report/data.js';
import { FAST, runCli, writeShapeImages } from './helpers/batch.js';
import { readUltralyticsSegmentLabels } from './oracle/ultralytics-labels.js';

let tmp: string;
let photos: string;
/** The RLE output of the same run, the reference every polygon output is compared with. */
let ref: string;

beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sam-amg-polygon-cli-'));
  photos = path.join(tmp, 'photos');
  // Two img-00.png in different folders: their labels must not collide.
  await writeShapeImages(path.join(photos, 'a'), 2, 64, 48);
  await writeShapeImages(path.join(photos, 'b'), 1, 72, 40);
  ref = path.join(tmp, 'ref.json');
  expect((await runCli([photos, ...FAST, '--out', ref])).code).toBe(0);
});

afterAll(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

/** Masks per image of the reference output. */
async function refCounts(): Promise<Map<string, number>> {
  const doc = parseCocoDocument(await fsp.readFile(ref, 'utf8'), ref);
  return new Map(doc.images.map((im) => [im.file_name, doc.annotations.filter((a) => a.image_id === im.id).length]));
}

describe('--format yolo', () => {
  it('writes labels/<relative path>.txt, links under images/, data.yaml and info.json that Ultralytics and compare read', async () => {
    const ds = path.join(tmp, 'ds');
    const r = await runCli([photos, ...FAST, '--format', 'yolo', '--out', ds]);
    expect(r.code).toBe(0);
    const files = (await fsp.readdir(ds, { recursive: true })).map((f) => f.split(path.sep).join('/')).sort();
    expect(files).toEqual([
      'data.yaml',
      'images',
      'images/a',
      'images/a/img-00.png',
      'images/a/img-01.png',
      'images/b',
      'images/b/img-00.png',
      'info.json',
      'labels',
      'labels/a',
      'labels/a/img-00.txt',
      'labels/a/img-01.txt',
      'labels/b',
      'labels/b/img-00.txt',
    ]);
    for (const rel of ['a/img-00.png', 'a/img-01.png', 'b/img-00.png']) {
      expect(await fsp.realpath(path.join(ds, 'images', rel))).toBe(await fsp.realpath(path.join(photos, rel)));
    }
    expect(await fsp.readFile(path.join(ds, 'data.yaml'), 'utf8')).toContain(`path: ${JSON.stringify(ds)}\ntrain: images\nval: images\nnames:\n  0: object\n`);
    const counts = await refCounts();
    for (const [name, n] of counts) {
      const text = await fsp.readFile(path.join(ds, 'labels', name.replace(/\.png$/u, '.txt')), 'utf8');
      expect(text.split('\n').length - 1).toBe(n);
      // Ultralytics' reader takes every line (1 class), dropping only rows it sees as duplicates, which the run warned about.
      const parsed = readUltralyticsSegmentLabels(text, 1);
      expect(parsed.labels.length + parsed.duplicatesRemoved).toBe(n);
      if (parsed.duplicatesRemoved > 0) expect(r.stderr).toContain(`${name} (${parsed.duplicatesRemoved})`);
    }
    const info = JSON.parse(await fsp.readFile(path.join(ds, 'info.json'), 'utf8')) as { images: unknown[]; info: { segmentation: unknown } };
    expect(info.images).toEqual([
      { file_name: 'a/img-00.png', width: 64, height: 48, label: 'labels/a/img-00.txt' },
      { file_name: 'a/img-01.png', width: 65, height: 48, label: 'labels/a/img-01.txt' },
      { file_name: 'b/img-00.png', width: 72, height: 40, label: 'labels/b/img-00.txt' },
    ]);
    expect(info.info.segmentation).toEqual({ type: 'polygon', tolerance: 0.5, holes: 'fill' });

    // The same masks as COCO polygon lists: YOLO's joined paths rasterise to exactly the same pixels.
    const poly = path.join(tmp, 'poly.json');
    expect((await runCli([photos, ...FAST, '--segmentation', 'polygon', '--out', poly])).code).toBe(0);
    expect((await runCli(['compare', poly, ds, '--min-iou', '1'])).code).toBe(0);
    const yolo = await readMaskSet(ds);
    const coco = await readMaskSet(poly);
    const masks = (set: typeof yolo): string[][] => set.images.map((im) => im.annotations.map((a) => toCoco(a.rle).counts));
    expect(masks(yolo)).toEqual(masks(coco));
    // Against the RLE output, a mask matches its filled self; compare does not fail on the missing scores.
    const vsRle = await runCli(['compare', ref, ds, '--min-iou', '0.5']);
    expect(vsRle.code).toBe(0);
  });

  it('uses an input that is already DATASET/images/<path> where it is (the Ultralytics layout), without --force', async () => {
    const ds = path.join(tmp, 'ul');
    await writeShapeImages(path.join(ds, 'images'), 1, 64, 48);
    const r = await runCli([path.join(ds, 'images'), ...FAST, '--format', 'yolo', '--out', ds]);
    expect(r.code, r.stderr).toBe(0);
    expect((await fsp.lstat(path.join(ds, 'images/img-00.png'))).isFile()).toBe(true);
    expect((await fsp.readdir(path.join(ds, 'labels'))).sort()).toEqual(['img-00.txt']);
  });

  it('resumes: a lost label and link come back byte for byte; other polygon options refuse the journal', async () => {
    const tree = path.join(tmp, 'resume-in');
    await writeShapeImages(tree, 2, 64, 48);
    await fsp.writeFile(path.join(tree, 'broken.png'), 'nope');
    const ds = path.join(tmp, 'resume-ds');
    const first = await runCli([tree, ...FAST, '--format', 'yolo', '--out', ds]);
    expect(first.code).toBe(1);
    expect(first.stderr).toContain('rerun with --resume to retry only the failed images');
    const label = path.join(ds, 'labels/img-01.txt');
    const before = await fsp.readFile(label, 'utf8');
    await fsp.rm(label);
    await fsp.rm(path.join(ds, 'images/img-00.png'));
    const again = await runCli([tree, ...FAST, '--format', 'yolo', '--out', ds, '--resume']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('resuming: 2 of 3 images already done');
    expect(await fsp.readFile(label, 'utf8')).toBe(before);
    expect(await fsp.realpath(path.join(ds, 'images/img-00.png'))).toBe(await fsp.realpath(path.join(tree, 'img-00.png')));
    expect(JSON.parse(await fsp.readFile(path.join(ds, 'errors.json'), 'utf8'))).toEqual({
      errors: [{ file: 'broken.png', stage: 'decode', message: 'not a supported image' }],
    });
    const other = await runCli([tree, ...FAST, '--format', 'yolo', '--out', ds, '--resume', '--polygon-tolerance', '1']);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('polygons: {"tolerance":0.5} ≠ {"tolerance":1}');
  });
});

describe('--format geojson and --segmentation polygon', () => {
  it('GeoJSON keeps holes: every mask reads back exactly (IoU 1 with the RLE output)', async () => {
    const out = path.join(tmp, 'gj');
    expect((await runCli([photos, ...FAST, '--format', 'geojson', '--out', out])).code).toBe(0);
    expect((await fsp.readdir(out, { recursive: true })).map((f) => f.split(path.sep).join('/')).sort()).toEqual([
      'a',
      'a/img-00.geojson',
      'a/img-01.geojson',
      'b',
      'b/img-00.geojson',
    ]);
    const c = await runCli(['compare', ref, out, '--min-iou', '1']);
    expect(c.code).toBe(0);
  });

  it('merged polygon shards are the bytes of the single run', async () => {
    const single = path.join(tmp, 'single-poly.json');
    expect((await runCli([photos, ...FAST, '--segmentation', 'polygon', '--polygon-tolerance', '1', '--out', single])).code).toBe(0);
    const shards = [0, 1].map((k) => path.join(tmp, `shard-${k}.json`));
    for (const [k, s] of shards.entries()) {
      expect((await runCli([photos, ...FAST, '--segmentation', 'polygon', '--polygon-tolerance', '1', '--shard', `${k}/2`, '--out', s])).code).toBe(0);
    }
    const merged = path.join(tmp, 'merged-poly.json');
    const m = await runCli(['merge', merged, ...shards]);
    expect(m.code).toBe(0);
    expect(await fsp.readFile(merged, 'utf8')).toBe(await fsp.readFile(single, 'utf8'));
    // An RLE shard does not merge with polygon shards.
    const rleShard = path.join(tmp, 'shard-rle.json');
    expect((await runCli([photos, ...FAST, '--shard', '1/2', '--out', rleShard])).code).toBe(0);
    const bad = await runCli(['merge', path.join(tmp, 'mixed.json'), shards[0], rleShard]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('were made with different segmentations: {"type":"polygon","tolerance":1,"holes":"fill"} vs "rle"');
  });

  it('the report reads a YOLO dataset: its masks drawn, no mean predicted IoU', async () => {
    const assets = path.join(tmp, 'assets');
    await fsp.mkdir(assets, { recursive: true });
    for (const f of ['index.html', 'report.js', 'report.css']) await fsp.writeFile(path.join(assets, f), '');
    const out = path.join(tmp, 'report');
    const r = await buildReport({ outputs: [path.join(tmp, 'ds')], out, images: photos, assetsDir: assets });
    expect(r.masks).toBe([...(await refCounts()).values()].reduce((s, n) => s + n, 0));
    const index = await fsp.readFile(path.join(out, 'data/index.js'), 'utf8');
    const data = JSON.parse(index.slice(index.indexOf('(') + 1, -3)) as ReportIndex;
    expect(data.outputs[0].format).toBe('yolo');
    expect(data.images.map((im) => im.iou)).toEqual([[null], [null], [null]]);
  });
});

describe('refused flags', () => {
  const cases: [string, string[], string][] = [
    [
      'yolo to stdout',
      ['--format', 'yolo', '--out', '-'],
      'sam-amg: --format yolo writes a dataset folder (labels/, images/, data.yaml) that training reads from disk: give --out a folder, not - (stdout)\n',
    ],
    ['a tolerance above the bound', ['--format', 'geojson', '--out', 'x', '--polygon-tolerance', '17'], 'sam-amg: --polygon-tolerance must be a number in [0, 16], got 17\n'],
    ['a negative tolerance', ['--segmentation', 'polygon', '--out', 'x.json', '--polygon-tolerance', '-0.5'], 'sam-amg: --polygon-tolerance must be a number in [0, 16], got -0.5\n'],
    [
      'a tolerance without polygons',
      ['--out', 'x.json', '--polygon-tolerance', '1'],
      'sam-amg: --polygon-tolerance applies to polygon output: add --segmentation polygon, or use --format yolo or geojson\n',
    ],
    [
      '--polygon-holes for YOLO',
      ['--format', 'yolo', '--out', 'x', '--polygon-holes', 'rle'],
      "sam-amg: --polygon-holes: YOLO segments hold neither holes nor RLE, so a YOLO dataset always has its masks' holes filled (drop --polygon-holes)\n",
    ],
    [
      '--segmentation for GeoJSON',
      ['--format', 'geojson', '--out', 'x', '--segmentation', 'polygon'],
      'sam-amg: --segmentation applies to coco, sa1b and jsonl; --format geojson always writes polygons (drop --segmentation)\n',
    ],
  ];
  it.each(cases)('%s', async (_name, flags, message) => {
    const r = await runCli([photos, '--model', 'nowhere', ...flags]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(message);
  });
});
