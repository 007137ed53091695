/**
 * Success is never reported on nothing: compare and merge refuse empty or foreign files, count images missing
 * from the actual output as missed masks, and every output format and the journal are read by one strict record
 * parser (area and bbox must agree with the RLE).
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MaskRecord } from '../src/base/types.js';
import { cocoDocument, jsonlLine, sa1bDocument, serializeCoco, serializeSa1b, type ImageResult } from '../src/output/index.js';
import { Journal, readJournal, type JournalFingerprint } from '../src/run/journal.js';
import { encodeRowMajor, rleArea } from '../src/rle/rle.js';
import { cli } from './helpers/scale.js';

const H = 20;
const W = 30;

function rect(x: number, y: number, w: number, h: number): MaskRecord {
  const m = new Uint8Array(H * W);
  for (let r = y; r < y + h; r++) for (let c = x; c < x + w; c++) m[r * W + c] = 1;
  const seg = encodeRowMajor(m, H, W);
  return { segmentation: seg, area: rleArea(seg), bbox: [x, y, w - 1, h - 1], predictedIou: 0.95, pointCoords: [x, y], stabilityScore: 0.97, cropBox: [0, 0, W, H] };
}

const INFO = { version: '0.1.0', date: null, model: 'm', modelSha256: 'abc', options: { points_per_side: 4 } };
const results = (): ImageResult[] => [
  { relPath: 'one.png', width: W, height: H, records: [rect(2, 3, 10, 8), rect(15, 5, 10, 10)] },
  { relPath: 'two.png', width: W, height: H, records: [rect(0, 0, 5, 5)] },
];

let dir: string;
const file = async (name: string, text: string): Promise<string> => {
  const p = path.join(dir, name);
  await fsp.writeFile(p, text);
  return p;
};

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'sam-amg-hardening-readers-'));
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('6. success is never reported on nothing', () => {
  it('compare: an empty or foreign actual file is exit 2; images missing from the actual output count as missed masks', async () => {
    const ref = await file('ref.json', serializeCoco(cocoDocument(results(), INFO)));
    const empty = await file('empty.json', '');
    const e = await cli(['compare', ref, empty, '--min-recall', '0.99']);
    expect(e.code).toBe(2);
    expect(e.stderr).toBe(`sam-amg: ${empty} is empty (0 bytes): not a sam-amg output\n`);
    const blank = await file('blank.jsonl', '\n\n');
    expect((await cli(['compare', ref, blank])).code).toBe(2);
    const foreign = await file('foreign.json', '{"hello": "world"}');
    const f = await cli(['compare', ref, foreign]);
    expect(f.code).toBe(2);
    expect(f.stderr).toContain('not a sam-amg output');
    expect((await cli(['compare', ref, path.join(dir, 'missing.json')])).code).toBe(2);

    // A valid output holding no images: every expected mask is missed.
    const none = await file('none.json', serializeCoco(cocoDocument([], INFO)));
    const n = await cli(['compare', ref, none, '--min-recall', '0.99', '--json']);
    expect(n.code).toBe(1);
    const report = JSON.parse(n.stdout);
    expect(report.totals).toMatchObject({ images_compared: 0, expected_masks: 3, matched: 0, missing: 3, recall: 0 });
    expect(report.failures[0]).toMatch(/^recall 0\/3 = 0 < --min-recall 0\.99; missing: one\.png#1, one\.png#2, two\.png#3$/u);
    // One image missing: its mask is missed, recall 2/3.
    const part = await file('part.json', serializeCoco(cocoDocument(results().slice(0, 1), INFO)));
    const p = await cli(['compare', ref, part, '--json']);
    expect(p.code).toBe(1);
    expect(JSON.parse(p.stdout).totals).toMatchObject({ images_compared: 1, expected_masks: 3, matched: 2, missing: 1 });
    expect((await cli(['compare', ref, part, '--min-recall', '0.6'])).code).toBe(0);
    // The other way round (the actual output holds more images) passes unless --fail-on-image-mismatch.
    expect((await cli(['compare', part, ref])).code).toBe(0);
  });

  it('merge refuses an empty input (exit 2)', async () => {
    const ok = await file('m-ok.json', serializeCoco(cocoDocument(results().slice(0, 1), INFO)));
    const empty = await file('m-empty.json', '');
    const r = await cli(['merge', path.join(dir, 'merged.json'), ok, empty]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`sam-amg: ${empty} is empty (0 bytes): not a sam-amg output\n`);
    await expect(fsp.access(path.join(dir, 'merged.json'))).rejects.toThrow();
  });
});

describe('7. one strict record parser for outputs, journals, compare and merge', () => {
  /** The first record of one.png with its area off by one (its bbox off by one for `field` 'bbox'). */
  const tamper = (text: string, field: 'area' | 'bbox'): string =>
    field === 'area' ? text.replace('"area":80,', '"area":81,') : text.replace('"bbox":[2,3,9,7]', '"bbox":[2,3,9,8]');

  it('COCO, JSONL and SA-1B files whose area or bbox disagrees with the RLE are refused, naming the field', async () => {
    const coco = serializeCoco(cocoDocument(results(), INFO));
    expect(coco).toContain('"area":80,');
    const jsonl = results().map(jsonlLine).join('');
    const sa1b = serializeSa1b(sa1bDocument(results()[0], 1));
    const ref = await file('r7.json', coco);
    for (const [name, text, at] of [
      ['c-area.json', tamper(coco, 'area'), 'annotations[0].area: 81 but the mask has 80 pixels'],
      ['c-bbox.json', tamper(coco, 'bbox'), "annotations[0].bbox: [2, 3, 9, 8] but the mask's box is [2, 3, 9, 7]"],
      ['j-area.jsonl', tamper(jsonl, 'area'), 'annotations[0].area: 81 but the mask has 80 pixels'],
      ['s-bbox.json', tamper(sa1b, 'bbox'), "annotations[0].bbox: [2, 3, 9, 8] but the mask's box is [2, 3, 9, 7]"],
    ] as const) {
      const p = await file(name, text);
      const r = await cli(['compare', ref, p]);
      expect({ name, code: r.code }).toEqual({ name, code: 2 });
      expect(r.stderr).toContain(at);
      const m = await cli(['merge', path.join(dir, `merged-${name}`), p]);
      expect({ name, code: m.code }).toEqual({ name, code: 2 });
      expect(m.stderr).toContain(at);
    }
  });

  it('a journal line whose area or bbox disagrees with its mask is not used (the image is recomputed)', async () => {
    const fp: JournalFingerprint = { version: '0.1.0', model: 'm', model_sha256: 'abc', format: 'coco', device: 'cpu', options: {} };
    const j = path.join(dir, 'tampered.journal.jsonl');
    const journal = await Journal.create(j, fp);
    for (const r of results()) await journal.append(r, { size: 1, mtimeMs: 2 });
    await journal.close();
    const text = await fsp.readFile(j, 'utf8');
    await fsp.writeFile(j, tamper(text, 'area'));
    const read = await readJournal(j);
    expect([...(read?.entries.keys() ?? [])]).toEqual(['two.png']);
    expect(read?.warnings).toEqual([`journal ${j} line 2 ignored (record 0.area: 81 but the mask has 80 pixels); that image is recomputed`]);
    await fsp.writeFile(j, tamper(text, 'bbox'));
    expect((await readJournal(j))?.warnings).toEqual([
      `journal ${j} line 2 ignored (record 0.bbox: [2, 3, 9, 8] but the mask's box is [2, 3, 9, 7]); that image is recomputed`,
    ]);
  });
});
