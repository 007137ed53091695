/**
 * A run never destroys a user's file and never reports what did not happen: outputs never land on inputs, one
 * writer per output, output problems are found before any work, a closed stderr never costs the output, the
 * summary only points to lists that were written, `--out -` writes to stdout, and an existing file that is not a
 * sam-amg output is not replaced without --force.
 */
import { spawn } from 'node:child_process';
import fs, { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseCocoDocument } from '../src/output/coco-parse.js';
import { journalPathFor } from '../src/run/journal.js';
import { OutputLock } from '../src/run/lock.js';
import { BIN, FAST, lineCount, MODEL, ROOT, runCli, spawnCli, waitForLines, writeShapeImages } from './helpers/batch.js';
import { cli } from './helpers/scale.js';

let tmp: string;
let photos: string;
/** A model path that does not exist: a refusal that names it happened after the checks this file is about. */
let noModel: string;
/** The flags of a fast run with a model that does not exist (for refusals that must come before the model). */
let early: string[];

beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sam-amg-hardening-out-'));
  photos = path.join(tmp, 'photos');
  await writeShapeImages(photos, 3, 64, 48);
  noModel = path.join(tmp, 'no-such-model');
  early = ['--model', noModel, '--points-per-side', '4'];
});

afterAll(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Bytes of every file under `dir`, by relative path. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await fsp.readdir(dir, { recursive: true })).sort()) {
    const p = path.join(dir, name);
    if ((await fsp.stat(p)).isFile()) out[name] = (await fsp.readFile(p)).toString('base64');
  }
  return out;
}

