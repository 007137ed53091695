/**
 * Helpers of the batch tests: the CLI in-process (stderr captured) or as a child process (for signals), small
 * generated images of every awkward kind, and waiting for a journal to grow.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { main } from '../../src/cli/main.js';
import { rgbPng } from './png.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const MODEL = path.join(ROOT, 'fixtures/models/sam1-tiny');
/**
 * Flags that keep the fixture model fast and the output byte-stable. `--no-optimise` and `--threads 1` change no
 * record (test/optimise-cli.test.ts, test/helpers/worker-threads.ts): these tests are about files and paths, not
 * about the decoder graph optimiser, whose load-time probe would cost each run more than its images.
 */
export const FAST = ['--model', MODEL, '--points-per-side', '4', '--date', '2024-01-02T03:04:05.000Z', '--no-optimise', '--threads', '1'];

/** Runs the CLI in this process; returns the exit code and what it wrote to stderr. */
export async function runCli(args: string[]): Promise<{ code: number; stderr: string }> {
  const chunks: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array): boolean => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await main(['node', 'sam-amg', ...args]);
    return { code, stderr: chunks.join('') };
  } finally {
    process.stderr.write = write;
  }
}

/**
 * The built CLI (bin/sam-amg.js over dist/): what a user runs, and it starts in a fraction of the time that
 * compiling the sources through tsx took. `npm test` builds dist/ first; test/helpers/global-setup.ts rebuilds it
 * when src/ is newer (a single file run with `npx vitest run`).
 */
export const BIN = path.join(ROOT, 'bin/sam-amg.js');

/** Starts the built CLI as a child process. */
export function spawnCli(
  args: string[],
  cwd = ROOT,
): { child: ChildProcess; stderr: () => string; done: Promise<{ code: number | null; signal: string | null; stderr: string }> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  return { child, stderr: () => stderr, done };
}

/** Complete lines in a file (0 when it does not exist). */
export async function lineCount(file: string): Promise<number> {
  try {
    const text = await fsp.readFile(file, 'utf8');
    return text.split('\n').length - 1;
  } catch {
    return 0;
  }
}

/** Resolves once `file` has at least `n` complete lines; rejects after `timeoutMs` or when `child` has exited. */
export async function waitForLines(file: string, n: number, child?: ChildProcess, timeoutMs = 60_000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const c = await lineCount(file);
    if (c >= n) return c;
    if (child && child.exitCode !== null) throw new Error(`the CLI exited (${child.exitCode}) before ${file} had ${n} lines`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`${file}: ${c} lines after ${timeoutMs} ms, wanted ${n}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A w×h RGB image with a few coloured rectangles (deterministic per `seed`). */
export function shapesRaw(w: number, h: number, seed: number): Buffer {
  const data = Buffer.alloc(w * h * 3);
  const bg = [40 + ((seed * 37) % 60), 50, 90];
  for (let i = 0; i < w * h; i++) data.set(bg, i * 3);
  const rects = [
    [0.1, 0.1, 0.45, 0.5, [230, 120, 40]],
    [0.55, 0.2, 0.9, 0.6, [60, 200, 80]],
    [0.2 + (seed % 3) * 0.1, 0.6, 0.5 + (seed % 3) * 0.1, 0.9, [40, 110, 240]],
  ] as const;
  for (const [x0, y0, x1, y1, c] of rects) {
    for (let y = Math.floor(y0 * h); y < Math.floor(y1 * h); y++) {
      for (let x = Math.floor(x0 * w); x < Math.floor(x1 * w); x++) data.set(c, (y * w + x) * 3);
    }
  }
  return data;
}

/** A PNG of {@link shapesRaw}. */
export function shapesPng(w: number, h: number, seed: number): Promise<Buffer> {
  return sharp(shapesRaw(w, h, seed), { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
}

/** A PNG whose header claims w×h but that holds a few bytes of pixel data: its size is known, its pixels are not. */
export function pngHeaderOnly(w: number, h: number): Buffer {
  return rgbPng(w, h, Buffer.alloc(64));
}

/** Writes `n` distinct small shape PNGs `img-00.png`… into `dir`. */
export async function writeShapeImages(dir: string, n: number, w = 96, h = 72): Promise<string[]> {
  await fsp.mkdir(dir, { recursive: true });
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `img-${String(i).padStart(2, '0')}.png`;
    await fsp.writeFile(path.join(dir, name), await shapesPng(w + i, h, i));
    names.push(name);
  }
  return names;
}
