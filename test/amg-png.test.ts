/**
 * `--format amg-png`: the reference scripts/amg.py layout. Checked against the COCO output of the same run (the
 * PNGs' pixels are the decoded RLEs, rows follow the record order) and against Python's own `str()` of floats.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MaskRecord } from '../src/base/types.js';
import { AMG_PNG_HEADER, amgPngCsv, amgPngFolderFor, amgPngRow } from '../src/output/amg-png.js';
import type { AmgCocoAnnotation, CocoDocument } from '../src/output/coco.js';
import { parseCocoDocument } from '../src/output/coco-parse.js';
import { pythonFloatRepr, pythonIntStr } from '../src/output/python-number.js';
import { journalPathFor } from '../src/run/journal.js';
import { decodeToRowMajor, encodeRowMajor, fromCoco, type CocoRle } from '../src/rle/rle.js';
import { FAST, lineCount, runCli, spawnCli, waitForLines, writeShapeImages } from './helpers/batch.js';

let tmp: string;
let photos: string;
let coco: CocoDocument;
let amg: string;

beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sam-amg-amgpng-'));
  photos = path.join(tmp, 'photos');
  await writeShapeImages(photos, 3);
  await writeShapeImages(path.join(photos, 'sub'), 1, 80, 60);
  const cocoFile = path.join(tmp, 'masks.json');
  expect((await runCli([photos, ...FAST, '--out', cocoFile])).code).toBe(0);
  coco = parseCocoDocument(await fsp.readFile(cocoFile, 'utf8'), cocoFile);
  amg = path.join(tmp, 'amg');
  const r = await runCli([photos, ...FAST, '--format', 'amg-png', '--out', amg]);
  expect(r.stderr).toContain('4 images ok');
  expect(r.code).toBe(0);
});

afterAll(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

/** A PNG's IHDR: width, height, bit depth and colour type. */
function ihdr(png: Buffer): { width: number; height: number; depth: number; colourType: number } {
  expect(png.subarray(12, 16).toString('ascii')).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20), depth: png[24], colourType: png[25] };
}

describe('python number formatting', () => {
  it('writes floats as Python repr() does (values checked against CPython 3)', () => {
    const f32 = (x: number): number => Math.fround(x);
    const cases: [number, string][] = [
      [f32(0.96), '0.9599999785423279'],
      [f32(0.9), '0.8999999761581421'],
      [f32(0.93), '0.9300000071525574'],
      [1, '1.0'],
      [0, '0.0'],
      [-0, '-0.0'],
      [28, '28.0'],
      [12.5, '12.5'],
      [0.1, '0.1'],
      [1e-5, '1e-05'],
      [0.0001, '0.0001'],
      [0.00012345, '0.00012345'],
      [2.5e-7, '2.5e-07'],
      [5e-324, '5e-324'],
      [1e16, '1e+16'],
      [1e15 + 0.5, '1000000000000000.5'],
      [9999999999999998, '9999999999999998.0'],
      [1e16 + 2, '1.0000000000000002e+16'],
      [123456789012345678, '1.2345678901234568e+17'],
      [1.7976931348623157e308, '1.7976931348623157e+308'],
      [-3.5, '-3.5'],
      [-1e-10, '-1e-10'],
      [100, '100.0'],
      [1e22, '1e+22'],
      [3e21, '3e+21'],
      [0.1 + 0.2, '0.30000000000000004'],
      [1234.5678, '1234.5678'],
    ];
    for (const [x, py] of cases) expect(pythonFloatRepr(x), String(x)).toBe(py);
    expect(() => pythonFloatRepr(NaN)).toThrow('not finite');
    expect(pythonIntStr(42)).toBe('42');
    expect(pythonIntStr(-0)).toBe('0');
    expect(() => pythonIntStr(1.5, 'r.area')).toThrow('r.area is 1.5; expected an integer');
  });
});

describe('amg-png rows', () => {
  const mask = new Uint8Array(4 * 3);
  mask[5] = mask[6] = 1;
  const record: MaskRecord = {
    segmentation: encodeRowMajor(mask, 3, 4),
    area: 2,
    bbox: [1, 1, 1, 0],
    predictedIou: Math.fround(0.96),
    pointCoords: [28, 0.5],
    stabilityScore: 1,
    cropBox: [0, 0, 4, 3],
  };

  it('formats ints as ints and floats as Python floats, with no final newline', () => {
    expect(amgPngRow(record, 0)).toBe('0,2,1,1,1,0,28.0,0.5,0.9599999785423279,1.0,0,0,4,3');
    const csv = amgPngCsv({ relPath: 'a.png', width: 4, height: 3, records: [record, { ...record, stabilityScore: 1e-5 }] });
    expect(csv).toBe(`${AMG_PNG_HEADER}\n0,2,1,1,1,0,28.0,0.5,0.9599999785423279,1.0,0,0,4,3\n1,2,1,1,1,0,28.0,0.5,0.9599999785423279,1e-05,0,0,4,3`);
    expect(amgPngCsv({ relPath: 'a.png', width: 4, height: 3, records: [] })).toBe(AMG_PNG_HEADER);
    expect(() => amgPngRow({ ...record, predictedIou: NaN }, 3, 'x.png: record 3')).toThrow('x.png: record 3.predicted_iou is NaN');
  });

  it('names folders after the relative path without its extension and refuses names that leave the folder', () => {
    expect(amgPngFolderFor('/out', 'sub/b.jpg')).toBe(path.resolve('/out/sub/b'));
    expect(() => amgPngFolderFor('/out', '../b.jpg')).toThrow("'..' segment");
  });
});

