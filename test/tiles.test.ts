/**
 * Tiled mode (amg-reference.md, "Tiles"): the tile grid, the options and their refusals, the generator's tile plan
 * with tiles restored from an earlier run and a tile that cannot be read, the bounded small-region window, the
 * journal's tile lines, GeoTIFF georeferencing, and the command line's refusals. The reference's own outputs are
 * test/conformance/tiles.test.ts; kill -9 and --resume inside an image are test/tiles-resume.test.ts.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TileReadError, type GenerateProgress } from '../src/amg/generator.js';
import { createProgress } from '../src/cli/progress.js';
import { optionsRecord, resolveOptions, type AmgOptions } from '../src/amg/options.js';
import { cleanMask } from '../src/amg/small-region-pass.js';
import type { MaskRecord, RgbImage } from '../src/base/types.js';
import { generateTileBoxes, tileCount, tileStarts } from '../src/crop/tiles.js';
import { cropImage } from '../src/image/preprocess.js';
import type { ImageSource } from '../src/image/source.js';
import { removeSmallRegions } from '../src/mask/small-regions.js';
import { MaskGenerator } from '../src/node/mask-generator.js';
import { geoReference } from '../src/node/tiff-info.js';
import { parseCocoDocument } from '../src/output/coco-parse.js';
import { decodeToRowMajor, encodeRowMajor } from '../src/rle/rle.js';
import { journalHeader, journalTileLine, readJournal } from '../src/run/journal.js';
import { writeGeoTiff as writeGeoTiffAt } from '../scripts/make-geotiff.js';
import { MODEL, runCli } from './helpers/batch.js';
import { spotsRaw } from './helpers/spots.js';

let tmp: string;
beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sam-amg-tiles-'));
});
afterAll(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

describe('tile grid', () => {
  it("is SAHI's slicing: starts every T − O, the last moved back to end at the edge", () => {
    expect(tileStarts(1800, 512, 64)).toEqual([0, 448, 896, 1288]);
    expect(tileStarts(1200, 512, 64)).toEqual([0, 448, 688]);
    expect(tileStarts(512, 512, 64)).toEqual([0]);
    expect(tileStarts(300, 512, 0)).toEqual([0]);
    expect(tileStarts(1024, 512, 0)).toEqual([0, 512]);
    expect(tileStarts(1025, 512, 0)).toEqual([0, 512, 513]);
    expect(tileStarts(513, 512, 511)).toEqual([0, 1]);
  });
  it('lists tiles with x0 in the outer loop and y0 in the inner one, clipped to the image', () => {
    expect(generateTileBoxes(1000, 600, 512, 64)).toEqual([
      [0, 0, 512, 512],
      [0, 88, 512, 600],
      [448, 0, 960, 512],
      [448, 88, 960, 600],
      [488, 0, 1000, 512],
      [488, 88, 1000, 600],
    ]);
    expect(generateTileBoxes(300, 200, 512, 64)).toEqual([[0, 0, 300, 200]]);
    expect(tileCount(20_000, 20_000, 1024, 128)).toBe(23 * 23);
  });
});

describe('tile options', () => {
  const opts = (o: Partial<AmgOptions>): AmgOptions => resolveOptions(o, 'sam');
  it('default the overlap to an eighth of the tile and are written only by tiled runs', () => {
    expect([opts({ tile: 512 }).tileOverlap, opts({ tile: 1000 }).tileOverlap, opts({ tile: 64 }).tileOverlap]).toEqual([64, 125, 8]);
    expect(optionsRecord(opts({ tile: 512, tileOverlap: 0 }))).toMatchObject({ tile: 512, tile_overlap: 0 });
    const untiled = optionsRecord(opts({}));
    expect('tile' in untiled || 'tile_overlap' in untiled).toBe(false);
  });
  it('refuse a tile under 64 px, an overlap not below the tile, an overlap without a tile, and tiles with crop layers', () => {
    expect(() => opts({ tile: 63 })).toThrow('tile must be an integer number of pixels in [64, 16384], got 63');
    expect(() => opts({ tile: 100.5 })).toThrow('got 100.5');
    expect(() => opts({ tile: 128, tileOverlap: 128 })).toThrow('tileOverlap must be an integer in [0, 128) (smaller than tile 128), got 128');
    expect(() => opts({ tile: 128, tileOverlap: -1 })).toThrow('got -1');
    expect(() => opts({ tileOverlap: 16 })).toThrow('tileOverlap needs tile');
    expect(() => opts({ tile: 256, cropNLayers: 1 })).toThrow('tile and cropNLayers exclude each other');
  });
});

/** A source over a decoded image that counts its reads and can fail from one tile on. */
function countingSource(image: RgbImage, failFrom = Infinity): ImageSource & { reads: number } {
  const s = {
    width: image.width,
    height: image.height,
    reads: 0,
    readRegion: (x0: number, y0: number, x1: number, y1: number): Promise<RgbImage> => {
      if (s.reads >= failFrom) return Promise.reject(new Error('truncated or corrupt image data'));
      s.reads++;
      return Promise.resolve(cropImage(image, x0, y0, x1, y1));
    },
  };
  return s;
}