describe('1. outputs never land on inputs', () => {
  it('refuses --out naming an input image, --overlay, --report or an sa1b/amg-png --out at the input folder, before any work (exit 2)', async () => {
    const before = await snapshot(photos);
    const img = path.join(photos, 'img-00.png');
    const cases: [string[], RegExp][] = [
      [[img, ...early, '--out', img], /^sam-amg: --out .*img-00\.png: the output .*img-00\.png would overwrite the input .*img-00\.png$/mu],
      [[photos, ...early, '--out', path.join(tmp, 'o1.json'), '--overlay', photos], /^sam-amg: --overlay .*photos: the overlay folder .*photos is the input folder .*photos; choose a folder outside the inputs$/mu],
      [[photos, ...early, '--out', path.join(tmp, 'o2.json'), '--overlay', path.join(photos, 'ov')], /^sam-amg: --overlay .*: the overlay folder .*ov is inside the input folder .*photos; its files would be read as inputs/mu],
      [[photos, ...early, '--format', 'sa1b', '--out', photos, '--force'], /^sam-amg: --out .*photos: the SA-1B output folder .*photos is the input folder/mu],
      // A single file as input: its overlay, photos/img-00.png, would be the input itself.
      [[img, ...early, '--out', path.join(tmp, 'o4.json'), '--overlay', photos], /^sam-amg: --overlay .*photos: the file for img-00\.png, .*img-00\.png, would overwrite the input .*img-00\.png$/mu],
      [[photos, ...early, '--format', 'amg-png', '--out', photos, '--force'], /^sam-amg: --out .*photos: the amg-png output folder .*photos is the input folder/mu],
      [[photos, ...early, '--out', path.join(tmp, 'o5.json'), '--report', path.join(photos, 'rep')], /^sam-amg: --report .*rep: the report folder .*rep is inside the input folder .*photos/mu],
      // The report folder is named by its own flag, never as --out.
      [[photos, ...early, '--out', path.join(tmp, 'o6.json'), '--report', photos], /^sam-amg: --report .*photos: the folder is not empty and holds no earlier report/mu],
    ];
    for (const [args, re] of cases) {
      const r = await runCli(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(re);
      expect(r.stderr).not.toContain('no-such-model');
    }
    expect(await snapshot(photos)).toEqual(before);
  });

  it('refuses an overlay folder outside the inputs whose per-image file would replace an input', async () => {
    // photos/img-00.png and other/img-00.png are named photos/img-00.png and other/img-00.png; with the overlay
    // folder at their common parent, each overlay would land on its own input.
    const other = path.join(tmp, 'other');
    await writeShapeImages(other, 1, 40, 30);
    const before = await snapshot(other);
    const r = await runCli([photos, path.join(other, 'img-00.png'), ...early, '--out', path.join(tmp, 'o3.json'), '--overlay', tmp]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^sam-amg: --overlay .*: the file for other\/img-00\.png, .*other\/img-00\.png, would overwrite the input .*other\/img-00\.png$/mu);
    expect(await snapshot(other)).toEqual(before);
  });

  it('merge refuses one of its inputs (or a folder holding one) as its output', async () => {
    const out = path.join(tmp, 'merge-src.json');
    expect((await runCli([photos, ...FAST, '--out', out, '-q'])).code).toBe(0);
    const before = await fsp.readFile(out);
    const r = await cli(['merge', out, out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^sam-amg: merge: the output .*merge-src\.json is also an input; write the merge to a new file or folder$/mu);
    const dir = await cli(['merge', '--format', 'sa1b', tmp, out]);
    expect(dir.code).toBe(2);
    expect(dir.stderr).toMatch(/^sam-amg: merge: the input .*merge-src\.json is inside the output folder/mu);
    expect(await fsp.readFile(out)).toEqual(before);
  });
});

describe('2. one writer per output', () => {
  it('a second run on the same --out is refused (exit 2) while the first runs; the first finishes and its journal stays valid', async () => {
    const many = path.join(tmp, 'many');
    await writeShapeImages(many, 12);
    const out = path.join(tmp, 'locked.json');
    const journal = journalPathFor('coco', out);
    const first = spawnCli([many, ...FAST, '--out', out]);
    await waitForLines(journal, 2, first.child);
    const journalBefore = await fsp.readFile(journal);
    const second = await runCli([many, ...FAST, '--out', out, '--resume']);
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(new RegExp(`^sam-amg: .*locked\\.json is being written by another sam-amg run \\(process ${first.child.pid}, since `, 'mu'));
    // Refused before touching anything: the journal only grew (the first run appends), nothing replaced it.
    expect((await fsp.readFile(journal)).subarray(0, journalBefore.length)).toEqual(journalBefore);
    const ended = await first.done;
    expect(ended.code).toBe(0);
    expect(ended.stderr).not.toMatch(/journal kept/u);
    expect(parseCocoDocument(await fsp.readFile(out, 'utf8'), out).images).toHaveLength(12);
    await expect(fsp.access(`${out}.lock`)).rejects.toThrow();
  });

  it('takes over the stale lock of a dead process on this host with a warning; never a lock of another host', async () => {
    const out = path.join(tmp, 'stale.json');
    // A pid that surely ran and ended: a child that has exited.
    const dead = await new Promise<number>((resolve) => {
      const c = spawn(process.execPath, ['-e', '']);
      c.on('close', () => resolve(c.pid as number));
    });
    await fsp.writeFile(`${out}.lock`, JSON.stringify({ pid: dead, host: os.hostname(), started: '2024-01-01T00:00:00.000Z' }));
    const r = await runCli([photos, ...FAST, '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`sam-amg: warning: taking over the stale lock ${out}.lock of process ${dead}, which is no longer running`);
    await expect(fsp.access(`${out}.lock`)).rejects.toThrow();

    const before = await fsp.readFile(out);
    await fsp.writeFile(`${out}.lock`, JSON.stringify({ pid: dead, host: 'other-node-17', started: '2024-01-01T00:00:00.000Z' }));
    const other = await runCli([photos, ...FAST, '--out', out]);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain(`is being written by process ${dead} on host other-node-17`);
    expect(other.stderr).toContain(`a lock of another host is never taken over automatically: if no sam-amg run is writing ${out}, remove ${out}.lock and run again`);
    expect(await fsp.readFile(out)).toEqual(before);
    await fsp.rm(`${out}.lock`);
  });

  it('release and releaseSync never remove the lock of a later run that reused the pid (same pid and host, later start)', async () => {
    const lockPath = path.join(tmp, 'reused-pid.json.lock');
    const later = { pid: process.pid, host: os.hostname(), started: '2999-01-01T00:00:00.000Z' };
    for (const how of ['sync', 'async'] as const) {
      const lock = await OutputLock.acquire(lockPath, 'reused-pid.json', () => undefined);
      expect(lock.owner.started).not.toBe(later.started);
      await fsp.writeFile(lockPath, `${JSON.stringify(later)}\n`);
      if (how === 'sync') lock.releaseSync();
      else await lock.release();
      expect(JSON.parse(await fsp.readFile(lockPath, 'utf8'))).toEqual(later);
      await fsp.rm(lockPath);
    }
    // Our own lock is removed.
    const own = await OutputLock.acquire(lockPath, 'reused-pid.json', () => undefined);
    own.releaseSync();
    await expect(fsp.access(lockPath)).rejects.toThrow();
  });
});

describe('3. output problems are found before any work', () => {
  it('wrong kinds, missing folders and files in the way: exit 2 naming the right flag, never a raw errno code', async () => {
    const aDir = path.join(tmp, 'a-folder');
    await fsp.mkdir(aDir, { recursive: true });
    const aFile = path.join(tmp, 'a-file.txt');
    await fsp.writeFile(aFile, 'x');
    const cases: [string[], RegExp][] = [
      [['--out', aDir], /^sam-amg: --out .*a-folder: the output .*a-folder is a folder; this format writes one file there$/mu],
      [['--format', 'jsonl', '--out', aDir], /^sam-amg: --out .*a-folder: the output .*a-folder is a folder/mu],
      [['--out', path.join(tmp, 'missing/x.json')], /^sam-amg: --out .*: the folder .*missing for the output does not exist$/mu],
      [['--out', path.join(aFile, 'x.json')], /^sam-amg: --out .*: .*a-file\.txt.*(is not a folder|a part of the path is a file)/mu],
      [['--format', 'sa1b', '--out', aFile], /^sam-amg: --out .*a-file\.txt: .*a-file\.txt is a file, but the SA-1B output folder is a folder$/mu],
      [['--format', 'sa1b', '--out', path.join(aFile, 'sub')], /^sam-amg: --out .*: (cannot create .*: .*a-file\.txt is a file|.*a part of the path is a file)/mu],
      [['--out', path.join(tmp, 'ok.json'), '--overlay', aFile], /^sam-amg: --overlay .*a-file\.txt: .*a-file\.txt is a file, but the overlay folder is a folder$/mu],
    ];
    for (const [flags, re] of cases) {
      const r = await runCli([photos, ...early, ...flags]);
      expect({ flags, code: r.code }).toEqual({ flags, code: 2 });
      expect(r.stderr).toMatch(re);
      expect(r.stderr).not.toMatch(/\bE[A-Z]{3,}\b/u);
      expect(r.stderr).not.toContain('no-such-model');
    }
  });

  it('a folder that does not accept new files is found by a probe before any work (stubbed read-only file system)', async () => {
    const ro = path.join(tmp, 'read-only');
    await fsp.mkdir(ro, { recursive: true });
    const realOpen = fs.promises.open;
    vi.spyOn(fs.promises, 'open').mockImplementation(((file: fs.PathLike, ...rest: unknown[]) => {
      if (path.dirname(String(file)) === ro) return Promise.reject(Object.assign(new Error('EROFS: read-only file system'), { code: 'EROFS' }));
      return (realOpen as (...a: unknown[]) => Promise<fs.promises.FileHandle>)(file, ...rest);
    }) as typeof fs.promises.open);
    const r = await runCli([photos, ...early, '--out', path.join(ro, 'x.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^sam-amg: --out .*x\.json: cannot write the output into .*read-only: read-only file system$/mu);
  });
});

describe('4. a closed stderr never costs the output', () => {
  it('with stderr closed after the first line (as `2>&1 | head -1` does), the run goes on and writes its COCO file', async () => {
    const many = path.join(tmp, 'epipe');
    await writeShapeImages(many, 4);
    const out = path.join(tmp, 'epipe.json');
    const child = spawn(process.execPath, [BIN, many, ...FAST, '--out', out], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    // Read the first chunk, then close our end of the pipe: every later write of the child meets EPIPE.
    await new Promise<void>((resolve) => child.stderr.once('data', () => resolve()));
    child.stderr.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(code).toBe(0);
    expect(parseCocoDocument(await fsp.readFile(out, 'utf8'), out).images).toHaveLength(4);
  });
});

describe('5. the summary never claims what did not happen', () => {
  it('when the error list cannot be written (full disk), the summary says so instead of pointing to it', async () => {
    const work = path.join(tmp, 'sidecar');
    await writeShapeImages(work, 2);
    await fsp.writeFile(path.join(work, 'bad.png'), 'not a png');
    const out = path.join(tmp, 'sidecar.jsonl');
    const realOpen = fs.promises.open;
    vi.spyOn(fs.promises, 'open').mockImplementation(((file: fs.PathLike, ...rest: unknown[]) => {
      if (/^\.sidecar\.jsonl\.errors\.json\.\d+\.[0-9a-f]+\.tmp$/u.test(path.basename(String(file)))) {
        return Promise.reject(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }));
      }
      return (realOpen as (...a: unknown[]) => Promise<fs.promises.FileHandle>)(file, ...rest);
    }) as typeof fs.promises.open);
    const r = await runCli([work, ...FAST, '--format', 'jsonl', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`sam-amg: cannot write ${out}.errors.json: no space left on device`);
    expect(r.stderr).toContain('sam-amg: warning: 1 image failed (1 decode); the list could not be written: see the error lines above');
    expect(r.stderr).not.toMatch(/listed in/u);
    // The JSONL output itself was written, and the summary says where it is.
    expect(r.stderr).toMatch(/; 2 masks? in [^\n]* → .*sidecar\.jsonl\n|masks in [^\n]* → .*sidecar\.jsonl\n/u);
    expect(await lineCount(out)).toBe(2);
    await expect(fsp.access(`${out}.errors.json`)).rejects.toThrow();
  });
});

describe('17. --out - writes COCO or JSONL to stdout', () => {
  it('writes the same bytes as a file run, keeps logs on stderr, and writes no journal, lock or file named "-"', async () => {
    const file = path.join(tmp, 'stdout-ref.json');
    expect((await runCli([photos, ...FAST, '--out', file, '-q'])).code).toBe(0);
    const cwd = await fsp.mkdtemp(path.join(tmp, 'cwd-'));
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        // From a folder outside the repository.
        const c = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } });
        let stdout = '';
        let stderr = '';
        c.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
        c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        c.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    const coco = await run([photos, ...FAST, '--out', '-']);
    expect(coco.code).toBe(0);
    expect(coco.stdout).toBe(await fsp.readFile(file, 'utf8'));
    expect(coco.stderr).toMatch(/^\[1\/3\] img-00\.png: /mu);
    const jsonlFile = path.join(tmp, 'stdout-ref.jsonl');
    expect((await runCli([photos, ...FAST, '--format', 'jsonl', '--out', jsonlFile, '-q'])).code).toBe(0);
    const jsonl = await run([photos, ...FAST, '--format', 'jsonl', '--out', '-', '-q']);
    expect(jsonl.code).toBe(0);
    expect(jsonl.stderr).toBe('');
    expect(jsonl.stdout).toBe(await fsp.readFile(jsonlFile, 'utf8'));
    expect(await fsp.readdir(cwd)).toEqual([]);
  });

  it('refuses --resume and --format sa1b with --out -, clearly (exit 2)', async () => {
    const resume = await runCli([photos, ...early, '--out', '-', '--resume']);
    expect(resume.code).toBe(2);
    expect(resume.stderr).toBe("sam-amg: --resume needs a journal, which --out - (stdout) does not keep: give --out a file\n");
    const sa1b = await runCli([photos, ...early, '--out', '-', '--format', 'sa1b']);
    expect(sa1b.code).toBe(2);
    expect(sa1b.stderr).toBe('sam-amg: --out - writes one document to stdout: use --format coco or jsonl there (sa1b writes a folder of files)\n');
  });
});

describe('18. an existing --out that is not a sam-amg output is not replaced without --force', () => {
  it('refuses a foreign file (exit 2, untouched), replaces it with --force, and replaces earlier outputs and empty files', async () => {
    const out = path.join(tmp, 'notes.json');
    await fsp.writeFile(out, '{"my": "precious notes"}\n');
    const r = await runCli([photos, ...early, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `sam-amg: --out ${out}: the output ${out} exists and is not an earlier sam-amg output (COCO or JSONL); refusing to replace it (choose another name, or add --force)\n`,
    );
    expect(await fsp.readFile(out, 'utf8')).toBe('{"my": "precious notes"}\n');
    expect((await runCli([photos, ...FAST, '--out', out, '--force'])).code).toBe(0);
    expect(parseCocoDocument(await fsp.readFile(out, 'utf8'), out).images).toHaveLength(3);
    // Now an earlier sam-amg output: replaced without --force, by COCO or JSONL.
    expect((await runCli([photos, ...FAST, '--format', 'jsonl', '--out', out])).code).toBe(0);
    expect((await runCli([photos, ...FAST, '--out', out])).code).toBe(0);
    const empty = path.join(tmp, 'empty.json');
    await fsp.writeFile(empty, '');
    expect((await runCli([photos, ...FAST, '--out', empty])).code).toBe(0);
    // A foreign journal and a foreign sa1b folder are protected the same way.
    const j = path.join(tmp, 'j.json');
    await fsp.writeFile(`${j}.journal.jsonl`, 'my log\n');
    const jr = await runCli([photos, ...early, '--out', j]);
    expect(jr.code).toBe(2);
    expect(jr.stderr).toContain('the journal');
    expect(jr.stderr).toContain('is not a sam-amg journal; refusing to replace it');
    const docs = path.join(tmp, 'docs');
    await fsp.mkdir(docs);
    await fsp.writeFile(path.join(docs, 'thesis.txt'), 'chapter 1');
    const sr = await runCli([photos, ...early, '--format', 'sa1b', '--out', docs]);
    expect(sr.code).toBe(2);
    expect(sr.stderr).toContain('holds files and none of them is an SA-1B output of sam-amg; refusing to write into it');
    expect(await fsp.readdir(docs)).toEqual(['thesis.txt']);
    expect(await lineCount(path.join(docs, 'thesis.txt'))).toBe(0);
  });
});
