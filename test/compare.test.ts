import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MaskRecord } from '../src/base/types.js';
import { compareSets, DEFAULT_LIMITS, matchItem, type CompareLimits } from '../src/compare/compare.js';
import { maskIou } from '../src/compare/match.js';
import { readMaskSet } from '../src/output/read.js';
import { cocoDocument, jsonlLine, sa1bDocument, serializeCoco, serializeSa1b, type ImageResult } from '../src/output/index.js';
import { encodeRowMajor, fromCoco, rleArea, rleBoxXYXY, rleIou, toCoco } from '../src/rle/rle.js';
import { cli } from './helpers/scale.js';

const H = 40;
const W = 60;

/** A record for the axis-aligned rectangle [x, x+w) × [y, y+h) in an H×W image. */
function rect(x: number, y: number, w: number, h: number, score = 0.95): MaskRecord {
  const m = new Uint8Array(H * W);
  for (let r = y; r < y + h; r++) for (let c = x; c < x + w; c++) m[r * W + c] = 1;
  const seg = encodeRowMajor(m, H, W);
  return {
    segmentation: seg,
    area: rleArea(seg),
    bbox: [x, y, w - 1, h - 1],
    predictedIou: score,
    pointCoords: [x + 1, y + 1],
    stabilityScore: 0.97,
    cropBox: [0, 0, W, H],
  };
}

const INFO = { version: '0.1.0', date: null, model: 'test', modelSha256: 'abc', options: { points_per_side: 4 } };
const base = (): ImageResult[] => [
  { relPath: 'one.png', width: W, height: H, records: [rect(2, 3, 10, 8), rect(20, 5, 15, 20), rect(40, 20, 12, 12)] },
  { relPath: 'sub/two.png', width: W, height: H, records: [rect(0, 0, 30, 20), rect(35, 25, 20, 10)] },
];

