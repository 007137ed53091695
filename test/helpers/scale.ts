/** Helpers of the compare / shard / merge tests: the CLI in-process and as a child process, small test photos. */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { main } from '../../src/cli/main.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const TINY_MODEL = path.join(REPO, 'fixtures/models/sam1-tiny');
export const PHOTOS = path.resolve(REPO, '../shared/images');
/** Fast, byte-stable and quiet; `--no-optimise` and `--threads 1` as in ./batch.ts's FAST (no record changes). */
export const FAST = ['--points-per-side', '4', '--date', '2024-01-01T00:00:00Z', '--quiet', '--no-optimise', '--threads', '1'];

/** Runs the CLI in this process, capturing stdout and stderr; resolves to the exit code and the text. */
export async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string | Uint8Array) => (out.push(String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => (err.push(String(s)), true)) as typeof process.stderr.write;
  try {
    const code = await main(['node', 'sam-amg', ...args]);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
}

/** Runs the built CLI (bin/sam-amg.js; see BIN in ./batch.ts) in a child process with exactly `env`. */
export function cliProcess(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO, 'bin/sam-amg.js'), ...args], {
      cwd: REPO,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stderr }));
  });
}

/**
 * Writes `count` small images (the shared photos scaled down to 160 px wide, cycled, in two sub-folders; synthetic
 * pictures when the photos are not there) into `dir`; returns their relative paths.
 */
export async function makeImages(dir: string, count: number): Promise<string[]> {
  let photos: string[] = [];
  try {
    photos = (await fsp.readdir(PHOTOS)).filter((f) => /\.(jpe?g|png)$/iu.test(f)).sort();
  } catch {
    photos = [];
  }
  const rels: string[] = [];
  for (let i = 0; i < count; i++) {
    const rel = `${i % 2 === 0 ? 'a' : 'b'}/img-${String(i).padStart(2, '0')}.png`;
    await fsp.mkdir(path.join(dir, path.dirname(rel)), { recursive: true });
    const target = path.join(dir, rel);
    if (photos.length > 0) {
      await sharp(path.join(PHOTOS, photos[i % photos.length])).resize({ width: 160 - 8 * (i % 3) }).png().toFile(target);
    } else {
      const w = 96;
      const h = 64;
      const px = Buffer.alloc(w * h * 3);
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const inside = (x - 30 - i * 5) ** 2 + (y - 32) ** 2 < 300;
          px.fill(inside ? 220 : 30 + i * 10, (y * w + x) * 3, (y * w + x) * 3 + 3);
        }
      await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(target);
    }
    rels.push(rel);
  }
  return rels.sort();
}
