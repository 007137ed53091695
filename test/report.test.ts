/**
 * `sam-amg report` on the Node side: the data files, photos and thumbnails it writes for each output format, two
 * outputs matched as `compare` matches them, missing photos, refused folders, and `--report` on a run. What the
 * page does with the files is tested in a real browser (test/browser).
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReportImageData, ReportIndex } from '../src/report/data.js';
import { REPORT_MARKER } from '../src/report/data.js';
import { decodeToRowMajor, fromCoco } from '../src/rle/rle.js';
import { buildWeb } from '../scripts/build-web.js';
import { inside, SCENES, scenesB, synthResult, writeOutput, writePhotos, type SynthImage } from './browser/synthetic.js';
import { FAST, runCli, writeShapeImages } from './helpers/batch.js';

let tmp: string;
let photos: string;

beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sam-amg-report-'));
  photos = path.join(tmp, 'photos');
  await writePhotos(SCENES, photos);
  // The CLI copies the page from dist/web/report.
  await buildWeb();
});

afterAll(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

/** Runs one data script's call and returns its arguments. */
async function readData<T>(file: string, call: 'index' | 'image'): Promise<T> {
  const text = await fsp.readFile(file, 'utf8');
  const prefix = `samReport.${call}(`;
  expect(text.startsWith(prefix)).toBe(true);
  expect(text.endsWith(');\n')).toBe(true);
  const args = JSON.parse(`[${text.slice(prefix.length, -3)}]`) as unknown[];
  return args[args.length - 1] as T;
}

function union(im: SynthImage): number {
  let n = 0;
  for (let y = 0; y < im.height; y++) for (let x = 0; x < im.width; x++) if (im.masks.some((m) => inside(m.shape, x, y))) n++;
  return n / (im.width * im.height);
}

