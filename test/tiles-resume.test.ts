/**
 * Resuming inside an image (tiled runs): the built command line (bin/sam-amg.js, from dist/, built by npm test) is
 * killed with SIGKILL in the middle of a many-tile image, `--resume` continues at its first unfinished tile, and the
 * output is byte for byte the one of an uninterrupted run. A truncated tiled TIFF keeps the tiles before the damage
 * in the journal and fails with a message naming the tile. Baselines and resumes run in-process.
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { journalPathFor } from '../src/run/journal.js';
import { lineCount, MODEL, ROOT, runCli, spawnCli, waitForLines } from './helpers/batch.js';
import { spotsRaw } from './helpers/spots.js';
import { afterIfd, LONG, SHORT, writeTiffHead, type IfdEntry } from './helpers/tiff.js';

const BIN = path.join(ROOT, 'bin/sam-amg.js');
const W = 448;
const H = 352;
/** 4 × 3 = 12 tiles of 128 px (starts 0, 112, 224, 320 across; 0, 112, 224 down). */
const TILED = ['--model', MODEL, '--points-per-side', '3', '--tile', '128', '--tile-overlap', '16', '--date', 'none'];

/**
 * An uncompressed RGB TIFF in tiles of `tile` px with its directory first (as cloud-optimised GeoTIFFs have it), so
 * that a file cut short still opens and only the tiles past the cut are lost.
 */
function tiledTiff(raw: Uint8Array, w: number, h: number, tile: number): Buffer {
  const across = Math.ceil(w / tile);
  const n = across * Math.ceil(h / tile);
  const tileBytes = tile * tile * 3;
  const entries: IfdEntry[] = [
    [256, LONG, 1, w], [257, LONG, 1, h], [258, SHORT, 3, 0], [259, SHORT, 1, 1], [262, SHORT, 1, 2],
    [277, SHORT, 1, 3], [284, SHORT, 1, 1], [322, SHORT, 1, tile], [323, SHORT, 1, tile], [324, LONG, n, 0], [325, LONG, n, 0],
  ];
  const bpsAt = afterIfd(entries.length);
  const offsAt = bpsAt + 6;
  const countsAt = offsAt + 4 * n;
  const dataAt = countsAt + 4 * n;
  entries[2][3] = bpsAt;
  entries[9][3] = offsAt;
  entries[10][3] = countsAt;
  const buf = Buffer.alloc(dataAt + n * tileBytes);
  writeTiffHead(buf, entries);
  for (let k = 0; k < 3; k++) buf.writeUInt16LE(8, bpsAt + 2 * k);
  for (let t = 0; t < n; t++) {
    buf.writeUInt32LE(dataAt + t * tileBytes, offsAt + 4 * t);
    buf.writeUInt32LE(tileBytes, countsAt + 4 * t);
    const tx = (t % across) * tile;
    const ty = Math.floor(t / across) * tile;
    for (let y = 0; y < tile && ty + y < h; y++) {
      const s = ((ty + y) * w + tx) * 3;
      const len = Math.min(tile, w - tx) * 3;
      buf.set(raw.subarray(s, s + len), dataAt + t * tileBytes + y * tile * 3);
    }
  }
  return buf;
}

