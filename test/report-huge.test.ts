/**
 * The report of images too large to decode whole (a tiled run's): the photo shrunk from region reads band by band
 * (src/image/shrink.ts, src/report/photos.ts), the thumbnail's masks drawn at that scale by the rasteriser, the
 * coverage from merged runs; a 12,000 × 9,000 tiled TIFF reported with --max-pixels far below its size, and
 * `--report` at the end of a tiled run.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MaskRecord, Rle, RgbImage } from '../src/base/types.js';
import { alpha256 } from '../src/draw/frame.js';
import { BlockShrinker, shrinkImage } from '../src/image/shrink.js';
import { cocoChunks, cocoDocument } from '../src/output/coco.js';
import { maskColour } from '../src/output/mask-colour.js';
import type { ReportImageData, ReportIndex } from '../src/report/data.js';
import { photoScale, scaledThumbnailRgb, shrunkPhoto } from '../src/report/photos.js';
import { coverage } from '../src/report/summary.js';
import { rleArea, rleBoxXYXY, toCoco } from '../src/rle/rle.js';
import { buildWeb } from '../scripts/build-web.js';
import { FAST, runCli } from './helpers/batch.js';

let tmp: string;
beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sam-amg-report-huge-'));
  // The CLI copies the page from dist/web/report.
  await buildWeb();
});
afterAll(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

/** The mask of the rectangle [x0, x1) × [y0, y1) in an H×W image, built from its runs (no W×H bitmap). */
function rectRle(H: number, W: number, x0: number, y0: number, x1: number, y1: number): Rle {
  const counts: number[] = [x0 * H + y0];
  for (let x = x0; x < x1; x++) {
    counts.push(y1 - y0);
    if (x < x1 - 1) counts.push(H - (y1 - y0));
  }
  counts.push((W - x1) * H + (H - y1));
  return { h: H, w: W, counts: Uint32Array.from(counts) };
}

function record(rle: Rle, iou: number): MaskRecord {
  const [x0, y0, x1, y1] = rleBoxXYXY(rle);
  return {
    segmentation: rle,
    area: rleArea(rle),
    bbox: [x0, y0, x1 - x0, y1 - y0],
    predictedIou: iou,
    stabilityScore: 0.95,
    pointCoords: [(x0 + x1) / 2, (y0 + y1) / 2],
    cropBox: [0, 0, rle.w, rle.h],
  };
}

/** Pixel (x, y) of an RGB image. */
function at(im: RgbImage, x: number, y: number): number[] {
  const o = (y * im.width + x) * 3;
  return [im.data[o], im.data[o + 1], im.data[o + 2]];
}

/** `c` at opacity a/256 over opaque `d`, as the rasteriser blends. */
function blend(d: readonly number[], c: readonly number[], a: number): number[] {
  return d.map((v, k) => (v * (256 - a) + c[k] * a + 128) >> 8);
}

async function readData<T>(file: string, call: 'index' | 'image'): Promise<T> {
  const text = await fsp.readFile(file, 'utf8');
  const prefix = `samReport.${call}(`;
  const args = JSON.parse(`[${text.slice(prefix.length, -3)}]`) as unknown[];
  return args[args.length - 1] as T;
}