describe('sam-amg report', () => {
  it('writes the same report from a COCO file, an SA-1B folder and a JSONL file', async () => {
    const reports: { index: ReportIndex; images: ReportImageData[] }[] = [];
    for (const format of ['coco', 'sa1b', 'jsonl'] as const) {
      const output = await writeOutput(SCENES, format, path.join(tmp, `out-${format}${format === 'sa1b' ? '' : '.json'}`));
      const dir = path.join(tmp, `report-${format}`);
      const r = await runCli(['report', output, '--images', photos, '--out', dir]);
      // The run's prefix and its one duration format (src/output/text.ts fmtDuration: 340 ms, 4.25 s, 12.3 s, 3 min 07 s).
      expect(r.stderr).toMatch(/^sam-amg: report: 3 images, 7 masks → .*index\.html \((\d+ ms|\d+\.\d\d? s|\d+ min \d\d s)\)\n$/u);
      expect(r.code).toBe(0);
      const names = (await fsp.readdir(dir)).sort();
      expect(names).toEqual([REPORT_MARKER, 'data', 'index.html', 'photos', 'report.css', 'report.js', 'thumbs'].sort());
      const index = await readData<ReportIndex>(path.join(dir, 'data/index.js'), 'index');
      const images: ReportImageData[] = [];
      for (let n = 0; n < 3; n++) images.push(await readData<ReportImageData>(path.join(dir, `data/images/${n}.js`), 'image'));
      reports.push({ index, images });
      expect(index.outputs).toEqual([{ label: path.basename(output), path: output, format, images: 3, masks: 7, model: format === 'coco' ? 'synthetic' : null }]);
    }
    const [coco, sa1b, jsonl] = reports;
    // Image-level numbers, checked against the shapes themselves.
    expect(coco.index.images.map((im) => [im.name, im.w, im.h, im.masks[0]])).toEqual([
      ['scene-a.png', 160, 120, 4],
      ['scene-b.png', 120, 90, 2],
      ['sub/scene-c.png', 100, 100, 1],
    ]);
    expect(coco.index.images[0].iou[0]).toBeCloseTo((0.95 + 0.8 + 0.92 + 0.99) / 4, 12);
    SCENES.forEach((im, n) => expect(coco.index.images[n].cover[0]).toBeCloseTo(union(im), 12));
    expect(coco.index.compare).toBeNull();
    expect(coco.index.problems).toEqual([]);
    for (const other of [sa1b, jsonl]) expect(other.index.images).toEqual(coco.index.images);
    // Per-image data: the output's RLE strings as they are; ids as each format numbers them.
    for (const [n, im] of SCENES.entries()) {
      const expected = synthResult(im);
      const d = coco.images[n];
      expect([d.index, d.file_name, d.width, d.height, d.photo, d.photo_size]).toEqual([n, im.name, im.width, im.height, `photos/${n}.jpg`, [im.width, im.height]]);
      const masks = d.sides[0].masks ?? [];
      expect(masks.map((m) => m.area)).toEqual(expected.records.map((r) => r.area));
      for (const [i, m] of masks.entries()) {
        expect(Array.from(decodeToRowMajor(fromCoco({ size: [im.height, im.width], counts: m.counts })))).toEqual(Array.from(decodeToRowMajor(expected.records[i].segmentation)));
      }
      for (const other of [sa1b, jsonl]) {
        const om = other.images[n].sides[0].masks ?? [];
        expect(om.map((m) => ({ ...m, id: 0 }))).toEqual(masks.map((m) => ({ ...m, id: 0 })));
        expect(om.map((m) => m.id)).toEqual(masks.map((_, i) => i + 1));
      }
    }
    expect(coco.images[1].sides[0].masks?.map((m) => m.id)).toEqual([5, 6]);
    // Photos at the output's size, thumbnails within 256 px.
    const dir = path.join(tmp, 'report-coco');
    // Same inputs, same bytes.
    const again = path.join(tmp, 'report-coco-again');
    expect((await runCli(['report', path.join(tmp, 'out-coco.json'), '--images', photos, '--out', again, '--quiet'])).code).toBe(0);
    const tree = async (root: string): Promise<Record<string, string>> => {
      const o: Record<string, string> = {};
      for (const name of (await fsp.readdir(root, { recursive: true })).sort()) {
        const p = path.join(root, name);
        if ((await fsp.stat(p)).isFile()) o[name] = (await fsp.readFile(p)).toString('base64');
      }
      return o;
    };
    expect(await tree(again)).toEqual(await tree(dir));
    for (const [n, im] of SCENES.entries()) {
      const photo = await sharp(path.join(dir, `photos/${n}.jpg`)).metadata();
      expect([photo.format, photo.width, photo.height]).toEqual(['jpeg', im.width, im.height]);
      const thumb = await sharp(path.join(dir, `thumbs/${n}.jpg`)).metadata();
      expect(Math.max(thumb.width ?? 0, thumb.height ?? 0)).toBeLessThanOrEqual(256);
    }
  });

  it('two outputs: masks are matched as compare matches them; missed and extra are marked', async () => {
    const a = await writeOutput(SCENES, 'coco', path.join(tmp, 'a.json'));
    const b = await writeOutput(scenesB(), 'jsonl', path.join(tmp, 'b.jsonl'));
    const dir = path.join(tmp, 'report-ab');
    const r = await runCli(['report', a, b, '--images', photos, '--out', dir, '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const index = await readData<ReportIndex>(path.join(dir, 'data/index.js'), 'index');
    expect(index.compare).toEqual({ min_iou: 0.9, matched: 6, missed: 1, extra: 1, recall: 6 / 7 });
    expect(index.outputs.map((o) => [o.label, o.format, o.masks])).toEqual([
      ['A', 'coco', 7],
      ['B', 'jsonl', 7],
    ]);
    expect(index.images.map((im) => [im.masks, im.missed, im.extra])).toEqual([
      [[4, 4], 1, 1],
      [[2, 2], 0, 0],
      [[1, 1], 0, 0],
    ]);
    const d = await readData<ReportImageData>(path.join(dir, 'data/images/0.js'), 'image');
    expect(d.sides.map((s) => s.label)).toEqual(['A', 'B']);
    // A: 1 ↔ B 1, A 2 missed, A 3 ↔ B 2, A 4 ↔ B 3; B 4 extra.
    expect(d.sides[0].masks?.map((m) => [m.id, m.match, m.match_iou])).toEqual([
      [1, 0, 1],
      [2, -1, undefined],
      [3, 1, 1],
      [4, 2, 1],
    ]);
    expect(d.sides[1].masks?.map((m) => [m.id, m.match])).toEqual([
      [1, 0],
      [2, 2],
      [3, 3],
      [4, -1],
    ]);
  });

  it('reports missing and mismatched photos (exit 1), refuses a folder that is not a report (exit 2), replaces an earlier report', async () => {
    const output = await writeOutput(SCENES, 'coco', path.join(tmp, 'p.json'));
    const partial = path.join(tmp, 'partial-photos');
    await writePhotos(SCENES.slice(0, 1), partial);
    // scene-b's photo has the wrong size.
    await writePhotos([{ ...SCENES[1], width: 50 }], partial);
    const dir = path.join(tmp, 'report-p');
    const r = await runCli(['report', output, '--images', partial, '--out', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`sam-amg: report: scene-b.png: ${path.join(partial, 'scene-b.png')} is 50x90 but the output says 120x90; shown without the photo`);
    expect(r.stderr).toContain(`sam-amg: report: sub/scene-c.png: no photo at ${path.join(partial, 'sub/scene-c.png')} (no such file or directory)\n`);
    const index = await readData<ReportIndex>(path.join(dir, 'data/index.js'), 'index');
    expect(index.problems.map((p) => [p.file, p.stage])).toEqual([
      ['scene-b.png', 'photo'],
      ['sub/scene-c.png', 'photo'],
    ]);
    const d = await readData<ReportImageData>(path.join(dir, 'data/images/2.js'), 'image');
    expect([d.photo, d.photo_size]).toEqual([null, null]);
    // The thumbnail is still made, from the masks alone.
    expect((await sharp(path.join(dir, 'thumbs/2.jpg')).metadata()).width).toBe(100);

    // A folder of the user's is never replaced.
    const mine = path.join(tmp, 'mine');
    await fsp.mkdir(mine);
    await fsp.writeFile(path.join(mine, 'notes.txt'), 'keep');
    const refused = await runCli(['report', output, '--out', mine, '--quiet']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`--out ${mine}: the folder is not empty and holds no earlier report (no .sam-amg-report)`);
    expect(await fsp.readdir(mine)).toEqual(['notes.txt']);

    // An earlier report is replaced as a whole (no leftovers of the old one, no temporary folders).
    await fsp.writeFile(path.join(dir, 'photos', 'stale.jpg'), 'old');
    const again = await runCli(['report', output, '--images', photos, '--out', dir, '--quiet']);
    expect(again.code).toBe(0);
    expect((await fsp.readdir(path.join(dir, 'photos'))).sort()).toEqual(['0.jpg', '1.jpg', '2.jpg']);
    expect((await fsp.readdir(tmp)).filter((n) => n.startsWith('.'))).toEqual([]);

    // Unreadable input and bad flags: exit 2.
    const bad = await runCli(['report', path.join(tmp, 'nope.json'), '--out', path.join(tmp, 'r-bad')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('cannot read');
    expect((await runCli(['report', output, '--out', path.join(tmp, 'r-bad'), '--min-iou', '0'])).code).toBe(2);
    expect((await runCli(['report', output, output, output, '--out', path.join(tmp, 'r-bad')])).code).toBe(2);
    // The run's bounds: --max-pixels is capped as for a run, --page-size is a whole number in its range.
    const tooBig = await runCli(['report', output, '--out', path.join(tmp, 'r-bad'), '--max-pixels', String(16383 * 16383 + 1)]);
    expect(tooBig.code).toBe(2);
    expect(tooBig.stderr).toBe(`sam-amg: report: --max-pixels must be an integer in [1, ${16383 * 16383}], got ${16383 * 16383 + 1}\n`);
    const page = await runCli(['report', output, '--out', path.join(tmp, 'r-bad'), '--page-size', '2.5']);
    expect(page.code).toBe(2);
    expect(page.stderr).toBe('sam-amg: report: --page-size must be an integer in [1, 10000], got 2.5\n');
    const noImages = await runCli(['report', output, '--images', path.join(tmp, 'no-such-folder'), '--out', path.join(tmp, 'r-bad')]);
    expect(noImages.code).toBe(2);
    expect(noImages.stderr).toContain('no-such-folder: no such file or directory');
    await expect(fsp.access(path.join(tmp, 'r-bad'))).rejects.toThrow();
  });

  it('keeps masks at full resolution when the photo copy is downscaled', async () => {
    const wide: SynthImage = { name: 'wide.png', width: 2100, height: 40, masks: [{ shape: { rect: [2000, 5, 2099, 30] }, iou: 0.9, stability: 0.95 }] };
    const root = path.join(tmp, 'wide');
    await writePhotos([wide], root);
    const output = await writeOutput([wide], 'coco', path.join(tmp, 'wide.json'));
    const dir = path.join(tmp, 'report-wide');
    expect((await runCli(['report', output, '--images', root, '--out', dir, '--quiet'])).code).toBe(0);
    const d = await readData<ReportImageData>(path.join(dir, 'data/images/0.js'), 'image');
    expect([d.width, d.height, d.photo_size]).toEqual([2100, 40, [2048, 39]]);
    expect(fromCoco({ size: [40, 2100], counts: d.sides[0].masks?.[0].counts as string }).counts).toEqual(synthResult(wide).records[0].segmentation.counts);
    const photo = await sharp(path.join(dir, 'photos/0.jpg')).metadata();
    expect([photo.width, photo.height]).toEqual([2048, 39]);
  });

  it('--report on a run writes the report of its output with the run\'s own photos; refuses amg-png before any work', async () => {
    const imgs = path.join(tmp, 'run-images');
    await writeShapeImages(imgs, 2);
    const out = path.join(tmp, 'run.json');
    const dir = path.join(tmp, 'run-report');
    const r = await runCli([imgs, ...FAST, '--out', out, '--report', dir]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/sam-amg: report: 2 images, \d+ masks → /u);
    const index = await readData<ReportIndex>(path.join(dir, 'data/index.js'), 'index');
    expect(index.images.map((im) => im.name)).toEqual(['img-00.png', 'img-01.png']);
    expect(index.problems).toEqual([]);
    const d = await readData<ReportImageData>(path.join(dir, 'data/images/1.js'), 'image');
    expect(d.photo).toBe('photos/1.jpg');
    const refused = await runCli([imgs, ...FAST, '--format', 'amg-png', '--out', path.join(tmp, 'amg'), '--report', path.join(tmp, 'r2')]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--report reads coco, sa1b or jsonl output');
    await expect(fsp.access(path.join(tmp, 'amg'))).rejects.toThrow();
  });
});