describe('--format amg-png against the COCO output of the same run', () => {
  it('writes one folder per image with <i>.png masks equal to the RLEs and metadata.csv rows in record order', async () => {
    expect(coco.images.map((im) => im.file_name)).toEqual(['img-00.png', 'img-01.png', 'img-02.png', 'sub/img-00.png']);
    expect((await fsp.readdir(amg)).sort()).toEqual(['img-00', 'img-01', 'img-02', 'sub']);
    let masks = 0;
    for (const im of coco.images) {
      const folder = path.join(amg, im.file_name.replace(/\.png$/u, ''));
      const anns = coco.annotations.filter((a): a is AmgCocoAnnotation => a.image_id === im.id && 'point_coords' in a);
      expect(anns.length).toBeGreaterThan(0);
      const names = (await fsp.readdir(folder)).filter((n) => !(im.file_name === 'img-00.png' && n === 'sub')).sort();
      expect(names).toEqual([...anns.map((_, i) => `${i}.png`), 'metadata.csv'].sort());
      const csv = await fsp.readFile(path.join(folder, 'metadata.csv'), 'utf8');
      const rows = csv.split('\n');
      expect(rows[0]).toBe(AMG_PNG_HEADER);
      expect(csv.endsWith('\n')).toBe(false);
      expect(rows.length).toBe(anns.length + 1);
      for (const [i, a] of anns.entries()) {
        const png = await fsp.readFile(path.join(folder, `${i}.png`));
        expect(ihdr(png)).toEqual({ width: im.width, height: im.height, depth: 8, colourType: 0 });
        const raw = await sharp(png).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
        expect(raw.info.channels).toBe(1);
        const bits = decodeToRowMajor(fromCoco(a.segmentation as CocoRle));
        expect(Buffer.from(raw.data)).toEqual(Buffer.from(bits.map((b) => b * 255)));
        expect(raw.data.filter((v) => v === 255).length).toBe(a.area);
        const [x, y] = a.point_coords[0];
        const expected = [
          String(i),
          String(a.area),
          ...a.bbox.map(String),
          pythonFloatRepr(x),
          pythonFloatRepr(y),
          pythonFloatRepr(a.predicted_iou),
          pythonFloatRepr(a.stability_score),
          ...a.crop_box.map(String),
        ].join(',');
        expect(rows[i + 1]).toBe(expected);
        masks++;
      }
    }
    expect(masks).toBe(coco.annotations.length);
    // The run was complete: no journal, no error list.
    await expect(fsp.access(journalPathFor('amg-png', amg))).rejects.toThrow();
    await expect(fsp.access(path.join(amg, 'errors.json'))).rejects.toThrow();
  });

  it('a rerun over the same folder removes stale mask PNGs and keeps nothing else of the old run', async () => {
    const out = path.join(tmp, 'rerun');
    expect((await runCli([photos, ...FAST, '--format', 'amg-png', '--out', out, '--no-journal'])).code).toBe(0);
    const folder = path.join(out, 'img-01');
    const before = (await fsp.readdir(folder)).sort();
    await fsp.writeFile(path.join(folder, '999.png'), 'stale');
    await fsp.writeFile(path.join(folder, 'notes.txt'), 'mine');
    expect((await runCli([photos, ...FAST, '--format', 'amg-png', '--out', out, '--no-journal'])).code).toBe(0);
    expect((await fsp.readdir(folder)).sort()).toEqual([...before, 'notes.txt'].sort());
  });

  it('is journaled inside the folder: killed partway, then --resume, gives the same files without recomputing', async () => {
    const many = path.join(tmp, 'many');
    await writeShapeImages(many, 10);
    const clean = path.join(tmp, 'clean-amg');
    expect((await runCli([many, ...FAST, '--format', 'amg-png', '--out', clean, '--no-journal'])).code).toBe(0);
    const out = path.join(tmp, 'killed-amg');
    const journal = journalPathFor('amg-png', out);
    expect(journal).toBe(path.join(out, '.sam-amg.journal.jsonl'));
    const { child, done } = spawnCli([many, ...FAST, '--format', 'amg-png', '--out', out]);
    await waitForLines(journal, 3, child);
    child.kill('SIGKILL');
    await done;
    const finished = (await lineCount(journal)) - 1;
    expect(finished).toBeLessThan(10);
    // A journaled folder that went missing is rebuilt from the journal.
    await fsp.rm(path.join(out, 'img-00'), { recursive: true, force: true });
    const r = await runCli([many, ...FAST, '--format', 'amg-png', '--out', out, '--resume']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`resuming: ${finished} of 10 images already done`);
    expect(r.stderr.match(/^\[\d+\/10\] img-\d\d\.png: /gmu)?.length).toBe(10 - finished);
    const tree = async (dir: string): Promise<Record<string, string>> => {
      const o: Record<string, string> = {};
      for (const name of (await fsp.readdir(dir, { recursive: true })).sort()) {
        const p = path.join(dir, name);
        if ((await fsp.stat(p)).isFile()) o[name] = (await fsp.readFile(p)).toString('base64');
      }
      return o;
    };
    expect(await tree(out)).toEqual(await tree(clean));
  });
});