describe('the generator in tiled mode', () => {
  let gen: MaskGenerator;
  let image: RgbImage;
  /** Each tile's records of the first run (its onTileDone). */
  const perTile = new Map<number, MaskRecord[]>();
  const boxes = generateTileBoxes(200, 150, 128, 48);
  beforeAll(async () => {
    gen = await MaskGenerator.load(MODEL, { pointsPerSide: 3, tile: 128, tileOverlap: 48 });
    // Spots, plus one square inside the overlap of tiles 0 and 2 (x 72–128) and more than 20 px from both tiles'
    // inner edges, where a prompt of each tile lands (x 106.7 in tile 0, 93.3 in tile 2, y 64): found twice.
    const data = new Uint8Array(spotsRaw(200, 150, 3));
    for (let y = 54; y <= 74; y++) for (let x = 93; x <= 107; x++) data.set([230, 120, 40], (y * 200 + x) * 3);
    image = { data, width: 200, height: 150 };
  });
  afterAll(async () => {
    await gen.release();
  });

  it('gives the same records from a source as from the whole image, and the same again with restored tiles', async () => {
    const whole = await gen.generate(image);
    const src = countingSource(image);
    const fromSource = await gen.generate(src, { tiles: { onTileDone: (i, n, r) => void perTile.set(i, r) } });
    expect(fromSource).toEqual(whole);
    expect(boxes).toEqual([[0, 0, 128, 128], [0, 22, 128, 150], [72, 0, 200, 128], [72, 22, 200, 150]]);
    expect(src.reads).toBe(4);
    expect([...perTile.keys()]).toEqual([0, 1, 2, 3]);
    expect(whole.length).toBeGreaterThan(2);
    // The overlaps see the same squares more than once: the NMS across tiles keeps one of each.
    expect([...perTile.values()].reduce((n, r) => n + r.length, 0)).toBeGreaterThan(whole.length);
    for (const r of whole) expect(boxes.map((b) => [b[0], b[1], b[2] - b[0], b[3] - b[1]])).toContainEqual(r.cropBox);

    // Tiles 0 and 1 restored: only 2 and 3 are read and computed, the records are the same.
    const restored = new Map([...perTile].filter(([i]) => i < 2));
    const progress: [number, number, number | undefined][] = [];
    const again = countingSource(image);
    const resumed = await gen.generate(again, { tiles: { restored }, onProgress: (p) => progress.push([p.promptsDone, p.prompts, p.tiles?.finished]) });
    expect(resumed).toEqual(whole);
    expect(again.reads).toBe(2);
    expect(progress[0]).toEqual([0, 2 * 9, 2]);
    expect(progress.at(-1)).toEqual([2 * 9, 2 * 9, 4]);
  });

  it('a tile that cannot be read fails the image naming the tile, after the tiles before it', async () => {
    const done: number[] = [];
    const err = await gen.generate(countingSource(image, 3), { tiles: { onTileDone: (i) => void done.push(i) } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TileReadError);
    expect((err as TileReadError).message).toBe('tile 4 of 4 (x 72–200, y 22–150) cannot be read: truncated or corrupt image data');
    expect((err as TileReadError).finished).toBe(3);
    expect(done).toEqual([0, 1, 2]);
  });

  it('journal tile lines round-trip exactly; only the latest version of a file counts; a finished image supersedes its tiles', async () => {
    const fp = { version: 'v', model: 'm', model_sha256: 's', format: 'coco', device: 'cpu', options: {} };
    const tile = (relPath: string, size: number, i: number): string =>
      journalTileLine({ relPath, file: { size, mtimeMs: 5 }, width: 200, height: 150, tile: i, tiles: 4, records: perTile.get(i) as MaskRecord[] });
    const file = path.join(tmp, 'tiles.journal.jsonl');
    const finished = '{"file":"done.tif","size":1,"mtime_ms":2,"width":200,"height":150,"records":[]}\n';
    await fsp.writeFile(file, journalHeader(fp) + tile('a.tif', 10, 0) + tile('a.tif', 11, 0) + tile('a.tif', 11, 2) + tile('done.tif', 1, 0) + finished);
    const j = await readJournal(file);
    expect(j?.warnings).toEqual([]);
    expect([...(j?.partial.keys() ?? [])]).toEqual(['a.tif']);
    const a = j?.partial.get('a.tif');
    expect([a?.file.size, a?.tiles, [...(a?.done.keys() ?? [])]]).toEqual([11, 4, [0, 2]]);
    expect((perTile.get(2) ?? []).length).toBeGreaterThan(0);
    expect(a?.done.get(2)).toEqual(perTile.get(2));
    expect(j?.entries.has('done.tif')).toBe(true);
  });
});

describe('small-region clean-up on a mask of a large image', () => {
  it('equals the whole-image clean-up, with a window of the box and strips under the area', () => {
    let x = 12345;
    const rnd = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (let trial = 0; trial < 40; trial++) {
      const w = 30 + Math.floor(rnd() * 30);
      const h = 30 + Math.floor(rnd() * 30);
      const bits = new Uint8Array(w * h);
      // A blob with holes and specks, near one or two borders: some outside strips are smaller than the area.
      const bx0 = Math.floor(rnd() * 6);
      const by0 = Math.floor(rnd() * 6);
      const bx1 = w - Math.floor(rnd() * 20) - 1;
      const by1 = h - Math.floor(rnd() * 20) - 1;
      for (let y = by0; y <= by1; y++) for (let xx = bx0; xx <= bx1; xx++) bits[y * w + xx] = rnd() < 0.93 ? 1 : 0;
      const minArea = 1 + Math.floor(rnd() * 120);
      const full = bits.slice();
      const a = removeSmallRegions(full, w, h, minArea, 'holes');
      const b = removeSmallRegions(full, w, h, minArea, 'islands');
      const res = cleanMask(encodeRowMajor(bits, h, w), minArea);
      expect(res.changed).toBe(a || b);
      expect(Buffer.from(decodeToRowMajor(res.rle)).equals(Buffer.from(full))).toBe(true);
    }
  });
});

/** A tiny GeoTIFF (written by geotiff.js): 40×30 RGB, UTM 33N, 0.5 m pixels, origin (500000, 4649776). */
function writeGeoTiff(file: string): Promise<void> {
  return writeGeoTiffAt(file, { data: new Uint8Array(spotsRaw(40, 30, 9)), width: 40, height: 30 }, { epsg: 32633, origin: [500000, 4649776], pixel: 0.5 });
}

describe('GeoTIFF georeferencing', () => {
  it('reads the transform as GDAL does: tie point and scale, PixelIsPoint moved to the corner, orientation applied', () => {
    const tags = { ModelTiepoint: [0, 0, 0, 500000, 4649776, 0], ModelPixelScale: [0.5, 0.5, 0] };
    const keys = { ProjectedCSTypeGeoKey: 32633 };
    expect(geoReference(tags, keys, 1, { width: 40, height: 30 })).toEqual({ crs: 'EPSG:32633', transform: [0.5, 0, 500000, 0, -0.5, 4649776] });
    expect(geoReference(tags, { ...keys, GTRasterTypeGeoKey: 2 }, 1, { width: 40, height: 30 })?.transform).toEqual([0.5, 0, 499999.75, 0, -0.5, 4649776.25]);
    expect(geoReference(tags, { GeographicTypeGeoKey: 4326 }, 1, { width: 40, height: 30 })?.crs).toBe('EPSG:4326');
    expect(geoReference(tags, { ProjectedCSTypeGeoKey: 32767 }, 1, { width: 40, height: 30 })?.crs).toBeNull();
    expect(geoReference({}, keys, 1, { width: 40, height: 30 })).toBeNull();
    const m = [2, 0, 0, 100, 0, -2, 0, 200, 0, 0, 0, 0, 0, 0, 0, 1];
    expect(geoReference({ ModelTransformation: m }, keys, 1, { width: 40, height: 30 })?.transform).toEqual([2, 0, 100, 0, -2, 200]);
    // Orientation 6 (displayed = stored turned 90° clockwise): displayed corner (u, v) is stored (v, H − u).
    const o6 = geoReference(tags, keys, 6, { width: 40, height: 30 })?.transform as number[];
    const at = (t: number[], u: number, v: number): [number, number] => [t[0] * u + t[1] * v + t[2], t[3] * u + t[4] * v + t[5]];
    expect(at(o6, 0, 0)).toEqual(at([0.5, 0, 500000, 0, -0.5, 4649776], 0, 30));
    expect(at(o6, 30, 40)).toEqual(at([0.5, 0, 500000, 0, -0.5, 4649776], 40, 0));
  });

  it('keeps a GeoTIFF input georeferenced in the output, tiled or not', async () => {
    const dir = path.join(tmp, 'geo');
    await fsp.mkdir(dir, { recursive: true });
    await writeGeoTiff(path.join(dir, 'ortho.tif'));
    await sharp(spotsRaw(40, 30, 2), { raw: { width: 40, height: 30, channels: 3 } }).png().toFile(path.join(dir, 'plain.png'));
    for (const extra of [[], ['--tile', '64']]) {
      const out = path.join(tmp, `geo${extra.length}.json`);
      const r = await runCli([dir, '--model', MODEL, '--points-per-side', '2', '--date', 'none', ...extra, '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      const text = await fsp.readFile(out, 'utf8');
      expect(text).toContain('{"id":2,"file_name":"plain.png","width":40,"height":30}');
      expect(text).toContain('{"id":1,"file_name":"ortho.tif","width":40,"height":30,"geo":{"crs":"EPSG:32633","transform":[0.5,0,500000,0,-0.5,4649776]}}');
      // Read back as every reader reads it (merge, compare, report keep it).
      expect(parseCocoDocument(text, out).images[0].geo).toEqual({ crs: 'EPSG:32633', transform: [0.5, 0, 500000, 0, -0.5, 4649776] });
    }
    const jsonl = path.join(tmp, 'geo.jsonl');
    expect((await runCli([path.join(dir, 'ortho.tif'), '--model', MODEL, '--points-per-side', '2', '--format', 'jsonl', '--out', jsonl])).code).toBe(0);
    expect(await fsp.readFile(jsonl, 'utf8')).toMatch(/^\{"file_name":"ortho.tif","width":40,"height":30,"geo":\{"crs":"EPSG:32633","transform":\[0.5,0,500000,0,-0.5,4649776\]\},"annotations":/u);
  });
});

describe('the command line', () => {
  it('refuses bad tile flags with one line each (exit 2), before any model is loaded', async () => {
    const img = path.join(tmp, 'any.png');
    await sharp(spotsRaw(40, 30, 1), { raw: { width: 40, height: 30, channels: 3 } }).png().toFile(img);
    const out = path.join(tmp, 'never.json');
    const cases: [string[], string][] = [
      [['--tile', '32'], 'sam-amg: --tile must be an integer number of pixels in [64, 16384], got 32\n'],
      [['--tile', '128', '--tile-overlap', '128'], 'sam-amg: --tile-overlap must be an integer in [0, 128) (smaller than --tile 128), got 128\n'],
      [['--tile-overlap', '8'], 'sam-amg: --tile-overlap needs --tile\n'],
      [['--tile', '256', '--crop-n-layers', '1'], 'sam-amg: --tile and --crop-n-layers exclude each other: tiles replace the crop pyramid (give --crop-n-layers 0)\n'],
    ];
    for (const [flags, message] of cases) {
      const r = await runCli([img, '--model', '/nonexistent-model', ...flags, '--out', out]);
      expect([r.code, r.stderr]).toEqual([2, message]);
    }
  });

  it('--format amg-png keeps --max-pixels with --tile: a larger image fails with the reason, before any work', async () => {
    const img = path.join(tmp, 'wide.png');
    await sharp(spotsRaw(200, 100, 1), { raw: { width: 200, height: 100, channels: 3 } }).png().toFile(img);
    const out = path.join(tmp, 'amg-png-out');
    const r = await runCli([img, '--model', MODEL, '--tile', '64', '--format', 'amg-png', '--max-pixels', '10000', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'sam-amg: error: wide.png: image is 200x100 = 20000 pixels, over the 10000-pixel limit (--max-pixels): --format amg-png writes one full-size PNG per mask, so --tile does not lift that limit for it (use coco, jsonl or sa1b) (decode)',
    );
  });
});

describe('progress per tile', () => {
  function capture(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
    const st = new PassThrough() as unknown as NodeJS.WriteStream & PassThrough;
    let text = '';
    st.on('data', (d: Buffer) => (text += d.toString('utf8')));
    Object.assign(st, { isTTY, columns: 160, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
    return { stream: st, text: () => text };
  }
  /** A tiled image of 40 tiles, 10 of them restored, `finished` done (64 prompts per tile computed). */
  const at = (finished: number): GenerateProgress => ({
    crops: 40,
    cropsDone: finished,
    prompts: 30 * 64,
    promptsDone: (finished - 10) * 64,
    encoderMs: 0,
    decoderMs: 0,
    postprocessMs: 0,
    done: false,
    tiles: { restored: 10, finished },
  });

  it('off a TTY: a line at every twentieth of the tiles with an ETA from the prompts left', async () => {
    const c = capture(false);
    const p = createProgress({ quiet: false, stream: c.stream });
    p.start(1, 0, 0);
    for (let f = 10; f <= 16; f++) p.imageProgress('big.tif', at(f));
    await new Promise((r) => setImmediate(r));
    // Steps of 2 tiles: lines at 12, 14 and 16 (not at 10, where the image started from the journal).
    const lines = c.text().split('\n').filter((l) => l !== '');
    expect(lines.map((l) => l.replace(/ETA .*$/u, 'ETA'))).toEqual([
      'big.tif: tile 12/40 (30 %), ETA',
      'big.tif: tile 14/40 (35 %), ETA',
      'big.tif: tile 16/40 (40 %), ETA',
    ]);
    for (const l of lines) expect(l).toMatch(/ETA ([\d.]+ (ms|s)|\d+ min \d+ s|\d+ h \d+ min)$/u);
  });

  it('on a TTY: the live line names the tile in progress and gives an ETA', async () => {
    const c = capture(true);
    const p = createProgress({ quiet: false, stream: c.stream, env: { NO_COLOR: '1' } });
    p.start(1, 0, 0);
    p.imageStarted('big.tif');
    p.imageProgress('big.tif', at(12));
    await new Promise((r) => setTimeout(r, 250));
    p.finish('done');
    expect(c.text()).toMatch(/0\/1 images · 0 masks · tile 13\/40, prompts 128\/1,920 · [\d,]+ prompts\/s · [^·]+ elapsed · ETA [\d.]+ [^·]+ · big\.tif/u);
  });
});

describe('overlays of a tiled run', () => {
  it('of an image read by region are drawn within --max-pixels, skipped with a warning beyond it; the masks are kept', async () => {
    const dir = path.join(tmp, 'ov');
    await fsp.mkdir(dir, { recursive: true });
    await sharp(spotsRaw(200, 100, 5), { raw: { width: 200, height: 100, channels: 3 } }).tiff({ tile: true, tileWidth: 64, tileHeight: 64 }).toFile(path.join(dir, 'wide.tif'));
    await sharp(spotsRaw(80, 60, 6), { raw: { width: 80, height: 60, channels: 3 } }).png().toFile(path.join(dir, 'small.png'));
    const overlays = path.join(tmp, 'ov-out');
    const out = path.join(tmp, 'ov.json');
    const r = await runCli([dir, '--model', MODEL, '--points-per-side', '2', '--tile', '64', '--max-pixels', '10000', '--overlay', overlays, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('sam-amg: warning: wide.tif: no overlay: 200x100 is over the 10000-pixel limit (--max-pixels) of an overlay, which draws the whole image\n');
    expect((await fsp.readdir(overlays)).sort()).toEqual(['small.png']);
    expect(await fsp.readFile(out, 'utf8')).toContain('{"id":2,"file_name":"wide.tif","width":200,"height":100}');
  });
});
