/**
 * The progress display on terminals of unknown or tiny width. A pty that reports 0 columns (`script`, some
 * container and CI ptys) once made ora clear an unbounded number of lines per frame (`ESC[1A ESC[0K` over and over:
 * 65.8 MB for a two-image run). The CLI runs from dist/ (bin/sam-amg.js) under `script` in a real pty whose width
 * is set with `stty cols N`; the bytes it writes must stay small and end with the summary line. The choice of
 * display and the cut of the live line are checked in-process too, with fake streams.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProgress, fitWidth, MIN_LIVE_COLUMNS } from '../src/cli/progress.js';
import { rgbPng } from './helpers/png.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin/sam-amg.js');
const MODEL = path.join(ROOT, 'fixtures/models/sam1-tiny');
/** Far above what a sane run writes (a few KB), far below the runaway (MBs): the child is stopped past it. */
const BYTE_CAP = 1 << 20;

/** Visible text of terminal output: escape sequences removed, carriage returns dropped. */
const visible = (s: string): string => s.replace(/\u001b\[[?0-9;]*[A-Za-z]/gu, '').replace(/\r/gu, '');

/** A w×h PNG: a bright square on a dark background (the fixture model finds it). */
function squarePng(w: number, h: number): Buffer {
  const rows: Buffer[] = [];
  for (let y = 0; y < h; y++) {
    const row = Buffer.alloc(1 + 3 * w);
    for (let x = 0; x < w; x++) {
      const inside = x >= w / 4 && x < (3 * w) / 4 && y >= h / 4 && y < (3 * h) / 4;
      row.fill(inside ? 230 : 20, 1 + 3 * x, 4 + 3 * x);
    }
    rows.push(row);
  }
  return rgbPng(w, h, Buffer.concat(rows));
}

const quote = (s: string): string => `'${s.replace(/'/gu, `'\\''`)}'`;

/** Runs the CLI from dist/ in a pty of `cols` columns; resolves to its exit code and every byte the pty got. */
function inPty(cols: number, args: string[]): Promise<{ code: number | null; bytes: number; text: string; capped: boolean }> {
  const cmd = `stty cols ${cols} rows 24 && exec ${quote(process.execPath)} ${[BIN, ...args].map(quote).join(' ')}`;
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm' };
    delete env.NO_COLOR;
    // script -e: its exit code is the command's; -q: no start and end lines; the typescript file is /dev/null.
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let bytes = 0;
    let capped = false;
    child.stdout.on('data', (d: Buffer) => {
      bytes += d.length;
      if (bytes > BYTE_CAP) {
        capped = true;
        child.kill('SIGKILL');
      } else chunks.push(d);
    });
    child.stderr.on('data', (d: Buffer) => chunks.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, bytes, text: Buffer.concat(chunks).toString('utf8'), capped }));
  });
}

let tmp: string;
beforeAll(async () => {
  if (!existsSync(path.join(ROOT, 'dist/cli/main.js'))) throw new Error('dist/ is missing: run npm run build first');
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sam-amg-pty-'));
  await writeFile(path.join(tmp, 'a.png'), squarePng(64, 48));
  await writeFile(path.join(tmp, 'b.png'), squarePng(48, 64));
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const runArgs = (out: string): string[] => [
  path.join(tmp, 'a.png'),
  path.join(tmp, 'b.png'),
  '--model',
  MODEL,
  '--points-per-side',
  '4',
  '--date',
  'none',
  '--no-journal',
  '--out',
  path.join(tmp, out),
];
const summary = (out: string): RegExp => new RegExp(`^2 images ok, 0 failed, 0 skipped; \\d+ masks? in [^\\n]+ → ${path.join(tmp, out).replace(/[.*+?^${}()|[\]\\]/gu, '\\$&')}$`, 'mu');

describe('a terminal of unknown or tiny width (pty, CLI from dist/)', () => {
  for (const cols of [0, 1]) {
    it(`${cols} columns: plain lines, no cursor movement, a few KB in all`, async () => {
      const r = await inPty(cols, runArgs(`cols${cols}.json`));
      expect(r.capped).toBe(false);
      expect(r.code).toBe(0);
      expect(r.bytes).toBeLessThan(4096);
      // Plain lines only: no escape sequence at all (no cursor up, no clear line, no hidden cursor).
      expect(r.text).not.toContain('\u001b');
      const text = visible(r.text);
      expect(text).toMatch(/^\[1\/2\] a\.png: \d+ masks? in [^\n]+ \(64x48; encoder [^\n]+\)$/mu);
      expect(text).toMatch(/^\[2\/2\] b\.png: \d+ masks? in [^\n]+ \(48x64; encoder [^\n]+\)$/mu);
      expect(text).toMatch(summary(`cols${cols}.json`));
      expect(text).toMatch(/^speed: [^\n]+ per image/mu);
    });
  }

  it('40 columns: the live line, cut to one row per frame, so no frame clears more than its own row', async () => {
    const r = await inPty(40, runArgs('cols40.json'));
    expect(r.capped).toBe(false);
    expect(r.code).toBe(0);
    expect(r.bytes).toBeLessThan(64 * 1024);
    // One row per frame: ora clears it in place and never moves the cursor up.
    expect(r.text).not.toContain('\u001b[1A');
    // Frames start at column 1 (ESC[1G); each is the spinner, a space and the text, within 39 columns.
    const frames = r.text
      .split('\u001b[1G')
      .map((f) => visible(f).split('\n')[0])
      .filter((f) => f.includes(' images · '));
    expect(frames.length).toBeGreaterThan(0);
    for (const f of frames) expect([...f].length, f).toBeLessThanOrEqual(39);
    // Each frame and each line starts at column 1: as lines, the scrollback and the summary stand on their own.
    const text = visible(r.text.replace(/\u001b\[1G/gu, '\n'));
    expect(text).toMatch(/^\[1\/2\] a\.png: \d+ masks? in [^\n]+ \(64x48; encoder [^\n]+\)$/mu);
    expect(text).toMatch(summary('cols40.json'));
  });
});

describe('the display chosen for a width', () => {
  function fake(columns: number | undefined): { stream: NodeJS.WriteStream & PassThrough; text: () => string } {
    const s = new PassThrough() as unknown as NodeJS.WriteStream & PassThrough;
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString('utf8')));
    // A runaway clear (the old defect: ora clearing Infinity lines at 0 columns) throws instead of hanging the worker.
    let moves = 0;
    const moveCursor = (): boolean => {
      if (++moves > 10_000) throw new Error('runaway: the display moved the cursor up more than 10,000 times');
      return true;
    };
    Object.assign(s, { isTTY: true, columns, cursorTo: () => true, clearLine: () => true, moveCursor });
    return { stream: s, text: () => text };
  }
  const timing = { encoderMs: 10, decoderMs: 20, postprocessMs: 30, prompts: 16 };

  it(`a TTY of unknown width or under ${MIN_LIVE_COLUMNS} columns gets the plain lines, byte for byte as off a TTY`, async () => {
    for (const columns of [undefined, 0, 1, 2, 3, MIN_LIVE_COLUMNS - 1]) {
      const c = fake(columns);
      const p = createProgress({ quiet: false, stream: c.stream, env: {} });
      p.start(1, 0, 16);
      p.imageStarted('a.png');
      p.imageDone('a.png', 3, 0.25, { width: 8, height: 6, timing });
      p.finish('done');
      await new Promise((r) => setImmediate(r));
      expect(c.text().split('\n').slice(0, 2), String(columns)).toEqual([
        '[1/1] a.png: 3 masks in 250 ms (8x6; encoder 10 ms, decoder 20 ms, post-processing 30 ms)',
        'done',
      ]);
      expect(c.text()).not.toContain('\u001b');
    }
  });

  it('a live line whose terminal loses its width mid-run goes on as plain lines', async () => {
    const c = fake(80);
    const p = createProgress({ quiet: false, stream: c.stream, env: { NO_COLOR: '1' } });
    p.start(2, 0, 16);
    p.imageStarted('a.png');
    await new Promise((r) => setTimeout(r, 120));
    expect(c.text()).toContain('0/2 images · 0 masks');
    Object.assign(c.stream, { columns: 0 });
    c.stream.emit('resize');
    await new Promise((r) => setImmediate(r));
    const at = c.text().length;
    p.imageDone('a.png', 3, 0.25, { width: 8, height: 6, timing });
    await new Promise((r) => setTimeout(r, 200));
    p.finish('done');
    await new Promise((r) => setImmediate(r));
    // After the resize: the two plain lines, the speed line and nothing else (no frame, no escape sequence).
    const after = c.text().slice(at).split('\n');
    expect(after.slice(0, 2)).toEqual(['[1/2] a.png: 3 masks in 250 ms (8x6; encoder 10 ms, decoder 20 ms, post-processing 30 ms)', 'done']);
    expect(after[2]).toMatch(/^speed: /u);
    expect(c.text().slice(at)).not.toContain('\u001b');
  });

  it('fitWidth cuts to the width with an ellipsis, counts wide characters as two and hides control characters', () => {
    expect(fitWidth('0/4 images · 7 masks', 40)).toBe('0/4 images · 7 masks');
    expect(fitWidth('0/4 images · 7 masks', 10)).toBe('0/4 image…');
    expect(fitWidth('abc', 3)).toBe('abc');
    expect(fitWidth('abcd', 3)).toBe('ab…');
    expect(fitWidth('写真写真.jpg', 6)).toBe('写真…');
    expect(fitWidth('a\nb\u001b[1Ac', 20)).toBe('a?b?[1Ac');
    expect(fitWidth('abc', 1)).toBe('…');
    expect(fitWidth('abc', 0)).toBe('');
  });
});
