/**
 * Runs that are killed or interrupted, then resumed: the final output is byte-identical to an uninterrupted run,
 * finished images are not recomputed, and a torn journal line is never used. The interrupted runs are child
 * processes (SIGKILL, SIGINT, SIGTERM); the baselines and resumes run in-process.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCocoDocument } from '../src/output/coco-parse.js';
import { journalHeader, journalLine, journalPathFor, readJournal, type JournalFingerprint } from '../src/run/journal.js';
import { resumeJournal, type ResumeReporter } from '../src/run/resume.js';
import { FAST, lineCount, runCli, spawnCli, waitForLines, writeShapeImages } from './helpers/batch.js';
import type { CocoRle } from '../src/rle/rle.js';

const N = 10;
let tmp: string;
let photos: string;
const clean: Record<'coco' | 'jsonl' | 'sa1b', string> = { coco: '', jsonl: '', sa1b: '' };

async function readTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await fsp.readdir(dir, { recursive: true })).sort()) {
    const p = path.join(dir, name);
    if ((await fsp.stat(p)).isFile()) out[name] = await fsp.readFile(p, 'utf8');
  }
  return out;
}

beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sam-amg-batch-resume-'));
  photos = path.join(tmp, 'photos');
  await writeShapeImages(photos, N);
  clean.coco = path.join(tmp, 'clean.json');
  const r = await runCli([photos, ...FAST, '--out', clean.coco]);
  expect(r.code).toBe(0);
  // A complete run removes its journal.
  await expect(fsp.access(journalPathFor('coco', clean.coco))).rejects.toThrow();
  clean.jsonl = path.join(tmp, 'clean.jsonl');
  expect((await runCli([photos, ...FAST, '--format', 'jsonl', '--out', clean.jsonl, '--no-journal'])).code).toBe(0);
  clean.sa1b = path.join(tmp, 'clean-sa1b');
  expect((await runCli([photos, ...FAST, '--format', 'sa1b', '--out', clean.sa1b, '--no-journal'])).code).toBe(0);
});

afterAll(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

describe('resume after SIGKILL', () => {
  it('coco: a run killed partway, then --resume, gives the bytes of a clean run without recomputing', async () => {
    const out = path.join(tmp, 'killed.json');
    const journal = journalPathFor('coco', out);
    const { child, done } = spawnCli([photos, ...FAST, '--out', out]);
    // Header + 3 finished images.
    await waitForLines(journal, 4, child);
    child.kill('SIGKILL');
    const ended = await done;
    expect(ended.signal).toBe('SIGKILL');
    // The COCO file is written at the end only: nothing there yet.
    await expect(fsp.access(out)).rejects.toThrow();
    const finished = (await lineCount(journal)) - 1;
    expect(finished).toBeGreaterThanOrEqual(3);
    expect(finished).toBeLessThan(N);
    // Power loss mid-append: a torn last line must be cut, never used.
    await fsp.appendFile(journal, '{"file":"img-09.png","size":1,"mtime_ms":1,"width":96,"height":72,"records":[{"segm');

    const r = await runCli([photos, ...FAST, '--out', out, '--resume']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`resuming: ${finished} of ${N} images already done`);
    expect(r.stderr).toMatch(/journal: cut a partly written last line \(\d+ bytes\)/u);
    // Only the rest were computed: one progress line each.
    expect(r.stderr.match(/^\[\d+\/10\] img-\d\d\.png: /gmu)?.length).toBe(N - finished);
    expect(r.stderr).toContain(`${N} images ok (${finished} from the journal), 0 failed, 0 skipped;`);
    expect(await fsp.readFile(out, 'utf8')).toBe(await fsp.readFile(clean.coco, 'utf8'));
    await expect(fsp.access(journal)).rejects.toThrow();
  });

  it('jsonl: the streamed file is rebuilt from the journal and continued, byte-identical', async () => {
    const out = path.join(tmp, 'killed.jsonl');
    const journal = journalPathFor('jsonl', out);
    const { child, done } = spawnCli([photos, ...FAST, '--format', 'jsonl', '--out', out]);
    await waitForLines(journal, 3, child);
    child.kill('SIGKILL');
    await done;
    const finished = (await lineCount(journal)) - 1;
    // Lines are streamed as images finish: the output holds at least what the journal does.
    expect(await lineCount(out)).toBeGreaterThanOrEqual(finished);
    const r = await runCli([photos, ...FAST, '--format', 'jsonl', '--out', out, '--resume']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`resuming: ${finished} of ${N} images already done`);
    expect(await fsp.readFile(out, 'utf8')).toBe(await fsp.readFile(clean.jsonl, 'utf8'));
    await expect(fsp.access(journal)).rejects.toThrow();
  });
});

describe('signals', () => {
  it('SIGINT: finishes the images in flight, writes a valid partial output, exits 130; --resume completes it', async () => {
    const out = path.join(tmp, 'int.json');
    const journal = journalPathFor('coco', out);
    const { child, done } = spawnCli([photos, ...FAST, '--out', out]);
    await waitForLines(journal, 3, child);
    child.kill('SIGINT');
    const ended = await done;
    expect(ended.code).toBe(130);
    expect(ended.stderr).toContain('SIGINT: finishing the images in flight');
    const doc = parseCocoDocument(await fsp.readFile(out, 'utf8'), out);
    const finished = (await lineCount(journal)) - 1;
    // The partial output holds exactly the journaled images, in order, and they are the clean run's first ones.
    const cleanDoc = parseCocoDocument(await fsp.readFile(clean.coco, 'utf8'), clean.coco);
    expect(doc.images.length).toBe(finished);
    expect(finished).toBeGreaterThanOrEqual(2);
    expect(finished).toBeLessThan(N);
    expect(doc.images).toEqual(cleanDoc.images.slice(0, finished));
    expect(doc.info.errors).toBeUndefined();
    expect(ended.stderr).toMatch(new RegExp(`interrupted \\(SIGINT\\): ${finished} images ok, 0 failed, ${N - finished} skipped`, 'u'));
    expect(ended.stderr).toContain('rerun with --resume to continue');

    const r = await runCli([photos, ...FAST, '--out', out, '--resume']);
    expect(r.code).toBe(0);
    expect(await fsp.readFile(out, 'utf8')).toBe(await fsp.readFile(clean.coco, 'utf8'));
  });

  it('SIGTERM exits 143; sa1b resumes to the same folder as a clean run', async () => {
    const out = path.join(tmp, 'term-sa1b');
    const journal = journalPathFor('sa1b', out);
    const { child, done } = spawnCli([photos, ...FAST, '--format', 'sa1b', '--out', out]);
    await waitForLines(journal, 3, child);
    child.kill('SIGTERM');
    const ended = await done;
    expect(ended.code).toBe(143);
    const r = await runCli([photos, ...FAST, '--format', 'sa1b', '--out', out, '--resume']);
    expect(r.code).toBe(0);
    expect(await readTree(out)).toEqual(await readTree(clean.sa1b));
  });

  it('a second SIGINT ends the process at once by SIGINT (a shell reports 130), and the journal still resumes to a clean result', async () => {
    const out = path.join(tmp, 'twice.json');
    const journal = journalPathFor('coco', out);
    const { child, done, stderr } = spawnCli([photos, ...FAST, '--out', out]);
    await waitForLines(journal, 2, child);
    child.kill('SIGINT');
    for (let i = 0; i < 500 && !stderr().includes('SIGINT: finishing'); i++) await new Promise((r) => setTimeout(r, 10));
    const t0 = Date.now();
    child.kill('SIGINT');
    const ended = await done;
    // The signal is raised again with its default action: the process ends by it, whatever it was waiting for.
    expect(ended.signal).toBe('SIGINT');
    expect(ended.stderr).toContain('SIGINT again: stopping now');
    // At once: no output written, not every image done (timing is left loose: the event loop may be busy with
    // an image's post-processing when the signal arrives).
    expect(Date.now() - t0).toBeLessThan(5000);
    await expect(fsp.access(out)).rejects.toThrow();
    expect(await lineCount(journal)).toBeLessThan(N + 1);
    const r = await runCli([photos, ...FAST, '--out', out, '--resume']);
    expect(r.code).toBe(0);
    expect(await fsp.readFile(out, 'utf8')).toBe(await fsp.readFile(clean.coco, 'utf8'));
  });
});

describe('journal checks', () => {
  it('refuses a journal written with other options, naming what differs; keeps it for failed images only', async () => {
    const work = path.join(tmp, 'mismatch');
    await writeShapeImages(work, 2);
    await fsp.writeFile(path.join(work, 'bad.png'), Buffer.from('not a png'));
    const out = path.join(tmp, 'mismatch.json');
    const first = await runCli([work, ...FAST, '--out', out]);
    expect(first.code).toBe(1);
    expect(first.stderr).toContain('rerun with --resume to retry only the failed images');
    const journal = journalPathFor('coco', out);
    expect(await lineCount(journal)).toBe(3);

    const other = FAST.map((a) => (a === '4' ? '3' : a));
    const r = await runCli([work, ...other, '--out', out, '--resume']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cannot resume: the journal ${journal} was written by a different run (options.points_per_side: 4 ≠ 3)`);

    // Same options: only the failed image is tried again; once it is fixed the run completes and the journal goes.
    await fsp.copyFile(path.join(work, 'img-00.png'), path.join(work, 'bad.png'));
    const again = await runCli([work, ...FAST, '--out', out, '--resume']);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('resuming: 2 of 3 images already done');
    expect(again.stderr.match(/^\[\d+\/3\] /gmu)).toEqual(['[3/3] ']);
    expect(parseCocoDocument(await fsp.readFile(out, 'utf8'), out).images.map((im) => im.file_name)).toEqual([
      'bad.png',
      'img-00.png',
      'img-01.png',
    ]);
    await expect(fsp.access(journal)).rejects.toThrow();
  });

  it('recomputes a journaled image whose file changed since', async () => {
    const work = path.join(tmp, 'changed');
    await writeShapeImages(work, 2);
    await fsp.writeFile(path.join(work, 'bad.png'), Buffer.from('not a png'));
    const out = path.join(tmp, 'changed.json');
    expect((await runCli([work, ...FAST, '--out', out])).code).toBe(1);
    await fsp.writeFile(path.join(work, 'img-01.png'), await fsp.readFile(path.join(work, 'img-00.png')));
    const r = await runCli([work, ...FAST, '--out', out, '--resume']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('resuming: 1 of 3 images already done');
    const doc = parseCocoDocument(await fsp.readFile(out, 'utf8'), out);
    // img-01 now holds img-00's pixels, so it has img-00's masks.
    const masks = (name: string): string[] =>
      doc.annotations.filter((a) => doc.images.find((im) => im.id === a.image_id)!.file_name === name).map((a) => (a.segmentation as CocoRle).counts);
    expect(masks('img-01.png')).toEqual(masks('img-00.png'));
  });

  it('--resume with --no-journal is a usage error', async () => {
    const r = await runCli([photos, ...FAST, '--out', path.join(tmp, 'x.json'), '--resume', '--no-journal']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--resume needs the journal');
  });

  it('without --resume an old journal is only counted for the warning (distinct images, torn line left out), and left alone with --no-journal', async () => {
    const journal = path.join(tmp, 'counted.json.journal.jsonl');
    const fp: JournalFingerprint = { version: 't', model: 'm', model_sha256: 'x', format: 'coco', device: 'cpu', options: {} };
    const line = (relPath: string): string => journalLine({ relPath, width: 4, height: 3, records: [] }, { size: 10, mtimeMs: 5 });
    // a.png twice (recomputed after a change), b.png, then a torn line: 2 images done.
    const text = `${journalHeader(fp)}${line('a.png')}${line('b.png')}${line('a.png')}${line('c.png').slice(0, 20)}`;
    await fsp.writeFile(journal, text);
    expect((await readJournal(journal))?.entries.size).toBe(2);
    const replaced: Array<[string, number]> = [];
    const report: ResumeReporter = {
      journalMissing: () => undefined,
      journalLineIgnored: () => undefined,
      journalReplaced: (j, done) => replaced.push([j, done]),
      journalTruncated: () => undefined,
    };
    const base = { journalFile: journal, fingerprint: fp, items: [], early: new Map(), resume: false, report };
    const off = await resumeJournal({ ...base, journal: false });
    expect(off.journal).toBeUndefined();
    expect(replaced).toEqual([]);
    expect(await fsp.readFile(journal, 'utf8')).toBe(text);
    const on = await resumeJournal({ ...base, journal: true });
    await on.journal?.close();
    expect(replaced).toEqual([[journal, 2]]);
    expect(await fsp.readFile(journal, 'utf8')).toBe(journalHeader(fp));
  });
});
