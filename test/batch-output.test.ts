/**
 * Output side of batches: disk errors leave the previous output and the journal intact, sa1b names cannot escape
 * the folder, the sidecar error list, fatal write errors stop the batch, journal parsing, overlays, progress.
 */
import fs, { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { MaskGenerator } from '../src/node/mask-generator.js';
import { amgSegmenter } from '../src/run/segmenter.js';
import type { MaskRecord } from '../src/base/types.js';
import { errorsPathFor } from '../src/output/sinks/index.js';
import { planOutputPaths } from '../src/run/output-plan.js';
import { createProgress, fmtDuration, formatSummary, plural } from '../src/cli/progress.js';
import { parseCocoDocument } from '../src/output/coco-parse.js';
import { DEFAULT_OVERLAY_STYLE, maskColour, overlayPathFor, overlayPng, parseOverlayStyle, renderOverlay } from '../src/output/overlay.js';
import { sa1bPathFor } from '../src/output/sa1b.js';
import { encodeRowMajor } from '../src/rle/rle.js';
import { runBatch } from '../src/run/batch.js';
import {
  fingerprintDifferences,
  Journal,
  journalHeader,
  journalLine,
  readJournal,
  type JournalFingerprint,
} from '../src/run/journal.js';
import { FAST, lineCount, MODEL, runCli, writeShapeImages } from './helpers/batch.js';

let tmp: string;
let photos: string;

beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sam-amg-batch-output-'));
  photos = path.join(tmp, 'photos');
  await writeShapeImages(photos, 3, 64, 48);
});

