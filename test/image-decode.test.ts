import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, IMAGE_EXTENSIONS, ImageDecodeError } from '../src/node/decode.js';
import { xorshiftBytes } from './helpers/image-rng.js';
import { afterIfd, LONG, SHORT, writeTiffHead, type IfdEntry } from './helpers/tiff.js';

const sharedImage = (name: string): string => fileURLToPath(new URL(`../../shared/images/${name}`, import.meta.url));

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sam-amg-decode-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Write bytes to a temp file and return its path. */
function file(name: string, bytes: Buffer | string): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

const raw = (data: Uint8Array, width: number, height: number, channels: 1 | 2 | 3 | 4) =>
  sharp(Buffer.from(data), { raw: { width, height, channels } });

/** Reason of the ImageDecodeError a decode rejects with. */
async function failure(input: string | Buffer, opts?: { maxPixels?: number }): Promise<string> {
  try {
    await decodeImage(input, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(ImageDecodeError);
    const e = err as ImageDecodeError;
    expect(e.message).toBe(e.reason);
    expect(e.message).not.toContain('\n');
    return e.reason;
  }
  throw new Error('decode did not fail');
}

/** A minimal uncompressed little-endian CMYK TIFF (PhotometricInterpretation 5), which sharp cannot write. */
function cmykTiff(width: number, height: number, inks: Uint8Array): Buffer {
  const bpsOffset = afterIfd(10);
  const dataOffset = bpsOffset + 8;
  const entries: IfdEntry[] = [[256, LONG, 1, width], [257, LONG, 1, height], [258, SHORT, 4, bpsOffset], [259, SHORT, 1, 1],
    [262, SHORT, 1, 5], [273, LONG, 1, dataOffset], [277, SHORT, 1, 4], [278, LONG, 1, height],
    [279, LONG, 1, inks.length], [284, SHORT, 1, 1]];
  const buf = Buffer.alloc(dataOffset + inks.length);
  writeTiffHead(buf, entries);
  for (let i = 0; i < 4; i++) buf.writeUInt16LE(8, bpsOffset + i * 2);
  buf.set(inks, dataOffset);
  return buf;
}

/** PNG signature + IHDR (8-bit RGB) + a token IDAT + IEND: a valid header over almost no pixel data. */
function pngHeader(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([sig, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(64))), chunk('IEND', Buffer.alloc(0))]);
}

const pixel = (img: { data: Uint8Array; width: number }, x: number, y: number): number[] =>
  Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));