let tmp: string;
let image: string;
let clean: string;
beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sam-amg-tiles-resume-'));
  image = path.join(tmp, 'in', 'ortho.tif');
  await fsp.mkdir(path.dirname(image));
  await fsp.writeFile(image, tiledTiff(spotsRaw(W, H, 11), W, H, 64));
  clean = path.join(tmp, 'clean.json');
  const r = await runCli([image, ...TILED, '--out', clean]);
  expect(r.code, r.stderr).toBe(0);
  expect((await fsp.readFile(clean, 'utf8')).split('"image_id":1').length - 1).toBeGreaterThan(3);
});
afterAll(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

describe('kill -9 inside a tiled image, then --resume', () => {
  it('continues at the first unfinished tile and writes the bytes of an uninterrupted run', async () => {
    const out = path.join(tmp, 'killed.json');
    const journal = journalPathFor('coco', out);
    const child = spawn(process.execPath, [BIN, image, ...TILED, '--out', out], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    const ended = new Promise<string | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (_code, signal) => resolve(signal));
    });
    // The header and 4 finished tiles: a quarter of the image.
    await waitForLines(journal, 5, child);
    child.kill('SIGKILL');
    expect(await ended).toBe('SIGKILL');
    await expect(fsp.access(out)).rejects.toThrow();
    const lines = (await fsp.readFile(journal, 'utf8')).split('\n').filter((l) => l.startsWith('{"tile_of":"ortho.tif"'));
    const kept = lines.length;
    expect(kept).toBeGreaterThanOrEqual(4);
    expect(kept).toBeLessThan(12);
    expect(lines.map((l) => (JSON.parse(l) as { tile: number }).tile)).toEqual([...Array(kept).keys()]);

    const r = await runCli([image, ...TILED, '--out', out, '--resume']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`resuming ortho.tif at tile ${kept + 1} of 12: ${kept} tiles already done`);
    expect(await fsp.readFile(out)).toEqual(await fsp.readFile(clean));
    // A complete run removes its journal.
    await expect(fsp.access(journal)).rejects.toThrow();
  });
});

describe('SIGINT inside a tiled image', () => {
  it('stops after the tile in progress (exit 130, the image skipped), and --resume finishes it with the same bytes', async () => {
    const out = path.join(tmp, 'stopped.json');
    const journal = journalPathFor('coco', out);
    const { child, done } = spawnCli([image, ...TILED, '--out', out]);
    await waitForLines(journal, 3, child);
    child.kill('SIGINT');
    const ended = await done;
    expect(ended.code).toBe(130);
    expect(ended.stderr).toContain('SIGINT: finishing the tiles in progress, then writing the output; the journal keeps every finished image and tile');
    expect(ended.stderr).toMatch(/interrupted \(SIGINT\): 0 images ok, 0 failed, 1 skipped/u);
    const kept = (await fsp.readFile(journal, 'utf8')).split('\n').filter((l) => l.startsWith('{"tile_of":')).length;
    expect(kept).toBeGreaterThanOrEqual(2);
    expect(kept).toBeLessThan(12);
    const r = await runCli([image, ...TILED, '--out', out, '--resume']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`resuming ortho.tif at tile ${kept + 1} of 12`);
    expect(await fsp.readFile(out)).toEqual(await fsp.readFile(clean));
  });
});

describe('a truncated tiled TIFF', () => {
  it('keeps the tiles before the damage in the journal and names the tile it could not read (exit 1)', async () => {
    const cut = path.join(tmp, 'cut', 'ortho.tif');
    await fsp.mkdir(path.dirname(cut));
    const whole = await fsp.readFile(image);
    // The last row of TIFF tiles (y ≥ 320) and a little of the row above it are cut: the first run tile that needs
    // them is the third one (x 0–128, y 224–352).
    await fsp.writeFile(cut, whole.subarray(0, whole.length - 7 * 64 * 64 * 3 - 100));
    const out = path.join(tmp, 'cut.json');
    const journal = journalPathFor('coco', out);
    const message =
      'sam-amg: error: ortho.tif: tile 3 of 12 (x 0–128, y 224–352) cannot be read: truncated or corrupt image data (the file ends before the data of this part of the image); ' +
      'the 2 tiles before it are kept in the journal (--resume continues from there) (decode)';
    const first = await runCli([cut, ...TILED, '--out', out]);
    expect(first.code).toBe(1);
    expect(first.stderr).toContain(message);
    expect((await fsp.readFile(journal, 'utf8')).split('\n').filter((l) => l.startsWith('{"tile_of":')).length).toBe(2);
    // Resumed, it starts at that tile and reports the image again.
    const again = await runCli([cut, ...TILED, '--out', out, '--resume']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('resuming ortho.tif at tile 3 of 12: 2 tiles already done');
    expect(again.stderr).toContain(message);
    expect(await lineCount(journal)).toBe(3);
  });
});