describe('shrinking by a whole factor', () => {
  it('averages each s×s block (partial blocks at the edges over their own pixels), rounding half up', () => {
    // 5×3 image, scale 2: blocks 2×2, 1×2 at the right, 2×1 at the bottom, 1×1 in the corner.
    const px = [
      [0, 10, 20, 30, 40],
      [1, 11, 21, 31, 41],
      [2, 12, 22, 32, 43],
    ];
    const data = new Uint8Array(15 * 3);
    px.forEach((row, y) => row.forEach((v, x) => data.set([v, 255 - v, 7], (y * 5 + x) * 3)));
    const s = shrinkImage({ width: 5, height: 3, data }, 2);
    expect([s.width, s.height]).toEqual([3, 2]);
    // (0+10+1+11)/4 = 5.5 → 6; (20+30+21+31)/4 = 25.5 → 26; (40+41)/2 = 40.5 → 41; (2+12)/2 = 7; (22+32)/2 = 27; 43.
    expect(Array.from({ length: 6 }, (_, i) => s.data[i * 3])).toEqual([6, 26, 41, 7, 27, 43]);
    // 255 − v: (255·4 − 22)/4 = 249.5 → 250.
    expect(s.data[1]).toBe(250);
    expect(s.data[2]).toBe(7);
  });

  it('gives the same image whatever the bands', () => {
    const W = 37;
    const H = 29;
    const data = new Uint8Array(W * H * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 251;
    const whole = shrinkImage({ width: W, height: H, data }, 4);
    for (const rows of [1, 3, 4, 8, 29]) {
      const s = new BlockShrinker(W, H, 4);
      for (let y = 0; y < H; y += rows) {
        const y1 = Math.min(H, y + rows);
        s.add({ width: W, height: y1 - y, data: data.subarray(y * W * 3, y1 * W * 3) });
      }
      expect(Buffer.from(s.finish().data).equals(Buffer.from(whole.data))).toBe(true);
    }
    expect(() => new BlockShrinker(W, H, 4).finish()).toThrow('shrink: 0 of 29 rows added');
  });
});

describe('coverage', () => {
  it('counts the same pixels from merged runs as from a bitmap', () => {
    const H = 50;
    const W = 70;
    const masks = [rectRle(H, W, 0, 0, 10, 10), rectRle(H, W, 5, 5, 20, 30), rectRle(H, W, 60, 40, 70, 50), rectRle(H, W, 6, 6, 8, 8)];
    // 100 + 15·25 − 5·5 + 100 = 550 pixels.
    expect(coverage(masks, H, W)).toBe(550 / 3500);
    expect(coverage(masks, H, W, 0)).toBe(550 / 3500);
    expect(coverage([], H, W, 0)).toBe(0);
  });
});

describe('the report of a 12,000 × 9,000 image', () => {
  const W = 12_000;
  const H = 9_000;
  /** The pattern repeated over the image: four 300 px quadrants of these colours. */
  const Q = [
    [200, 40, 40],
    [40, 200, 40],
    [40, 40, 200],
    [230, 230, 30],
  ];
  const colourAt = (x: number, y: number): number[] => Q[((y % 600) >= 300 ? 2 : 0) + ((x % 600) >= 300 ? 1 : 0)];
  let dir: string;
  let big: string;
  let records: MaskRecord[];

  beforeAll(async () => {
    dir = path.join(tmp, 'huge');
    await fsp.mkdir(dir, { recursive: true });
    const tile = new Uint8Array(600 * 600 * 3);
    for (let y = 0; y < 600; y++) for (let x = 0; x < 600; x++) tile.set(colourAt(x, y), (y * 600 + x) * 3);
    big = path.join(dir, 'ortho.tif');
    // libvips repeats the pattern strip by strip into a tiled TIFF: never a W×H buffer here either.
    await sharp(tile, { raw: { width: 600, height: 600, channels: 3 } })
      .extend({ right: W - 600, bottom: H - 600, extendWith: 'repeat' })
      .tiff({ tile: true, tileWidth: 256, tileHeight: 256, compression: 'deflate' })
      .toFile(big);
    records = [
      record(rectRle(H, W, 1200, 600, 2400, 1800), 0.9), // frame pixels [200, 400) × [100, 300) at scale 6
      record(rectRle(H, W, 3003, 3000, 3600, 3600), 0.8), // its left frame column is half covered
      record(rectRle(H, W, 1500, 900, 1560, 960), 0.7), // on top of the first
      record(rectRle(H, W, 11_940, 8_940, 12_000, 9_000), 0.6), // the bottom-right corner
    ];
  }, 120_000);

  it('sam-amg report: photo, thumbnail and masks of an image far above --max-pixels', async () => {
    const coco = path.join(tmp, 'huge.json');
    const result = { relPath: 'ortho.tif', width: W, height: H, records };
    const info = { version: '0.1.0', date: null, model: 'synthetic', modelSha256: '0'.repeat(64), options: {} };
    await fsp.writeFile(coco, [...cocoChunks(cocoDocument([result], info))].join(''));
    const out = path.join(tmp, 'report-huge');
    const rss0 = process.resourceUsage().maxRSS;
    const r = await runCli(['report', coco, '--images', dir, '--out', out, '--max-pixels', '1000000']);
    const grew = (process.resourceUsage().maxRSS - rss0) * 1024;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^sam-amg: report: 1 image, 4 masks → /u);
    // The image is 324 MB of RGB, which a whole decode holds at least once (and its RGBA thumbnail frame 432 MB more):
    // the peak grew by less (bands of 8 MiB and the tiles libvips decodes for them, the 2000×1500 copy, its thumbnail;
    // about 140 MB measured in a plain process).
    expect(grew).toBeLessThan(W * H * 3);

    const index = await readData<ReportIndex>(path.join(out, 'data/index.js'), 'index');
    expect(index.problems).toEqual([]);
    const row = index.images[0];
    expect([row.w, row.h, row.masks[0]]).toEqual([W, H, 4]);
    const union = 1200 * 1200 + 597 * 600 + 60 * 60;
    expect(row.cover[0]).toBe(union / (W * H));
    const data = await readData<ReportImageData>(path.join(out, 'data/images/0.js'), 'image');
    expect(data.photo).toBe('photos/0.jpg');
    expect(data.photo_size).toEqual([2000, 1500]);
    expect(data.sides[0].masks?.map((m) => m.counts)).toEqual(records.map((rec) => toCoco(rec.segmentation).counts));
    const photo = await sharp(path.join(out, 'photos/0.jpg')).metadata();
    expect([photo.width, photo.height]).toEqual([2000, 1500]);
    const thumb = await sharp(path.join(out, 'thumbs/0.jpg')).metadata();
    expect([thumb.width, thumb.height]).toEqual([256, 192]);
  }, 120_000);

  it('shrinks the photo by region reads and draws the thumbnail masks at that scale', async () => {
    const scale = photoScale(W, H);
    expect(scale).toBe(6);
    const photo = await shrunkPhoto(big, { width: W, height: H }, scale, { maxPixels: 1_000_000 });
    if (typeof photo === 'string') throw new Error(photo);
    expect([photo.width, photo.height]).toEqual([2000, 1500]);
    // Blocks of 6 never straddle the 300 px quadrants: every copy pixel is its quadrant's colour exactly.
    for (const [fx, fy] of [[0, 0], [50, 0], [0, 50], [1999, 1499], [1234, 567]]) expect(at(photo, fx, fy)).toEqual(colourAt(fx * 6, fy * 6));
    // Another size than the output says: no photo, and why.
    expect(await shrunkPhoto(big, { width: W, height: H + 1 }, scale, { maxPixels: 1_000_000 })).toBe(
      `${big} is 12000x9000 but the output says 12000x9001; shown without the photo`,
    );

    const thumb = scaledThumbnailRgb(photo, W, H, scale, records);
    expect([thumb.width, thumb.height]).toEqual([2000, 1500]);
    const a = alpha256(0.5);
    // Inside the first mask only.
    expect(at(thumb, 300, 200)).toEqual(blend(colourAt(1800, 1200), maskColour(0), a));
    // The third mask over the first (smaller masks are drawn later).
    expect(at(thumb, 255, 155)).toEqual(blend(blend(colourAt(1530, 930), maskColour(0), a), maskColour(2), a));
    // Frame column 500 is image columns 3000–3005, of which the mask has 3003–3005: half the block, half the opacity.
    expect(at(thumb, 500, 550)).toEqual(blend(colourAt(3000, 3300), maskColour(1), Math.floor((a * 18 + 18) / 36)));
    expect(at(thumb, 501, 550)).toEqual(blend(colourAt(3006, 3300), maskColour(1), a));
    expect(at(thumb, 1999, 1499)).toEqual(blend(colourAt(11_994, 8_994), maskColour(3), a));
    // Outside every mask: the photo.
    expect(at(thumb, 499, 550)).toEqual(colourAt(2994, 3300));
    expect(at(thumb, 1000, 1000)).toEqual(colourAt(6000, 6000));
    // Without a photo the masks are drawn on grey.
    expect(at(scaledThumbnailRgb(null, W, H, scale, records), 300, 200)).toEqual(blend([40, 40, 40], maskColour(0), a));
  }, 120_000);

});