describe('decodeImage: pixel formats', () => {
  it('replicates grayscale to three equal channels', async () => {
    const grey = xorshiftBytes(1, 5 * 3);
    const png = await raw(grey, 5, 3, 1).toColourspace('b-w').png().toBuffer();
    expect((await sharp(png).metadata()).channels).toBe(1);
    const img = await decodeImage(file('grey.png', png));
    expect([img.width, img.height]).toEqual([5, 3]);
    for (let i = 0; i < 15; i++) expect(pixel(img, i % 5, Math.floor(i / 5))).toEqual([grey[i], grey[i], grey[i]]);
  });

  it('drops alpha without compositing (RGB as stored)', async () => {
    const rgba = Uint8Array.from([200, 100, 50, 0, 10, 20, 30, 128, 255, 255, 255, 255, 90, 0, 180, 1]);
    const png = await raw(rgba, 2, 2, 4).png().toBuffer();
    expect((await sharp(png).metadata()).channels).toBe(4);
    const img = await decodeImage(png);
    expect(Array.from(img.data)).toEqual([200, 100, 50, 10, 20, 30, 255, 255, 255, 90, 0, 180]);
  });

  it('drops alpha of grey + alpha images', async () => {
    const ga = Uint8Array.from([77, 0, 200, 10]);
    const png = await raw(ga, 2, 1, 2).png().toBuffer();
    const img = await decodeImage(png);
    expect(Array.from(img.data)).toEqual([77, 77, 77, 200, 200, 200]);
  });

  it('keeps the high byte of 16-bit samples (no rounding)', async () => {
    // 0x12FF would round to 0x13; 0x7F80 to 0x80; 0x00FF to 0x01.
    const words = Uint16Array.from([0x12ff, 0x7f80, 0x00ff, 0xffff, 0x0180, 0xabcd]);
    const png = await sharp(words, { raw: { width: 2, height: 1, channels: 3 } })
      .toColourspace('rgb16').png().toBuffer();
    const meta = await sharp(png).metadata();
    expect([meta.depth, meta.channels]).toEqual(['ushort', 3]);
    const img = await decodeImage(png);
    expect(Array.from(img.data)).toEqual([0x12, 0x7f, 0x00, 0xff, 0x01, 0xab]);
  });

  it('keeps the high byte of 16-bit RGBA and drops alpha', async () => {
    const words = Uint16Array.from([0x12ff, 0x34ff, 0x56ff, 0x0000, 0xfe01, 0x0001, 0x80ff, 0xffff]);
    const png = await sharp(words, { raw: { width: 2, height: 1, channels: 4 } })
      .toColourspace('rgb16').png().toBuffer();
    expect((await sharp(png).metadata()).depth).toBe('ushort');
    const img = await decodeImage(png);
    expect(Array.from(img.data)).toEqual([0x12, 0x34, 0x56, 0xfe, 0x00, 0x80]);
  });

  it('converts CMYK JPEG with OpenCV\'s formula on the stored inks', async () => {
    const colours = [[200, 40, 40], [40, 160, 60], [240, 220, 180], [128, 128, 128]];
    const rgb = new Uint8Array(32 * 32 * 3);
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) rgb.set(colours[(y >> 4) * 2 + (x >> 4)], (y * 32 + x) * 3);
    }
    const jpg = await raw(rgb, 32, 32, 3).toColourspace('cmyk').jpeg({ quality: 100 }).toBuffer();
    expect((await sharp(jpg).metadata()).space).toBe('cmyk');
    const inks = await sharp(jpg).pipelineColourspace('cmyk').toColourspace('cmyk').raw().toBuffer();
    const img = await decodeImage(file('cmyk.jpg', jpg));
    expect([img.width, img.height]).toEqual([32, 32]);
    for (const [x, y] of [[8, 8], [24, 8], [8, 24], [24, 24], [0, 31]]) {
      const [c, m, yy, k] = inks.subarray((y * 32 + x) * 4, (y * 32 + x) * 4 + 4);
      // OpenCV reads Adobe-inverted samples s = 255 − ink and computes s_k − ((255 − s) · s_k >> 8).
      const sk = 255 - k;
      expect(pixel(img, x, y)).toEqual([sk - ((c * sk) >> 8), sk - ((m * sk) >> 8), sk - ((yy * sk) >> 8)]);
    }
    // Unsaturated colours survive the trip through CMYK roughly.
    for (const [x, y, i] of [[8, 24, 2], [24, 24, 3]]) {
      const got = pixel(img, x, y);
      for (let ch = 0; ch < 3; ch++) expect(Math.abs(got[ch] - colours[i][ch])).toBeLessThanOrEqual(40);
    }
  });

  it('converts CMYK TIFF with libtiff\'s formula, exactly', async () => {
    const inks = Uint8Array.from([0, 0, 0, 0, 255, 0, 0, 0, 0, 128, 0, 64, 50, 100, 150, 200]);
    const img = await decodeImage(file('cmyk.tif', cmykTiff(2, 2, inks)));
    expect([img.width, img.height]).toEqual([2, 2]);
    const expected: number[] = [];
    for (let p = 0; p < 16; p += 4) {
      const k = 255 - inks[p + 3];
      for (let ch = 0; ch < 3; ch++) expected.push(Math.floor((k * (255 - inks[p + ch])) / 255));
    }
    expect(Array.from(img.data)).toEqual(expected);
    expect(expected.slice(0, 6)).toEqual([255, 255, 255, 0, 255, 255]);
  });

  it('applies EXIF orientation 6 (rotate 90° clockwise)', async () => {
    // Stored 32×16, red 8×8 block in the stored top-left corner, grey elsewhere.
    const rgb = new Uint8Array(32 * 16 * 3).fill(128);
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) rgb.set([255, 0, 0], (y * 32 + x) * 3);
    const jpg = await raw(rgb, 32, 16, 3).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toBuffer();
    expect((await sharp(jpg).metadata()).orientation).toBe(6);
    const img = await decodeImage(jpg);
    expect([img.width, img.height]).toEqual([16, 32]);
    // The stored top-left ends up top-right once rotated clockwise.
    const red = pixel(img, 12, 3);
    expect(red[0]).toBeGreaterThan(240);
    expect(red[1]).toBeLessThan(15);
    expect(red[2]).toBeLessThan(15);
    const grey = pixel(img, 3, 3);
    for (const v of grey) expect(Math.abs(v - 128)).toBeLessThanOrEqual(3);
  });

  it('reads the first frame of an animated GIF', async () => {
    const frames = new Uint8Array(8 * 16 * 3);
    frames.fill(0);
    for (let i = 0; i < 8 * 8; i++) frames.set([255, 0, 0], i * 3); // frame 1 red
    for (let i = 8 * 8; i < 8 * 16; i++) frames.set([0, 0, 255], i * 3); // frame 2 blue
    const gif = await sharp(Buffer.from(frames), { raw: { width: 8, height: 16, channels: 3, pageHeight: 8 } })
      .gif().toBuffer();
    expect((await sharp(gif).metadata()).pages).toBe(2);
    const img = await decodeImage(file('anim.gif', gif));
    expect([img.width, img.height]).toEqual([8, 8]);
    expect(pixel(img, 0, 0)).toEqual([255, 0, 0]);
    expect(pixel(img, 7, 7)).toEqual([255, 0, 0]);
  });

  it('reads lossless WebP and TIFF exactly', async () => {
    const rgb = xorshiftBytes(5, 16 * 16 * 3);
    const webp = await raw(rgb, 16, 16, 3).webp({ lossless: true }).toBuffer();
    const tiff = await raw(rgb, 16, 16, 3).tiff({ compression: 'lzw' }).toBuffer();
    for (const [name, bytes] of [['a.webp', webp], ['a.tiff', tiff]] as const) {
      const img = await decodeImage(file(name, bytes));
      expect([img.width, img.height]).toEqual([16, 16]);
      expect(Buffer.from(img.data).equals(Buffer.from(rgb))).toBe(true);
    }
  });

  it('reads 1×1 and 16×16 PNGs exactly', async () => {
    for (const n of [1, 16]) {
      const rgb = xorshiftBytes(n, n * n * 3);
      const img = await decodeImage(await raw(rgb, n, n, 3).png().toBuffer());
      expect([img.width, img.height]).toEqual([n, n]);
      expect(Array.from(img.data)).toEqual(Array.from(rgb));
    }
  });

  it('decodes the shared truck photo at 1800×1200', async () => {
    const img = await decodeImage(sharedImage('truck.jpg'));
    expect([img.width, img.height]).toEqual([1800, 1200]);
    expect(img.data.length).toBe(1800 * 1200 * 3);
  });
});