afterAll(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

afterEach(() => {
  vi.restoreAllMocks();
});

function enospc(file: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOSPC: no space left on device, open '${file}'`), { code: 'ENOSPC', errno: -28, syscall: 'open' });
}

describe('disk errors', () => {
  it('an injected ENOSPC on the final write leaves the old output byte for byte and the journal resumable', async () => {
    const out = path.join(tmp, 'disk.json');
    expect((await runCli([photos, ...FAST, '--out', out])).code).toBe(0);
    const before = await fsp.readFile(out);

    // The same run again, but creating the output's temp file fails as on a full disk.
    const realOpen = fs.promises.open;
    const spy = vi.spyOn(fs.promises, 'open').mockImplementation(((file: fs.PathLike, ...rest: unknown[]) => {
      // Only the output's temp file (`.disk.json.<pid>.<hex>.tmp`), not the journal's.
      if (/^\.disk\.json\.\d+\.[0-9a-f]+\.tmp$/u.test(path.basename(String(file)))) return Promise.reject(enospc(String(file)));
      return (realOpen as (...a: unknown[]) => Promise<fs.promises.FileHandle>)(file, ...rest);
    }) as typeof fs.promises.open);
    const r = await runCli([photos, ...FAST, '--date', '2030-01-01T00:00:00.000Z', '--out', out]);
    spy.mockRestore();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`sam-amg: cannot write ${out}: no space left on device; the previous output is unchanged`);
    expect(await fsp.readFile(out)).toEqual(before);
    // No temp file left behind; the journal holds the three finished images.
    expect((await fsp.readdir(tmp)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(await lineCount(`${out}.journal.jsonl`)).toBe(4);

    // Space is back: --resume writes the output without recomputing anything.
    const again = await runCli([photos, ...FAST, '--date', '2030-01-01T00:00:00.000Z', '--out', out, '--resume']);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('resuming: 3 of 3 images already done');
    expect(again.stderr).not.toMatch(/^\[\d\/3\]/mu);
    const after = (await fsp.readFile(out, 'utf8')).replace('2030-01-01T00:00:00.000Z', '2024-01-02T03:04:05.000Z');
    expect(after).toBe(before.toString('utf8'));
  });

  it('a journal that cannot be written stops the batch (fatal) instead of running on unresumable', async () => {
    const generator = await MaskGenerator.load(MODEL, { pointsPerSide: 2 });
    try {
      const items = ['img-00.png', 'img-01.png', 'img-02.png'].map((n) => ({ path: path.join(photos, n), relPath: n }));
      const seen: string[] = [];
      const outcome = await runBatch({
        items,
        segmenter: amgSegmenter(generator),
        events: {
          onResult: (r) => {
            seen.push(r.relPath);
            throw new Error(`cannot write journal: no space left on device`);
          },
        },
      });
      expect(seen).toEqual(['img-00.png']);
      expect(outcome.fatal?.message).toBe('cannot write journal: no space left on device');
      // The image that finished is still a result; the others were never started.
      expect(outcome.results.map((r) => r.relPath)).toEqual(['img-00.png']);
      expect(outcome.skipped).toBe(2);
    } finally {
      await generator.adapter.release();
    }
  });
});

describe('sa1b and overlay names', () => {
  it('refuses names that would leave the folder, and names two images would share', () => {
    const dir = path.join(tmp, 'sa');
    const rel = ['a.jpg', 'a.png', '../evil.jpg', 'x/../../evil.jpg', '/etc/passwd.jpg', 'C:\\win.jpg', 'sub\\..\\..\\e.jpg', 'errors.png', 'ok/b.jpg'];
    const items = rel.map((r) => ({ path: `/in/${r}`, relPath: r }));
    const plan = planOutputPaths(items, dir, sa1bPathFor, 'output', new Map([[errorsPathFor('sa1b', dir), 'the error list']]));
    expect([...plan.paths]).toEqual([
      [0, path.join(dir, 'a.json')],
      [8, path.join(dir, 'ok/b.json')],
    ]);
    expect(plan.errors.map((e) => [e.index, e.error.stage, e.error.message])).toEqual([
      [1, 'output', 'output name a.json is already used by a.jpg'],
      [2, 'output', `refusing output name for "../evil.jpg": '..' segment`],
      [3, 'output', `refusing output name for "x/../../evil.jpg": '..' segment`],
      [4, 'output', 'refusing output name for "/etc/passwd.jpg": absolute path'],
      [5, 'output', 'refusing output name for "C:\\\\win.jpg": absolute path'],
      [6, 'output', `refusing output name for "sub\\\\..\\\\..\\\\e.jpg": '..' segment`],
      [7, 'output', 'output name errors.json is already used by the error list'],
    ]);
    expect(overlayPathFor(dir, 'ok/b.jpg')).toBe(path.join(dir, 'ok/b.png'));
    expect(() => overlayPathFor(dir, '../b.jpg')).toThrow(/'\.\.' segment/u);
  });

  it('sa1b mirrors the input tree, lists failures in errors.json and removes a stale one after a clean run', async () => {
    const tree = path.join(tmp, 'tree');
    await writeShapeImages(path.join(tree, 'deep/er'), 1, 40, 30);
    await writeShapeImages(tree, 1, 40, 30);
    await fsp.writeFile(path.join(tree, 'broken.png'), 'nope');
    const out = path.join(tmp, 'tree-out');
    const r = await runCli([tree, ...FAST, '--format', 'sa1b', '--out', out]);
    expect(r.code).toBe(1);
    const names = (await fsp.readdir(out, { recursive: true })).sort();
    expect(names).toEqual(['.sam-amg.journal.jsonl', 'deep', 'deep/er', 'deep/er/img-00.json', 'errors.json', 'img-00.json']);
    const doc = JSON.parse(await fsp.readFile(path.join(out, 'deep/er/img-00.json'), 'utf8'));
    // Image ids are positions in the sorted input list (broken.png is 1), stable whatever fails.
    expect(doc.image).toEqual({ image_id: 2, width: 40, height: 30, file_name: 'deep/er/img-00.png' });
    expect(doc.annotations[0].segmentation.size).toEqual([30, 40]);
    expect(JSON.parse(await fsp.readFile(path.join(out, 'errors.json'), 'utf8'))).toEqual({
      errors: [{ file: 'broken.png', stage: 'decode', message: 'not a supported image' }],
    });
    expect(r.stderr).toContain(`1 image failed (1 decode); listed in ${path.join(out, 'errors.json')}`);

    await fsp.rm(path.join(tree, 'broken.png'));
    expect((await runCli([tree, ...FAST, '--format', 'sa1b', '--out', out, '--resume'])).code).toBe(0);
    expect((await fsp.readdir(out)).sort()).toEqual(['deep', 'img-00.json']);
  });

  it('jsonl writes one line per finished image and its errors next to it', async () => {
    const dir = path.join(tmp, 'jl');
    await writeShapeImages(dir, 2, 40, 30);
    await fsp.writeFile(path.join(dir, 'z.png'), '');
    const out = path.join(tmp, 'jl.jsonl');
    const r = await runCli([dir, ...FAST, '--format', 'jsonl', '--out', out, '--no-journal']);
    expect(r.code).toBe(1);
    const lines = (await fsp.readFile(out, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.file_name, l.width, l.height])).toEqual([
      ['img-00.png', 40, 30],
      ['img-01.png', 41, 30],
    ]);
    expect(lines[1].annotations[0].id).toBe(1);
    expect(JSON.parse(await fsp.readFile(errorsPathFor('jsonl', out), 'utf8'))).toEqual({
      errors: [{ file: 'z.png', stage: 'decode', message: 'empty file' }],
    });
    await expect(fsp.access(`${out}.journal.jsonl`)).rejects.toThrow();
  });
});

describe('journal', () => {
  const fp: JournalFingerprint = {
    version: '0.1.0',
    model: 'm',
    model_sha256: 'abc',
    format: 'coco',
    device: 'cpu',
    options: { points_per_side: 4, pred_iou_thresh: 0.88 },
  };
  const rec: MaskRecord = {
    segmentation: encodeRowMajor(Uint8Array.from([0, 1, 1, 0, 1, 1]), 2, 3),
    area: 4,
    bbox: [1, 0, 1, 1],
    predictedIou: Math.fround(0.9312),
    pointCoords: [1.5, 0.25],
    stabilityScore: Math.fround(0.97),
    cropBox: [0, 0, 3, 2],
  };

  it('round-trips results exactly, cuts a torn last line and skips a bad one', async () => {
    const file = path.join(tmp, 'unit.journal.jsonl');
    const j = await Journal.create(file, fp);
    await j.append({ relPath: 'a.png', width: 3, height: 2, records: [rec] }, { size: 10, mtimeMs: 1234.5 });
    await j.close();
    await fsp.appendFile(file, '{"file":"b.png","size":1}\n{"file":"c.png","wid');
    const read = await readJournal(file);
    expect(read?.fingerprint).toEqual(fp);
    expect([...read!.entries.keys()]).toEqual(['a.png']);
    const a = read!.entries.get('a.png')!;
    expect(a.file).toEqual({ size: 10, mtimeMs: 1234.5 });
    expect(a.result.records[0]).toEqual(rec);
    expect(journalLine(a.result, a.file)).toBe(journalLine({ relPath: 'a.png', width: 3, height: 2, records: [rec] }, a.file));
    expect(read!.warnings).toEqual([`journal ${file} line 3 ignored (width is not a positive integer); that image is recomputed`]);
    // Reopening cuts the torn line so that the next append starts on a line of its own.
    const k = await Journal.reopen(file);
    expect(k.truncatedBytes).toBe('{"file":"c.png","wid'.length);
    await k.close();
    expect((await fsp.readFile(file, 'utf8')).endsWith('"size":1}\n')).toBe(true);
  });

  it('names every difference of a fingerprint, and refuses files that are not journals', async () => {
    const other = { ...fp, model_sha256: 'def', options: { points_per_side: 8, pred_iou_thresh: 0.88, extra: true } };
    expect(fingerprintDifferences(fp, other)).toEqual([
      'model_sha256: "abc" ≠ "def"',
      'options.points_per_side: 4 ≠ 8',
      'options.extra: unset ≠ true',
    ]);
    expect(fingerprintDifferences(fp, { ...fp })).toEqual([]);
    const notJournal = path.join(tmp, 'not.journal.jsonl');
    await fsp.writeFile(notJournal, '{"hello":1}\n');
    await expect(readJournal(notJournal)).rejects.toThrow(`${notJournal} is not a sam-amg journal (no header)`);
    expect(await readJournal(path.join(tmp, 'missing.jsonl'))).toBeNull();
    expect(journalHeader(fp)).toBe(
      '{"sam_amg_journal":1,"fingerprint":{"version":"0.1.0","model":"m","model_sha256":"abc","format":"coco","device":"cpu","options":{"points_per_side":4,"pred_iou_thresh":0.88}}}\n',
    );
  });
});

describe('overlay', () => {
  // 4×3 grey image; mask 0 is the left column pair, mask 1 a single pixel.
  const W = 4;
  const H = 3;
  const image = { width: W, height: H, data: new Uint8Array(W * H * 3).fill(100) };
  const m0 = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) m0[y * W] = m0[y * W + 1] = 1;
  const m1 = new Uint8Array(W * H);
  m1[1 * W + 3] = 1;
  const base = { predictedIou: 0.9, stabilityScore: 0.95, cropBox: [0, 0, W, H] as [number, number, number, number] };
  const records: MaskRecord[] = [
    { ...base, segmentation: encodeRowMajor(m0, H, W), area: 6, bbox: [0, 0, 1, 2], pointCoords: [0.5, 1] },
    { ...base, segmentation: encodeRowMajor(m1, H, W), area: 1, bbox: [3, 1, 0, 0], pointCoords: [3, 1] },
  ];
  const px = (rgb: Uint8Array, x: number, y: number): number[] => Array.from(rgb.subarray((y * W + x) * 3, (y * W + x) * 3 + 3));

  it('fills each mask in its colour at the given opacity and leaves the rest of the photo alone', () => {
    const rgb = renderOverlay(image, records, { ...DEFAULT_OVERLAY_STYLE, outline: false, alpha: 0.5 });
    const c0 = maskColour(0);
    const blend = (c: number): number => (100 * 128 + c * 128 + 128) >> 8;
    expect(px(rgb, 0, 0)).toEqual(c0.map(blend));
    expect(px(rgb, 1, 2)).toEqual(c0.map(blend));
    expect(px(rgb, 3, 1)).toEqual(maskColour(1).map(blend));
    expect(px(rgb, 2, 0)).toEqual([100, 100, 100]);
    expect(px(rgb, 3, 0)).toEqual([100, 100, 100]);
    // The input is not modified.
    expect(image.data.every((v) => v === 100)).toBe(true);
  });

  it('outlines in solid colour, draws boxes and points, and encodes the same PNG bytes every time', async () => {
    const outlined = renderOverlay(image, records, DEFAULT_OVERLAY_STYLE);
    // Every pixel of mask 0 touches its border or the image's at this size.
    expect(px(outlined, 0, 1)).toEqual(maskColour(0));
    expect(px(outlined, 3, 1)).toEqual(maskColour(1));
    expect(px(outlined, 2, 1)).toEqual([100, 100, 100]);
    const boxed = renderOverlay(image, records, parseOverlayStyle('box'));
    expect(px(boxed, 1, 2)).toEqual(maskColour(0));
    expect(px(boxed, 2, 2)).toEqual([100, 100, 100]);
    const pointed = renderOverlay(image, records, parseOverlayStyle('points'));
    // The smaller mask is drawn last; its point's disc covers (3, 1).
    expect(px(pointed, 3, 1)).toEqual(maskColour(1));
    const a = await overlayPng(image, records);
    const b = await overlayPng(image, records);
    expect(a.equals(b)).toBe(true);
    const back = await sharp(a).raw().toBuffer({ resolveWithObject: true });
    expect([back.info.width, back.info.height, back.info.channels]).toEqual([W, H, 3]);
    expect(Uint8Array.from(back.data)).toEqual(outlined);
  });

  it('parses --overlay-style and gives neighbouring masks distinct colours', () => {
    expect(parseOverlayStyle('outline,box,alpha=0.3')).toEqual({ fill: false, outline: true, box: true, points: false, alpha: 0.3 });
    expect(parseOverlayStyle('alpha=1')).toEqual({ ...DEFAULT_OVERLAY_STYLE, alpha: 1 });
    expect(() => parseOverlayStyle('fill,glow')).toThrow("--overlay-style: unknown item 'glow'");
    expect(() => parseOverlayStyle('alpha=0')).toThrow('alpha must be in (0, 1]');
    const colours = Array.from({ length: 12 }, (_, i) => maskColour(i).join(','));
    expect(new Set(colours).size).toBe(12);
    expect(maskColour(3)).toEqual(maskColour(3));
  });
});

describe('progress', () => {
  function capture(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
    const s = new PassThrough() as unknown as NodeJS.WriteStream & PassThrough;
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString('utf8')));
    Object.assign(s, { isTTY, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
    return { stream: s, text: () => text };
  }

  const timing = { encoderMs: 1200, decoderMs: 850.4, postprocessMs: 99.6, prompts: 16 };
  const stage = (cropsDone: number, promptsDone: number, done = false) => ({
    crops: 1,
    cropsDone,
    prompts: 16,
    promptsDone,
    encoderMs: 0,
    decoderMs: 0,
    postprocessMs: 0,
    done,
  });

  it('off a TTY: one line per image with size and where the time went, errors named, a summary and a speed line; --quiet keeps only errors', async () => {
    const c = capture(false);
    const p = createProgress({ quiet: false, stream: c.stream });
    p.start(3, 1, 16);
    p.imageProgress('a.png', stage(1, 8));
    p.imageDone('a.png', 5, 0.5, { width: 96, height: 72, timing });
    p.imageFailed('b.png', 'decode', 'empty file');
    p.finish(formatSummary({ ok: 2, restored: 1, failed: 1, skipped: 0, masks: 9, seconds: 1.25, out: 'm.json' }));
    await new Promise((r) => setImmediate(r));
    const lines = c.text().split('\n');
    expect(lines.slice(0, 3)).toEqual([
      '[2/3] a.png: 5 masks in 500 ms (96x72; encoder 1.20 s, decoder 850 ms, post-processing 100 ms)',
      'sam-amg: error: b.png: empty file (decode)',
      '2 images ok (1 from the journal), 1 failed, 0 skipped; 9 masks in 1.25 s → m.json',
    ]);
    // The speed summary: per image, images/s, prompts/s and the split of the time (1200 : 850.4 : 99.6).
    expect(lines[3]).toMatch(/^speed: [\d.]+ (ms|s) per image \([\d.]+ images\/s\), [\d,]+ prompts\/s; time in encoder 56 %, decoder 40 %, post-processing 5 %$/u);
    expect(lines.slice(4)).toEqual(['']);
    const q = capture(false);
    const quiet = createProgress({ quiet: true, stream: q.stream });
    quiet.start(2);
    quiet.imageDone('a.png', 5, 0.5);
    quiet.info('hello');
    quiet.imageFailed('b.png', 'decode', 'empty file');
    quiet.finish('summary');
    await new Promise((r) => setImmediate(r));
    expect(q.text()).toBe('sam-amg: error: b.png: empty file (decode)\n');
  });

  it('on a TTY: a live line with crops and prompts inside the image, prompts/s and an ETA from the first batch; finished images stay in the scrollback; NO_COLOR is honoured', async () => {
    const c = capture(true);
    const p = createProgress({ quiet: false, stream: c.stream, env: { NO_COLOR: '1' } });
    p.start(4, 0, 16);
    p.imageStarted('first.png');
    p.imageProgress('first.png', stage(1, 0));
    p.imageProgress('first.png', stage(1, 8));
    // ora redraws on its own timer (80 ms frames).
    await new Promise((r) => setTimeout(r, 250));
    const live = c.text();
    // One batch of 8 prompts done: the ETA is known already (64 prompts in all, 56 to go).
    expect(live).toMatch(/0\/4 images · 0 masks · crop 1\/1, prompts 8\/16 · [\d,]+ prompts\/s · [\d.]+ (ms|s) elapsed · ETA [\d.]+ (ms|s|min [\d]+ s) · first\.png/u);
    p.imageDone('first.png', 7, 0.2, { width: 10, height: 20, timing });
    p.imageStarted('second.png');
    await new Promise((r) => setTimeout(r, 250));
    p.finish('done');
    await new Promise((r) => setImmediate(r));
    const text = c.text();
    expect(text).toContain('[1/4] first.png: 7 masks in 200 ms (10x20; encoder 1.20 s, decoder 850 ms, post-processing 100 ms)\n');
    expect(text).toMatch(/1\/4 images · 7 masks · [\d,]+ prompts\/s · [\d.]+ (ms|s) elapsed · ETA [^·]+ · second\.png/u);
    expect(text).toMatch(/done\nspeed: [^\n]+\n$/u);
    // No SGR colour sequences (cursor movement is fine).
    expect(text).not.toMatch(/\u001b\[\d+(;\d+)*m/u);
    expect(formatSummary({ ok: 0, restored: 0, failed: 0, skipped: 4, masks: 0, seconds: 75, out: 'o', interrupted: 'SIGTERM' })).toBe(
      'interrupted (SIGTERM): 0 images ok, 0 failed, 4 skipped; 0 masks in 1 min 15 s → o',
    );
  });

  it('one duration format and correct plurals everywhere', () => {
    expect([0.0004, 0.3456, 4.25, 12.34, 75, 3599.6, 7500, NaN].map(fmtDuration)).toEqual([
      '0 ms',
      '346 ms',
      '4.25 s',
      '12.3 s',
      '1 min 15 s',
      '1 h 00 min',
      '2 h 05 min',
      '?',
    ]);
    expect([plural(0, 'image'), plural(1, 'image'), plural(2, 'mask'), plural(12000, 'mask')]).toEqual(['0 images', '1 image', '2 masks', '12,000 masks']);
    expect(formatSummary({ ok: 1, restored: 0, failed: 1, skipped: 0, masks: 1, seconds: 2, out: 'o.json' })).toBe(
      '1 image ok, 1 failed, 0 skipped; 1 mask in 2.00 s → o.json',
    );
    expect(formatSummary({ ok: 9996, restored: 4000, failed: 4, skipped: 0, masks: 512330, seconds: 11520, out: 'm.json', written: false })).toBe(
      '9,996 images ok (4,000 from the journal), 4 failed, 0 skipped; 512,330 masks in 3 h 12 min; m.json was not written',
    );
  });
});
