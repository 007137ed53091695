/**
 * A folder of awkward files through the whole CLI: every good image processed (in its displayed orientation),
 * every bad one listed with its stage and reason, exit 1.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCocoDocument } from '../src/output/coco-parse.js';
import { FAST, pngHeaderOnly, runCli, shapesPng, shapesRaw } from './helpers/batch.js';
import type { CocoRle } from '../src/rle/rle.js';

let tmp: string;
let dir: string;

beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sam-amg-batch-inputs-'));
  dir = path.join(tmp, 'photos');
  await fsp.mkdir(path.join(dir, 'sub'), { recursive: true });
  const raw = shapesRaw(48, 32, 1);
  const rawOpts = { raw: { width: 48, height: 32, channels: 3 as const } };
  const good = await shapesPng(48, 32, 2);
  // Bad files.
  await fsp.writeFile(path.join(dir, 'corrupt.jpg'), Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(600, 0x5a)]));
  await fsp.writeFile(path.join(dir, 'truncated.png'), good.subarray(0, Math.floor(good.length / 2)));
  await fsp.writeFile(path.join(dir, 'empty.jpg'), Buffer.alloc(0));
  await fsp.writeFile(path.join(dir, 'notes.txt'), 'not an image\n');
  await fsp.writeFile(path.join(dir, 'huge.png'), pngHeaderOnly(20_000, 20_000));
  await fsp.symlink('..', path.join(dir, 'sub', 'loop'));
  // Good files of every kind.
  await sharp(raw, rawOpts).toColourspace('cmyk').jpeg().toFile(path.join(dir, 'cmyk.jpg'));
  await sharp(raw, rawOpts).toColourspace('rgb16').png().toFile(path.join(dir, 'deep16.png'));
  await sharp(raw, rawOpts).toColourspace('b-w').png().toFile(path.join(dir, 'gray.png'));
  await sharp(raw, rawOpts).ensureAlpha(0.5).png().toFile(path.join(dir, 'rgba.png'));
  // Stored 48×32, EXIF orientation 6 (rotate 90° clockwise to display): displayed 32×48.
  await sharp(raw, rawOpts).jpeg().withMetadata({ orientation: 6 }).toFile(path.join(dir, 'sub', 'rotated.jpg'));
  await sharp({ create: { width: 1, height: 1, channels: 3, background: { r: 200, g: 10, b: 10 } } }).png().toFile(path.join(dir, 'one.png'));
  await fsp.writeFile(path.join(dir, 'sixteen.png'), await shapesPng(16, 16, 3));
});

afterAll(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

describe('a folder of awkward files', () => {
  it('processes every good image, lists every bad one with its reason, and exits 1', async () => {
    // The files really are what their names say.
    expect((await sharp(path.join(dir, 'cmyk.jpg')).metadata()).space).toBe('cmyk');
    expect((await sharp(path.join(dir, 'deep16.png')).metadata()).depth).toBe('ushort');
    expect((await sharp(path.join(dir, 'gray.png')).metadata()).channels).toBe(1);
    expect((await sharp(path.join(dir, 'rgba.png')).metadata()).channels).toBe(4);
    const rot = await sharp(path.join(dir, 'sub', 'rotated.jpg')).metadata();
    expect([rot.orientation, rot.width, rot.height]).toEqual([6, 48, 32]);

    const out = path.join(tmp, 'masks.json');
    const overlays = path.join(tmp, 'overlays');
    const { code, stderr } = await runCli([dir, ...FAST, '--out', out, '--overlay', overlays]);
    expect(code).toBe(1);
    const doc = parseCocoDocument(await fsp.readFile(out, 'utf8'), out);

    expect(doc.images.map((im) => [im.file_name, im.width, im.height])).toEqual([
      ['cmyk.jpg', 48, 32],
      ['deep16.png', 48, 32],
      ['gray.png', 48, 32],
      ['one.png', 1, 1],
      ['rgba.png', 48, 32],
      ['sixteen.png', 16, 16],
      ['sub/rotated.jpg', 32, 48],
    ]);
    // Every mask has its image's displayed size.
    const byId = new Map(doc.images.map((im) => [im.id, im]));
    expect(doc.annotations.length).toBeGreaterThan(0);
    for (const a of doc.annotations) {
      const im = byId.get(a.image_id)!;
      expect((a.segmentation as CocoRle).size).toEqual([im.height, im.width]);
    }
    expect(doc.annotations.some((a) => byId.get(a.image_id)!.file_name === 'sub/rotated.jpg')).toBe(true);

    expect(doc.info.errors).toEqual([
      { file: 'corrupt.jpg', stage: 'decode', message: 'truncated or corrupt image data' },
      { file: 'empty.jpg', stage: 'decode', message: 'empty file' },
      // Refused on its header: decoding would have failed differently (the file holds no pixels at all).
      { file: 'huge.png', stage: 'decode', message: 'image is 20000x20000 = 400.0 MP, over the 100 MP limit (--max-pixels)' },
      { file: 'truncated.png', stage: 'decode', message: 'truncated or corrupt image data' },
    ]);
    // Skipped files are reported on stderr, as are the failures and a summary.
    expect(stderr).toContain(`skipped ${path.join(dir, 'notes.txt')}: not an image file extension`);
    expect(stderr).toMatch(/sub\/loop.*(loop|cycle|already)/u);
    expect(stderr).toContain('sam-amg: error: corrupt.jpg: truncated or corrupt image data (decode)');
    expect(stderr).toContain('7 images ok, 4 failed, 0 skipped;');
    expect(stderr).toContain(`4 images failed (4 decode); listed in info.errors of ${out}`);

    // Overlays in the displayed orientation, mirroring the input tree.
    const ov = await sharp(path.join(overlays, 'sub', 'rotated.png')).metadata();
    expect([ov.width, ov.height, ov.format]).toEqual([32, 48, 'png']);
    expect((await sharp(path.join(overlays, 'one.png')).metadata()).width).toBe(1);
    // Failures keep their journal for --resume; nothing else is left next to the output.
    expect((await fsp.readdir(tmp)).sort()).toEqual(['masks.json', 'masks.json.journal.jsonl', 'overlays', 'photos']);
  });

  it('--max-pixels refuses a small image over a lower limit, and 16×16 passes at exactly its size', async () => {
    const out = path.join(tmp, 'limit.json');
    const files = [path.join(dir, 'sixteen.png'), path.join(dir, 'cmyk.jpg')];
    const r = await runCli([...files, ...FAST, '--max-pixels', '256', '--out', out, '--no-journal']);
    expect(r.code).toBe(1);
    const doc = parseCocoDocument(await fsp.readFile(out, 'utf8'), out);
    expect(doc.images.map((im) => im.file_name)).toEqual(['sixteen.png']);
    expect(doc.info.errors).toEqual([
      { file: 'cmyk.jpg', stage: 'decode', message: 'image is 48x32 = 1536 pixels, over the 256-pixel limit (--max-pixels)' },
    ]);
  });

  it('--fail-fast stops at the first failure and counts the rest as skipped', async () => {
    const out = path.join(tmp, 'ff.json');
    const files = ['corrupt.jpg', 'gray.png', 'rgba.png'].map((f) => path.join(dir, f));
    const r = await runCli([...files, ...FAST, '--fail-fast', '--out', out, '--no-journal']);
    expect(r.code).toBe(1);
    const doc = parseCocoDocument(await fsp.readFile(out, 'utf8'), out);
    expect(doc.images).toEqual([]);
    expect(doc.info.errors?.map((e) => e.file)).toEqual(['corrupt.jpg']);
    expect(r.stderr).toContain('0 images ok, 1 failed, 2 skipped;');
  });
});