describe('decodeImage: failures', () => {
  it('reports an empty file', async () => {
    expect(await failure(file('empty.jpg', Buffer.alloc(0)))).toBe('empty file');
  });

  it('reports a text file as not an image', async () => {
    expect(await failure(file('notes.png', 'hello, this is not an image\n'))).toBe('not a supported image');
  });

  it('refuses SVG, which the reference cannot read', async () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>';
    expect(await failure(Buffer.from(svg))).toBe('not a supported image');
  });

  it('reports a missing file', async () => {
    expect(await failure(join(dir, 'missing.jpg'))).toBe('cannot read file (ENOENT)');
  });

  it('reports truncated PNG and JPEG data', async () => {
    const rgb = xorshiftBytes(9, 128 * 128 * 3);
    const png = await raw(rgb, 128, 128, 3).png().toBuffer();
    const jpg = await raw(rgb, 128, 128, 3).jpeg({ quality: 90 }).toBuffer();
    // Keep the headers so only the pixel data is cut short.
    expect(await failure(file('cut.png', png.subarray(0, Math.floor(png.length * 0.7)))))
      .toBe('truncated or corrupt image data');
    expect(await failure(file('cut.jpg', jpg.subarray(0, Math.floor(jpg.length * 0.7)))))
      .toBe('truncated or corrupt image data');
  });

  it('refuses an image over maxPixels from its header, before decoding', async () => {
    // A truncated 3000×3000 PNG: decoding would fail as truncated, so the size reason proves the header check.
    const big = await sharp({ create: { width: 3000, height: 3000, channels: 3, background: '#808080' } })
      .png({ compressionLevel: 0 }).toBuffer();
    const headerOnly = big.subarray(0, 4096);
    expect(await failure(headerOnly, { maxPixels: 1_000_000 }))
      .toBe('image is 3000x3000 = 9.0 MP, over the 1 MP limit (--max-pixels)');
    expect(await failure(headerOnly)).toBe('truncated or corrupt image data');
  });

  it('names the default 100 MP limit', async () => {
    expect(await failure(pngHeader(12000, 12000))).toBe('image is 12000x12000 = 144.0 MP, over the 100 MP limit (--max-pixels)');
  });
});

describe('IMAGE_EXTENSIONS', () => {
  it('lists the decodable formats in lower case with a dot', () => {
    for (const ext of ['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.gif', '.avif']) {
      expect(IMAGE_EXTENSIONS.has(ext)).toBe(true);
    }
    expect(IMAGE_EXTENSIONS.has('.svg')).toBe(false);
    expect(IMAGE_EXTENSIONS.has('.JPG')).toBe(false);
  });
});
