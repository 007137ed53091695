/**
 * Every input and option is bounded: inputs that are not regular files fail alone and never block, a second
 * signal always ends the run, every numeric option has a documented upper bound, degenerate images get a clear
 * message, and --files-from keeps names exactly as written.
 */
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE_EXTENSIONS } from '../src/node/decode.js';
import { parseCocoDocument } from '../src/output/coco-parse.js';
import { listInputs } from '../src/run/inputs.js';
import { journalPathFor } from '../src/run/journal.js';
import { FAST, runCli, spawnCli, writeShapeImages } from './helpers/batch.js';
import { cli } from './helpers/scale.js';

let tmp: string;
let photos: string;
let noModel: string;

beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sam-amg-hardening-in-'));
  photos = path.join(tmp, 'photos');
  await writeShapeImages(photos, 6);
  noModel = path.join(tmp, 'no-such-model');
});

afterAll(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

/** Makes a named pipe (asynchronously: a test never blocks its worker's event loop on a child process). */
const mkfifo = (p: string): Promise<unknown> => promisify(execFile)('mkfifo', [p]);

/** Waits until `pred()` holds, polling; throws after `ms`. */
async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('8. inputs that are not regular files', () => {
  it.skipIf(process.platform === 'win32')('a named pipe and a device fail alone at once; two SIGTERMs end the run at once', async () => {
    // Named to sort before the photos, so that they come first. No writer ever opens the pipe: reading it would
    // wait forever; /dev/zero never ends.
    const fifo = path.join(tmp, '0-pipe.png');
    await mkfifo(fifo);
    const zero = path.join(tmp, '0-zero.png');
    await fsp.symlink('/dev/zero', zero);
    const out = path.join(tmp, 'fifo.json');
    const { child, done, stderr } = spawnCli([fifo, zero, photos, ...FAST, '--out', out]);
    try {
      await until(() => /error: 0-pipe\.png: /u.test(stderr()) && /error: 0-zero\.png: /u.test(stderr()), 60_000, 'the pipe and the device to fail');
      expect(stderr()).toContain('sam-amg: error: 0-pipe.png: not a regular file (a named pipe); only regular files are read (decode)');
      expect(stderr()).toContain('sam-amg: error: 0-zero.png: not a regular file (a character device); only regular files are read (decode)');
      // The batch goes on: wait for a finished image, then stop it twice.
      await until(() => /\[\d+\/8\] img-0\d\.png: /u.test(stderr()) || child.exitCode !== null, 60_000, 'an image to finish');
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await until(() => stderr().includes('SIGTERM: finishing the images in flight') || child.exitCode !== null, 10_000, 'the first SIGTERM');
        const t0 = Date.now();
        child.kill('SIGTERM');
        const ended = await done;
        // Ended by the signal itself, at once (loose bound: the event loop may be busy with an image).
        expect(ended.signal === 'SIGTERM' || ended.code === 143).toBe(true);
        expect(Date.now() - t0).toBeLessThan(10_000);
        // The journal resumes: the pipe and the device fail again, quickly, and every image is there.
        const r = await runCli([fifo, zero, photos, ...FAST, '--out', out, '--resume']);
        expect(r.code).toBe(1);
        expect(parseCocoDocument(await fsp.readFile(out, 'utf8'), out).images).toHaveLength(6);
      } else {
        expect((await done).code).toBe(1);
      }
    } finally {
      // A child left waiting (as on a build where the pipe blocks) must not outlive the test.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await expect(fsp.access(`${out}.lock`)).rejects.toThrow();
    // The failures keep the journal for a later --resume.
    await expect(fsp.access(journalPathFor('coco', out))).resolves.toBeUndefined();
  });

  it.skipIf(process.platform === 'win32')('--files-from reads a named pipe as its writer writes it', async () => {
    const fifo = path.join(tmp, 'list.fifo');
    await mkfifo(fifo);
    const listing = listInputs([], { filesFrom: fifo, extensions: IMAGE_EXTENSIONS });
    const writer = await fsp.open(fifo, 'w');
    await writer.write(`${path.join(photos, 'img-01.png')}\n`);
    await new Promise((r) => setTimeout(r, 50));
    await writer.write(`${path.join(photos, 'img-02.png')}\n`);
    await writer.close();
    expect((await listing).items.map((i) => i.relPath)).toEqual(['img-01.png', 'img-02.png']);
  });
});

describe('9. every numeric option has a documented upper bound', () => {
  it('refuses values beyond each bound before any work (exit 2), naming the flag and the bound', async () => {
    const base = [photos, '--model', noModel, '--out', path.join(tmp, 'b.json')];
    const cases: [string[], string][] = [
      [['--crop-n-layers', '50'], '--crop-n-layers must be an integer in [0, 4], got 50'],
      [['--points-per-side', '100000'], '--points-per-side must be an integer in [1, 256], got 100000'],
      [['--points-per-batch', '5000'], '--points-per-batch must be an integer in [1, 1024], got 5000'],
      [['--crop-n-points-downscale-factor', '1000'], '--crop-n-points-downscale-factor must be a number in [1, 256], got 1000'],
      [['--min-mask-region-area', '1e12'], '--min-mask-region-area must be a number in [0, 268402689], got 1000000000000'],
      [['--mask-threshold', '1e9'], '--mask-threshold must be a number in [-1000, 1000], got 1000000000'],
      [['--stability-score-offset', '5000'], '--stability-score-offset must be a number in [0, 1000], got 5000'],
      [['--crop-overlap-ratio', '1'], '--crop-overlap-ratio must be a number in [0, 1), got 1'],
      [['--threads', '100000'], '--threads must be an integer in [1, 256], got 100000'],
      [['--concurrency', '1000'], '--concurrency must be an integer in [1, 32], got 1000'],
      [['--max-pixels', '1e12'], '--max-pixels must be an integer in [1, 268402689], got 1000000000000'],
      [['--shard', '0/1000000'], '--shard: the shard count must be an integer from 1 to 100000, got 1000000'],
    ];
    for (const [flags, message] of cases) {
      const r = await runCli([...base, ...flags]);
      expect({ flags, code: r.code }).toEqual({ flags, code: 2 });
      expect(r.stderr).toBe(`sam-amg: ${message}\n`);
    }
    // A grid file with more points than the largest grid.
    const grids = path.join(tmp, 'huge-grid.json');
    await fsp.writeFile(grids, JSON.stringify([Array.from({ length: 70_000 }, () => [0.5, 0.5])]));
    const g = await runCli([...base, '--point-grids', grids]);
    expect(g.code).toBe(2);
    expect(g.stderr).toBe('sam-amg: --point-grids: grid 0 has 70000 points, more than the 65536 allowed\n');
  });

  it("compare's limits are bounded too (exit 2)", async () => {
    const cases: [string[], string][] = [
      [['--min-iou', '0'], '--min-iou must be a number in (0, 1], got 0'],
      [['--min-recall', '1.5'], '--min-recall must be a number in [0, 1], got 1.5'],
      [['--max-extra', '2.5'], '--max-extra must be an integer in [0, 9007199254740991], got 2.5'],
      [['--score-tol', '3'], '--score-tol must be a number in [0, 1], got 3'],
    ];
    for (const [flags, message] of cases) {
      const r = await cli(['compare', 'a.json', 'b.json', ...flags]);
      expect({ flags, code: r.code }).toEqual({ flags, code: 2 });
      expect(r.stderr).toBe(`sam-amg: ${message}\n`);
    }
  });

  it('the library names options by their keys, without flag names', async () => {
    const { resolveOptions, OptionsError } = await import('../src/amg/options.js');
    let err: unknown;
    try {
      resolveOptions({ cropNLayers: 50 }, 'sam');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OptionsError);
    expect((err as Error).message).toBe('cropNLayers must be an integer in [0, 4], got 50');
    expect((err as InstanceType<typeof OptionsError>).keys).toEqual(['cropNLayers']);
  });
});

describe('10. degenerate images', () => {
  it('an image whose resized side rounds to zero fails alone with a clear message (the reference fails on it too)', async () => {
    const dir = path.join(tmp, 'thin');
    await fsp.mkdir(dir);
    await sharp({ create: { width: 3000, height: 1, channels: 3, background: '#884422' } }).png().toFile(path.join(dir, 'thin.png'));
    await writeShapeImages(dir, 1);
    const out = path.join(tmp, 'thin.json');
    const r = await runCli([dir, ...FAST, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "sam-amg: error: thin.png: image is 3000x1: resizing its longest side to the model's 1024 pixels makes the other side round(1 × 1024 / 3000) = 0 pixels; the reference implementation fails on such images too (generate)",
    );
    const doc = parseCocoDocument(await fsp.readFile(out, 'utf8'), out);
    expect(doc.images.map((i) => i.file_name)).toEqual(['img-00.png']);
    expect(doc.info.errors?.map((e) => [e.file, e.stage])).toEqual([['thin.png', 'generate']]);
  });
});

describe('12. --files-from keeps names exactly as written', () => {
  it('only the line ending is removed; blank lines and # comments are skipped as before', async () => {
    const dir = path.join(tmp, 'spaces');
    await fsp.mkdir(dir);
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#123456' } }).png().toBuffer();
    for (const name of [' lead.png', 'trail.png ', 'plain.png']) await fsp.writeFile(path.join(dir, name), png);
    const list = path.join(tmp, 'list.txt');
    await fsp.writeFile(list, `# my list\n\n   \n ${dir}/ lead.png\r\n${dir}/trail.png \n${dir}/plain.png\r\n  # indented comment\n`);
    const l = await listInputs([], { filesFrom: list, extensions: IMAGE_EXTENSIONS });
    expect(l.errors).toEqual([{ path: ` ${dir}/ lead.png`, reason: 'no such file or directory' }]);
    expect(l.items.map((i) => i.relPath)).toEqual(['plain.png', 'trail.png ']);
    await fsp.writeFile(list, `${dir}/ lead.png\n${dir}/trail.png \n`);
    const ok = await listInputs([], { filesFrom: list, extensions: IMAGE_EXTENSIONS });
    expect(ok.errors).toEqual([]);
    expect(ok.items.map((i) => i.relPath)).toEqual([' lead.png', 'trail.png ']);
  });
});
