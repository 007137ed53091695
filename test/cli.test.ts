/**
 * The command line as a user runs it: a child process of bin/sam-amg.js (npm test builds dist/ first).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, copyFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fromCoco, rleArea, rleBoxXYXY } from '../src/rle/rle.js';

const ROOT = path.resolve(new URL('..', import.meta.url).pathname);
const BIN = path.join(ROOT, 'bin/sam-amg.js');
const MODEL = path.join(ROOT, 'fixtures/models/sam1-tiny');
const IMAGES = path.resolve(ROOT, '../shared/images');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'sam-amg-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * Runs the built CLI as a child process. Asynchronously: a spawnSync would block this test worker's event loop
 * for the whole run, and vitest's worker RPC times out ("Timeout calling onTaskUpdate") when a loaded machine
 * makes that longer than its 60 s limit.
 */
function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface Doc {
  info: { options: Record<string, unknown>; date_created?: string; errors?: { file: string; stage: string; message: string }[] };
  images: { id: number; file_name: string; width: number; height: number }[];
  annotations: { image_id: number; area: number; bbox: number[]; segmentation: { size: [number, number]; counts: string } }[];
}

describe('sam-amg CLI', () => {
  it('--help lists examples and exit codes; --version prints the version', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('sam-amg ./images --out masks.json');
    expect(help.stdout).toContain('--points-per-side');
    expect(help.stdout).toContain('Exit codes');
    const v = await run(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  });

  it('writes a valid COCO file for the four shared photos, byte-identical across runs with the date pinned', async () => {
    const a = path.join(tmp, 'a.json');
    const b = path.join(tmp, 'b.json');
    const args = [IMAGES, '--model', MODEL, '--points-per-side', '4', '--date', '2026-01-01T00:00:00Z', '--quiet'];
    const r1 = await run([...args, '--out', a]);
    expect(r1.stderr).toBe('');
    expect(r1.code).toBe(0);
    expect((await run([...args, '--out', b, '--points-per-batch', '3'])).code).toBe(0);
    const bytesA = readFileSync(a);
    expect(bytesA.equals(readFileSync(b))).toBe(true);
    const doc = JSON.parse(bytesA.toString('utf8')) as Doc;
    expect(doc.images.map((i) => [i.file_name, i.width, i.height])).toEqual([
      ['cars.jpg', 2250, 1500],
      ['dog.jpg', 800, 534],
      ['groceries.jpg', 800, 534],
      ['truck.jpg', 1800, 1200],
    ]);
    expect(doc.info.date_created).toBe('2026-01-01T00:00:00.000Z');
    expect(doc.info.options.points_per_side).toBe(4);
    expect(doc.annotations.length).toBeGreaterThan(0);
    for (const ann of doc.annotations) {
      const img = doc.images.find((i) => i.id === ann.image_id)!;
      expect(ann.segmentation.size).toEqual([img.height, img.width]);
      const rle = fromCoco(ann.segmentation);
      const [x0, y0, x1, y1] = rleBoxXYXY(rle);
      expect(ann.area).toBe(rleArea(rle));
      expect(ann.bbox).toEqual([x0, y0, x1 - x0, y1 - y0]);
    }
  });

  it('--date none omits date_created', async () => {
    const out = path.join(tmp, 'nodate.json');
    expect((await run([path.join(IMAGES, 'dog.jpg'), '--model', MODEL, '--points-per-side', '2', '--date', 'none', '--out', out, '-q'])).code).toBe(0);
    const doc = JSON.parse(readFileSync(out, 'utf8')) as Doc;
    expect('date_created' in doc.info).toBe(false);
  });

  it('bad images: a non-image file is skipped with a warning; corrupt, truncated and empty images fail alone (exit 1)', async () => {
    const dir = path.join(tmp, 'mixed');
    mkdirSync(dir);
    copyFileSync(path.join(IMAGES, 'dog.jpg'), path.join(dir, 'good.jpg'));
    writeFileSync(path.join(dir, 'notes.txt'), 'hello');
    writeFileSync(path.join(dir, 'empty.jpg'), '');
    writeFileSync(path.join(dir, 'corrupt.jpg'), Buffer.from('this is not a jpeg at all'));
    writeFileSync(path.join(dir, 'truncated.jpg'), readFileSync(path.join(IMAGES, 'dog.jpg')).subarray(0, 4000));
    const out = path.join(tmp, 'mixed.json');
    const r = await run([dir, '--model', MODEL, '--points-per-side', '2', '--out', out, '--date', 'none']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/warning: .*notes\.txt/);
    const errorLines = r.stderr.split('\n').filter((l) => l.startsWith('sam-amg: error:'));
    expect(errorLines).toHaveLength(3);
    expect(errorLines.join('\n')).toMatch(/corrupt\.jpg/);
    expect(errorLines.join('\n')).toMatch(/empty\.jpg: .*empty/);
    expect(errorLines.join('\n')).toMatch(/truncated\.jpg/);
    const doc = JSON.parse(readFileSync(out, 'utf8')) as Doc;
    expect(doc.images.map((i) => i.file_name)).toEqual(['good.jpg']);
    expect(doc.info.errors?.map((e) => e.file)).toEqual(['corrupt.jpg', 'empty.jpg', 'truncated.jpg']);
  });

  it('refuses invalid flag values before any work, naming the flag (exit 2)', async () => {
    const base = [path.join(IMAGES, 'dog.jpg'), '--model', MODEL, '--out', path.join(tmp, 'x.json')];
    const cases: [string[], RegExp][] = [
      [['--pred-iou-thresh', 'abc'], /^sam-amg: option '--pred-iou-thresh <x>' argument 'abc' is invalid\. Expected a number\./mu],
      [['--points-per-side', 'abc'], /^sam-amg: option '--points-per-side <n>' argument 'abc' is invalid/mu],
      [['--stability-score-thresh', '1.5'], /--stability-score-thresh must be a number in \[0, 1\]/],
      [['--box-nms-thresh', '-0.1'], /--box-nms-thresh must be a number in \[0, 1\]/],
      [['--points-per-side', '0'], /--points-per-side must be an integer in \[1, 256\], got 0/],
      [['--points-per-batch', '0'], /--points-per-batch must be an integer in \[1, 1024\], got 0/],
      [['--crop-n-layers', '-1'], /--crop-n-layers must be an integer in \[0, 4\], got -1/],
      [['--min-mask-region-area', '-5'], /--min-mask-region-area must be a number in \[0, 268402689\], got -5/],
      [['--stability-score-offset', 'NaN'], /argument 'NaN' is invalid/],
    ];
    for (const [flags, re] of cases) {
      const r = await run([...base, ...flags]);
      expect({ flags, code: r.code }).toEqual({ flags, code: 2 });
      expect(r.stderr).toMatch(re);
    }
  });

  it('--point-grids and --points-per-side are exclusive; a grid file works', async () => {
    const grids = path.join(tmp, 'grids.json');
    writeFileSync(grids, JSON.stringify([[[0.25, 0.5], [0.75, 0.5]]]));
    const out = path.join(tmp, 'grid.json');
    const both = await run([path.join(IMAGES, 'dog.jpg'), '--model', MODEL, '--out', out, '--point-grids', grids, '--points-per-side', '4']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/exclusive/);
    const ok = await run([path.join(IMAGES, 'dog.jpg'), '--model', MODEL, '--out', out, '--point-grids', grids, '-q', '--date', 'none']);
    expect(ok.code).toBe(0);
    const doc = JSON.parse(readFileSync(out, 'utf8')) as Doc & { annotations: { point_coords: number[][] }[] };
    for (const a of doc.annotations) expect([[200, 267], [600, 267]]).toContainEqual(a.point_coords[0]);
  });

  it('model errors stop the run before any image is read (exit 2)', async () => {
    const out = path.join(tmp, 'm.json');
    const missing = await run([path.join(IMAGES, 'dog.jpg'), '--model', path.join(tmp, 'no-such-model'), '--out', out]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no-such-model/);
    // incomplete folder: config only
    const partial = path.join(tmp, 'partial-model');
    mkdirSync(partial);
    writeFileSync(path.join(partial, 'config.json'), '{"model_type":"sam"}');
    const r = await run([path.join(IMAGES, 'dog.jpg'), '--model', partial, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/preprocessor_config\.json: missing/);
    // ONNX files that do not match the contract: the SAM 2 decoder beside a SAM 1 encoder
    const mixed = path.join(tmp, 'mixed-model');
    mkdirSync(path.join(mixed, 'onnx'), { recursive: true });
    for (const f of ['config.json', 'preprocessor_config.json', 'onnx/vision_encoder.onnx']) copyFileSync(path.join(MODEL, f), path.join(mixed, f));
    copyFileSync(path.join(ROOT, 'fixtures/models/sam2-tiny/onnx/prompt_encoder_mask_decoder.onnx'), path.join(mixed, 'onnx/prompt_encoder_mask_decoder.onnx'));
    const m = await run([path.join(IMAGES, 'dog.jpg'), '--model', mixed, '--out', out]);
    expect(m.code).toBe(2);
    expect(m.stderr).toMatch(/vision_encoder\.onnx.*prompt_encoder_mask_decoder\.onnx/);
    // an unknown dtype
    const d = await run([path.join(IMAGES, 'dog.jpg'), '--model', MODEL, '--dtype', 'fp8', '--out', out]);
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/--dtype/);
  });

  it('--out in a missing folder is refused before model or image work (exit 2)', async () => {
    const r = await run([path.join(IMAGES, 'dog.jpg'), '--model', path.join(tmp, 'no-such-model'), '--out', path.join(tmp, 'missing/dir/x.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--out/);
    expect(r.stderr).not.toMatch(/no-such-model/);
  });

  it('HF_HUB_OFFLINE with a cold cache fails at once with a message on how to get the model (exit 2)', async () => {
    const r = await run([IMAGES, '--model', 'Xenova/slimsam-77-uniform', '--out', path.join(tmp, 'x.json')], {
      HF_HUB_OFFLINE: '1',
      HF_HUB_CACHE: path.join(tmp, 'empty-cache'),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not in the local cache/);
    expect(r.stderr).toMatch(/models pull Xenova\/slimsam-77-uniform/);
  });
});