let dir: string;
const write = async (name: string, results: ImageResult[]): Promise<string> => {
  const p = path.join(dir, name);
  await fsp.writeFile(p, serializeCoco(cocoDocument(results, INFO)));
  return p;
};
const limits = (over: Partial<CompareLimits> = {}): CompareLimits => ({ ...DEFAULT_LIMITS, ...over });

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'sam-amg-compare-'));
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('compare', () => {
  it('identical files pass with IoU 1 everywhere (library and CLI exit 0)', async () => {
    const a = await write('a.json', base());
    const r = compareSets(await readMaskSet(a), await readMaskSet(a), limits());
    expect(r.pass).toBe(true);
    expect(r.totals).toMatchObject({ expected_masks: 5, actual_masks: 5, matched: 5, missing: 0, extra: 0, recall: 1, mean_iou: 1, min_iou: 1 });
    expect(r.matching).toBe('greedy-by-iou');
    const run = await cli(['compare', a, a]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/PASS/u);
    const json = await cli(['compare', a, a, '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ pass: true, totals: { matched: 5 } });
  });

  it('removing one mask fails recall and names that mask', async () => {
    const results = base();
    results[1].records.splice(1, 1); // sub/two.png's second mask, annotation id 5 in the expected file
    const e = await write('full.json', base());
    const a = await write('minus-one.json', results);
    const r = compareSets(await readMaskSet(e), await readMaskSet(a), limits());
    expect(r.pass).toBe(false);
    expect(r.totals).toMatchObject({ matched: 4, missing: 1, extra: 0, recall: 4 / 5 });
    expect(r.images[1].missing.map((m) => [m.file_name, m.id, m.area])).toEqual([['sub/two.png', 5, 200]]);
    expect(r.failures[0]).toMatch(/recall 4\/5 = 0\.8000 < --min-recall 1; missing: sub\/two\.png#5/u);
    const run = await cli(['compare', e, a]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('sub/two.png#5');
    // The other way round it is an extra mask, and --max-extra 1 / --min-recall 0.8 let each pass.
    expect((await cli(['compare', a, e])).code).toBe(1);
    expect((await cli(['compare', a, e, '--max-extra', '1'])).code).toBe(0);
    expect((await cli(['compare', e, a, '--min-recall', '0.8'])).code).toBe(0);
  });

  it('shifting a mask by a few pixels changes its IoU by exactly the expected amount', async () => {
    for (const [dx, dy] of [
      [1, 0],
      [3, 0],
      [0, 2],
      [2, 2],
    ]) {
      const moved = base();
      moved[0].records[1] = rect(20 + dx, 5 + dy, 15, 20);
      const e = await write('e.json', base());
      const a = await write(`shift-${dx}-${dy}.json`, moved);
      const inter = (15 - dx) * (20 - dy);
      const expected = inter / (2 * 15 * 20 - inter);
      const r = compareSets(await readMaskSet(e), await readMaskSet(a), limits({ minIou: 0.5 }));
      const pair = r.images[0].matches.find((m) => m.expected_id === 2);
      expect(pair?.iou).toBe(expected);
      expect(r.images[0].min_iou).toBe(expected);
      expect(r.images[0].mean_iou).toBe((1 + expected + 1) / 3);
      // bbox differs (informational); a match threshold above the IoU turns the pair into missing + extra.
      expect(r.field_diffs.some((d) => d.field === 'bbox' && d.expected_id === 2 && !d.fails)).toBe(true);
      const strict = compareSets(await readMaskSet(e), await readMaskSet(a), limits({ minIou: expected + 1e-9 }));
      expect(strict.totals).toMatchObject({ missing: 1, extra: 1 });
      expect(strict.images[0].missing[0].nearest?.iou).toBe(expected);
    }
  });

  it('RLE IoU equals bitmap IoU on random masks', () => {
    let seed = 12345;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const [h, w] = [37, 53];
    const randomMask = (): Uint8Array => {
      const m = new Uint8Array(h * w);
      const density = rnd();
      for (let k = 0; k < 3; k++) {
        const x0 = Math.floor(rnd() * w);
        const y0 = Math.floor(rnd() * h);
        const x1 = x0 + Math.floor(rnd() * (w - x0));
        const y1 = y0 + Math.floor(rnd() * (h - y0));
        for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) m[y * w + x] = 1;
      }
      for (let i = 0; i < m.length; i++) if (rnd() < density * 0.2) m[i] ^= 1;
      return m;
    };
    for (let t = 0; t < 300; t++) {
      const a = randomMask();
      const b = t % 10 === 0 ? a : randomMask();
      let inter = 0;
      let union = 0;
      for (let i = 0; i < a.length; i++) {
        inter += a[i] & b[i];
        union += a[i] | b[i];
      }
      const bitmap = union === 0 ? 0 : inter / union;
      const ra = encodeRowMajor(a, h, w);
      const rb = encodeRowMajor(b, h, w);
      expect(rleIou(ra, rb)).toBe(bitmap);
      // As the reader hands masks over: decoded once from their counts strings.
      const ia = matchItem({ rle: fromCoco(toCoco(ra)) });
      const ib = matchItem({ rle: fromCoco(toCoco(rb)) });
      expect(maskIou(ia, ib)).toBe(bitmap);
      expect(ia.box).toEqual(rleBoxXYXY(ra));
    }
  });

  it('compares mixed formats: COCO file, SA-1B folder and JSONL file', async () => {
    const results = base();
    const coco = await write('mixed.json', results);
    const sa1b = path.join(dir, 'sa1b');
    await fsp.mkdir(path.join(sa1b, 'sub'), { recursive: true });
    await fsp.writeFile(path.join(sa1b, 'one.json'), serializeSa1b(sa1bDocument(results[0], 1)));
    await fsp.writeFile(path.join(sa1b, 'sub/two.json'), serializeSa1b(sa1bDocument(results[1], 2)));
    const jsonl = path.join(dir, 'mixed.jsonl');
    await fsp.writeFile(jsonl, results.map(jsonlLine).join(''));
    for (const [x, y] of [
      [coco, sa1b],
      [sa1b, jsonl],
      [jsonl, coco],
    ]) {
      const run = await cli(['compare', x, y, '--json']);
      expect(run.code).toBe(0);
      const r = JSON.parse(run.stdout);
      expect(r.totals).toMatchObject({ images_compared: 2, matched: 5, mean_iou: 1 });
    }
    expect((await readMaskSet(sa1b)).format).toBe('sa1b');
    expect((await readMaskSet(jsonl)).format).toBe('jsonl');
    const fewer = base();
    fewer[0].records.pop();
    const jsonl2 = path.join(dir, 'fewer.jsonl');
    await fsp.writeFile(jsonl2, fewer.map(jsonlLine).join(''));
    const run = await cli(['compare', sa1b, jsonl2]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('one.png#3');
  });

  it('scores beyond --score-tol fail; images on one side only fail only with --fail-on-image-mismatch', async () => {
    const changed = base();
    changed[0].records[0] = rect(2, 3, 10, 8, 0.93);
    const e = await write('s-e.json', base());
    const a = await write('s-a.json', changed);
    const r = compareSets(await readMaskSet(e), await readMaskSet(a), limits());
    expect(r.pass).toBe(false);
    expect(r.field_diffs).toEqual([
      { file_name: 'one.png', expected_id: 1, actual_id: 1, field: 'predicted_iou', expected: 0.95, actual: 0.93, fails: true },
    ]);
    expect((await cli(['compare', e, a, '--score-tol', '0.05'])).code).toBe(0);
    const more = [...base(), { relPath: 'three.png', width: W, height: H, records: [rect(1, 1, 5, 5)] }];
    const m = await write('more.json', more);
    expect((await cli(['compare', e, m])).code).toBe(0);
    const strict = await cli(['compare', e, m, '--fail-on-image-mismatch']);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain('images only in actual: three.png');
  });

  it('exits 2 for unreadable input and bad flags', async () => {
    const a = await write('ok.json', base());
    expect((await cli(['compare', a, path.join(dir, 'nope.json')])).code).toBe(2);
    const bad = path.join(dir, 'bad.json');
    await fsp.writeFile(bad, '{"images": [], "annotations": [{"id": 1}], "info": {}}');
    const run = await cli(['compare', a, bad]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('bad.json');
    expect((await cli(['compare', a, a, '--min-iou', '0'])).code).toBe(2);
  });
});
