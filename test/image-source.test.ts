/**
 * Region reads of image files (src/node/image-source.ts): for every decoding rule (EXIF / TIFF orientation 1–8,
 * grey → RGB, alpha dropped, 16-bit → high byte, CMYK → RGB) and both ways of reading by region (a tiled or striped
 * TIFF read in place, anything else through its temporary tiled copy), a region equals the same region of a whole
 * decode, byte for byte. Plus the orientation maths, the refusal of an image over the limit and the clean-up of the
 * copy.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoxXYXY, RgbImage } from '../src/base/types.js';
import { cropImage } from '../src/image/preprocess.js';
import { orientRegion, storedRegion, type Orientation } from '../src/image/orientation.js';
import { decodeImage } from '../src/node/decode.js';
import { openImageSource, type FileImageSource, type SourceAccess } from '../src/node/image-source.js';

let tmp: string;
beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sam-amg-source-'));
});
afterAll(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

/** Deterministic noise: every pixel differs from its neighbours, so any misplaced byte shows. */
function noise(w: number, h: number, channels: number, seed: number): Buffer {
  const b = Buffer.alloc(w * h * channels);
  let x = seed * 2654435761;
  for (let i = 0; i < b.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

const W = 83;
const H = 57;

/** Regions of the displayed image: corners, edges, a 1-px strip and the whole image. */
function regionsOf(width: number, height: number): BoxXYXY[] {
  return [
    [0, 0, 20, 15],
    [width - 31, height - 9, width, height],
    [5, 7, 6, height],
    [13, 2, width - 4, 30],
    [0, 0, width, height],
  ];
}

const open = (file: string, forceCopy = false): Promise<FileImageSource> =>
  openImageSource(file, { maxPixels: 1e9, overLimit: () => 'over', wholeBelow: 0, forceCopy, tempDir: tmp });

async function expectRegionsMatch(file: string, access: SourceAccess, forceCopy = false): Promise<RgbImage> {
  const whole = await decodeImage(file);
  const src = await open(file, forceCopy);
  try {
    expect(src.access).toBe(access);
    expect([src.width, src.height]).toEqual([whole.width, whole.height]);
    for (const [x0, y0, x1, y1] of regionsOf(whole.width, whole.height)) {
      const got = await src.readRegion(x0, y0, x1, y1);
      const want = cropImage(whole, x0, y0, x1, y1);
      expect([got.width, got.height]).toEqual([x1 - x0, y1 - y0]);
      // Not toEqual on the arrays: a mismatch report of thousands of bytes helps nobody; the first offset does.
      const diff = got.data.findIndex((v, i) => v !== want.data[i]);
      expect(diff, `${path.basename(file)} region [${x0}, ${y0}, ${x1}, ${y1}) first differs at byte ${diff}`).toBe(-1);
    }
  } finally {
    await src.close();
  }
  return whole;
}

describe('orientation maths', () => {
  it('maps a displayed region to the stored one and back, for all eight orientations', () => {
    // A stored 5×3 image whose pixel (x, y) holds x and y; after orientation, displayed pixel (u, v) must hold the
    // stored coordinates of the table in src/image/orientation.ts.
    const sw = 5;
    const sh = 3;
    const data = new Uint8Array(sw * sh * 3);
    for (let y = 0; y < sh; y++) for (let x = 0; x < sw; x++) data.set([x, y, 0], (y * sw + x) * 3);
    const table: Record<Orientation, (u: number, v: number) => [number, number]> = {
      1: (u, v) => [u, v],
      2: (u, v) => [sw - 1 - u, v],
      3: (u, v) => [sw - 1 - u, sh - 1 - v],
      4: (u, v) => [u, sh - 1 - v],
      5: (u, v) => [v, u],
      6: (u, v) => [v, sh - 1 - u],
      7: (u, v) => [sw - 1 - v, sh - 1 - u],
      8: (u, v) => [sw - 1 - v, u],
    };
    for (const o of [1, 2, 3, 4, 5, 6, 7, 8] as Orientation[]) {
      const swap = o >= 5;
      const dw = swap ? sh : sw;
      const dh = swap ? sw : sh;
      // The displayed region [1, 1, dw, dh − 0]: read its stored region, turn it, check every pixel.
      const box: BoxXYXY = [1, 1, dw, dh];
      const [x0, y0, x1, y1] = storedRegion(o, sw, sh, box);
      const stored = cropImage({ data, width: sw, height: sh }, x0, y0, x1, y1);
      const shown = orientRegion(o, stored);
      expect([shown.width, shown.height]).toEqual([box[2] - box[0], box[3] - box[1]]);
      for (let v = 0; v < shown.height; v++) {
        for (let u = 0; u < shown.width; u++) {
          const i = (v * shown.width + u) * 3;
          expect([shown.data[i], shown.data[i + 1]], `orientation ${o} pixel (${u}, ${v})`).toEqual(table[o](u + 1, v + 1));
        }
      }
    }
  });
});

describe('region reads equal the same region of a whole decode', () => {
  it('EXIF orientation 1–8 of a JPEG (temporary copy) and TIFF orientation 1–8 (read in place)', async () => {
    const rgb = noise(W, H, 3, 1);
    for (let o = 1; o <= 8; o++) {
      const jpg = path.join(tmp, `o${o}.jpg`);
      await sharp(rgb, { raw: { width: W, height: H, channels: 3 } }).withMetadata({ orientation: o }).jpeg({ quality: 90 }).toFile(jpg);
      const whole = await expectRegionsMatch(jpg, 'copy');
      expect([whole.width, whole.height]).toEqual(o >= 5 ? [H, W] : [W, H]);
      const tif = path.join(tmp, `o${o}.tif`);
      await sharp(rgb, { raw: { width: W, height: H, channels: 3 } }).withMetadata({ orientation: o }).tiff({ tile: true, tileWidth: 16, tileHeight: 16, compression: 'lzw' }).toFile(tif);
      const t = await expectRegionsMatch(tif, 'region');
      expect([t.width, t.height]).toEqual(o >= 5 ? [H, W] : [W, H]);
    }
  });

  it('grey → RGB: a grey PNG (copy) and a grey striped TIFF (in place)', async () => {
    const grey = noise(W, H, 1, 2);
    const png = path.join(tmp, 'grey.png');
    await sharp(grey, { raw: { width: W, height: H, channels: 1 } }).toColourspace('b-w').png().toFile(png);
    expect((await sharp(png).metadata()).channels).toBe(1);
    const whole = await expectRegionsMatch(png, 'copy');
    expect([whole.data[0], whole.data[1], whole.data[2]]).toEqual([grey[0], grey[0], grey[0]]);
    const tif = path.join(tmp, 'grey.tif');
    await sharp(grey, { raw: { width: W, height: H, channels: 1 } }).toColourspace('b-w').tiff({ compression: 'deflate' }).toFile(tif);
    expect((await sharp(tif).metadata()).channels).toBe(1);
    await expectRegionsMatch(tif, 'region');
  });

  it('alpha dropped, not composited: an RGBA PNG (copy) and an RGBA tiled TIFF (in place)', async () => {
    const rgba = noise(W, H, 4, 3);
    const png = path.join(tmp, 'rgba.png');
    await sharp(rgba, { raw: { width: W, height: H, channels: 4 } }).png().toFile(png);
    const whole = await expectRegionsMatch(png, 'copy');
    expect([whole.data[0], whole.data[1], whole.data[2]]).toEqual([rgba[0], rgba[1], rgba[2]]);
    const tif = path.join(tmp, 'rgba.tif');
    await sharp(rgba, { raw: { width: W, height: H, channels: 4 } }).tiff({ tile: true, tileWidth: 32, tileHeight: 32 }).toFile(tif);
    await expectRegionsMatch(tif, 'region');
  });

  it('16-bit → high byte: a 16-bit PNG (copy) and a 16-bit TIFF (in place)', async () => {
    const words = new Uint16Array(W * H * 3);
    const bytes = noise(W, H, 6, 4);
    for (let i = 0; i < words.length; i++) words[i] = bytes[2 * i] * 256 + bytes[2 * i + 1];
    const png = path.join(tmp, 'deep.png');
    await sharp(words, { raw: { width: W, height: H, channels: 3 } }).toColourspace('rgb16').png().toFile(png);
    expect((await sharp(png).metadata()).depth).toBe('ushort');
    const whole = await expectRegionsMatch(png, 'copy');
    expect([whole.data[0], whole.data[1]]).toEqual([words[0] >>> 8, words[1] >>> 8]);
    const tif = path.join(tmp, 'deep.tif');
    await sharp(words, { raw: { width: W, height: H, channels: 3 } }).toColourspace('rgb16').tiff({ tile: true, tileWidth: 16, tileHeight: 16 }).toFile(tif);
    await expectRegionsMatch(tif, 'region');
  });

  it('CMYK → RGB by the reference formulas: a CMYK JPEG (copy, JPEG rule) and a CMYK TIFF (in place, TIFF rule)', async () => {
    const rgb = noise(W, H, 3, 5);
    const jpg = path.join(tmp, 'cmyk.jpg');
    await sharp(rgb, { raw: { width: W, height: H, channels: 3 } }).toColourspace('cmyk').jpeg({ quality: 95 }).toFile(jpg);
    expect((await sharp(jpg).metadata()).space).toBe('cmyk');
    await expectRegionsMatch(jpg, 'copy');
    const tif = path.join(tmp, 'cmyk.tif');
    await sharp(rgb, { raw: { width: W, height: H, channels: 3 } }).toColourspace('cmyk').tiff({ tile: true, tileWidth: 16, tileHeight: 16 }).toFile(tif);
    expect((await sharp(tif).metadata()).space).toBe('cmyk');
    await expectRegionsMatch(tif, 'region');
    // And the copy of a TIFF keeps the TIFF rule.
    await expectRegionsMatch(tif, 'copy', true);
  });
});

describe('opening', () => {
  it('decodes a small PNG whole but reads even a small TIFF by region, refuses an image over the limit by its reason, and removes the copy on close', async () => {
    const png = path.join(tmp, 'small.png');
    await sharp(noise(W, H, 3, 6), { raw: { width: W, height: H, channels: 3 } }).png().toFile(png);
    const small = await openImageSource(png, { maxPixels: 1e9, overLimit: () => 'over', tempDir: tmp });
    expect(small.access).toBe('whole');
    const tif = path.join(tmp, 'small.tif');
    await sharp(noise(W, H, 3, 6), { raw: { width: W, height: H, channels: 3 } }).tiff().toFile(tif);
    expect((await openImageSource(tif, { maxPixels: 1e9, overLimit: () => 'over', tempDir: tmp })).access).toBe('region');
    await expect(openImageSource(png, { maxPixels: W * H - 1, overLimit: (w, h) => `${w}x${h} is over` })).rejects.toThrow(`${W}x${H} is over`);
    const before = (await fsp.readdir(tmp)).filter((f) => f.startsWith('sam-amg-tiles-'));
    const copied = await open(png);
    expect(copied.access).toBe('copy');
    expect((await fsp.readdir(tmp)).filter((f) => f.startsWith('sam-amg-tiles-')).length).toBe(before.length + 1);
    await copied.close();
    expect((await fsp.readdir(tmp)).filter((f) => f.startsWith('sam-amg-tiles-'))).toEqual(before);
  });

  it('refuses a format its library decodes whole (WebP, progressive JPEG) beyond the whole-decode limit, naming it', async () => {
    const webp = path.join(tmp, 'big.webp');
    await sharp(noise(W, H, 3, 7), { raw: { width: W, height: H, channels: 3 } }).webp({ lossless: true }).toFile(webp);
    const prog = path.join(tmp, 'prog.jpg');
    await sharp(noise(W, H, 3, 8), { raw: { width: W, height: H, channels: 3 } }).jpeg({ progressive: true }).toFile(prog);
    const base = { maxPixels: 1e9, overLimit: () => 'over', wholeBelow: 0, tempDir: tmp };
    await expect(openImageSource(webp, { ...base, wholeMaxPixels: 1000 })).rejects.toThrow(
      `a WebP can only be decoded whole: ${W}x${H} is over the 1000-pixel limit of whole decodes (--max-pixels); convert it to a tiled TIFF first`,
    );
    await expect(openImageSource(prog, { ...base, wholeMaxPixels: 1000 })).rejects.toThrow('a progressive or interlaced JPEG can only be decoded whole');
    // Within the limit they are copied like any other file.
    const ok = await openImageSource(prog, { ...base, wholeMaxPixels: W * H });
    expect(ok.access).toBe('copy');
    await ok.close();
  });
});