describe('--report on a tiled run', () => {
  it('reports the tiled image with its photo and masks, read by region beyond --max-pixels', async () => {
    const dir = path.join(tmp, 'tiled');
    await fsp.mkdir(dir, { recursive: true });
    const w = 600;
    const h = 400;
    const px = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const inDisc = (x - 200) ** 2 + (y - 180) ** 2 < 90 ** 2 || (x - 440) ** 2 + (y - 250) ** 2 < 70 ** 2;
        px.set(inDisc ? [230, 220, 40] : [30, 60, 120], (y * w + x) * 3);
      }
    }
    await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(path.join(dir, 'field.png'));
    const out = path.join(tmp, 'tiled.json');
    const rep = path.join(tmp, 'report-tiled');
    const r = await runCli([dir, ...FAST, '--tile', '256', '--max-pixels', '100000', '--out', out, '--report', rep]);
    expect(r.code, r.stderr).toBe(0);
    const masks = (JSON.parse(await fsp.readFile(out, 'utf8')) as { annotations: unknown[] }).annotations.length;
    expect(masks).toBeGreaterThan(0);
    expect(r.stderr).toContain(`sam-amg: report: 1 image, ${masks} mask`);
    const index = await readData<ReportIndex>(path.join(rep, 'data/index.js'), 'index');
    expect(index.problems).toEqual([]);
    expect(index.images[0].masks).toEqual([masks]);
    const data = await readData<ReportImageData>(path.join(rep, 'data/images/0.js'), 'image');
    expect([data.width, data.height, data.photo, data.photo_size]).toEqual([w, h, 'photos/0.jpg', [w, h]]);
    // The copy is the photo itself (scale 1): a pixel well inside the first disc is its yellow, up to JPEG error.
    const { data: jpeg } = await sharp(path.join(rep, 'photos/0.jpg')).raw().toBuffer({ resolveWithObject: true });
    const o = (180 * w + 200) * 3;
    expect(Math.abs(jpeg[o] - 230) + Math.abs(jpeg[o + 1] - 220) + Math.abs(jpeg[o + 2] - 40)).toBeLessThan(24);
  }, 120_000);
});
