/**
 * The tiled-mode figure (issue 24, item 2): a 20,000 × 20,000 RGB TIFF, made here with bounded memory (a photo
 * repeated by libvips into a tiled, deflate-compressed TIFF in a temporary folder), run by the command line with
 * `--tile 1024 --points-per-side 8` and the fixture model sam1-tiny: peak RSS of that process, and time per tile
 * against the time per image of 1024 × 1024 images (cut from the same TIFF) in an untiled run of the same settings.
 *
 * Every run is its own child process (this file with --child: the CLI's main() in-process, then its peak RSS and
 * CPU time). The small runs go before and after the big one (alternated), so that a machine whose load changes
 * during the bench weighs on both sides. Per image and per tile: wall time from the CLI's own per-image line (model
 * loading excluded), and CPU time of the process (ONNX Runtime's threads included) less the fixed cost of a run,
 * found from the two small runs of 1 and SMALL_IMAGES images: robust to other processes on the machine.
 *
 * Usage: npm run bench:tiles [-- --size 20000] [--tile 1024] [--keep] [--json]
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);

/** What a child run reports on its last stdout line. */
interface ChildReport {
  code: number;
  maxRssMb: number;
  cpuS: number;
  wallS: number;
  /** Seconds per finished image, from the CLI's per-image lines, in order. */
  imageS: number[];
}

if (args[0] === '--child') {
  // A run of the command line in this process: its stderr is parsed for the per-image times.
  const { main } = await import('../src/cli/main.js');
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    lines.push(text);
    return write(chunk);
  }) as typeof process.stderr.write;
  const t0 = performance.now();
  const code = await main(['node', 'sam-amg', ...args.slice(1)]);
  const wallS = (performance.now() - t0) / 1000;
  const u = process.cpuUsage();
  const imageS = lines.join('').split('\n').flatMap((l) => {
    const m = /^\[\d+\/\d+\] .*: [\d,]+ masks? in (.+?) \(/u.exec(l);
    return m ? [parseDuration(m[1])] : [];
  });
  const report: ChildReport = { code, maxRssMb: process.resourceUsage().maxRSS / 1024, cpuS: (u.user + u.system) / 1e6, wallS, imageS };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exit(0);
}

/** fmtDuration's text back to seconds: `850 ms`, `2.31 s`, `12.5 s`, `3 min 05 s`, `1 h 02 min`. */
function parseDuration(t: string): number {
  let m = /^(\d+) ms$/u.exec(t);
  if (m) return Number(m[1]) / 1000;
  m = /^([\d.]+) s$/u.exec(t);
  if (m) return Number(m[1]);
  m = /^(\d+) min (\d+) s$/u.exec(t);
  if (m) return Number(m[1]) * 60 + Number(m[2]);
  m = /^(\d+) h (\d+) min$/u.exec(t);
  if (m) return Number(m[1]) * 3600 + Number(m[2]) * 60;
  throw new Error(`cannot read the duration '${t}'`);
}

const size = Number(opt('--size') ?? 20_000);
const tile = Number(opt('--tile') ?? 1024);
const SMALL_IMAGES = 6;
const model = path.join(root, 'fixtures/models/sam1-tiny');
const common = ['--model', model, '--points-per-side', '8', '--date', 'none', '--threads', String(Math.min(4, os.availableParallelism()))];

function runChild(cliArgs: string[]): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', ...cliArgs], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', () => {
      const last = out.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(last) as ChildReport);
      } catch {
        reject(new Error(`the child run printed no report: ${out.slice(-500)}`));
      }
    });
  });
}

const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sam-amg-bench-tiles-'));
try {
  // The big TIFF: a photo repeated to size × size, written by libvips strip by strip (bounded memory).
  const big = path.join(tmp, 'big.tif');
  const photo = path.join(root, '..', 'shared', 'images', 'truck.jpg');
  const t0 = performance.now();
  const meta = await sharp(photo).metadata();
  await sharp(photo)
    .extend({ right: size - (meta.width ?? 0), bottom: size - (meta.height ?? 0), extendWith: 'repeat' })
    .tiff({ tile: true, tileWidth: 256, tileHeight: 256, compression: 'deflate', bigtiff: true })
    .toFile(big);
  const bigBytes = (await fsp.stat(big)).size;
  process.stderr.write(`made ${size}x${size} TIFF (${(bigBytes / 2 ** 20).toFixed(0)} MiB) in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);

  // The small images: 1024 × 1024 cuts of the same TIFF, spread over it, as PNG.
  const smallDir = path.join(tmp, 'small');
  await fsp.mkdir(smallDir);
  for (let i = 0; i < SMALL_IMAGES; i++) {
    const left = Math.floor(((size - tile) * i) / Math.max(1, SMALL_IMAGES - 1));
    await sharp(big, { limitInputPixels: false }).extract({ left, top: Math.floor(left / 2), width: tile, height: tile }).png().toFile(path.join(smallDir, `cut-${i}.png`));
  }
  const one = path.join(smallDir, 'cut-0.png');

  const small = (out: string): string[] => [smallDir, ...common, '--out', path.join(tmp, out)];
  const bigArgs = [big, ...common, '--tile', String(tile), '--out', path.join(tmp, 'big.json')];
  const runs: [string, ChildReport][] = [];
  for (const [name, cliArgs] of [
    ['1 small', [one, ...common, '--out', path.join(tmp, 'one-a.json')]],
    [`${SMALL_IMAGES} small (before)`, small('small-a.json')],
    ['big', bigArgs],
    [`${SMALL_IMAGES} small (after)`, small('small-b.json')],
    ['1 small (after)', [one, ...common, '--out', path.join(tmp, 'one-b.json')]],
  ] as [string, string[]][]) {
    process.stderr.write(`--- ${name}\n`);
    const r = await runChild(cliArgs);
    if (r.code !== 0) throw new Error(`${name}: exit code ${r.code}`);
    runs.push([name, r]);
  }
  const get = (name: string): ChildReport => (runs.find(([n]) => n === name) as [string, ChildReport])[1];
  const bigRun = get('big');
  const starts = (len: number): number => (len <= tile ? 1 : Math.ceil((len - tile) / (tile - Math.floor(tile / 8))) + 1);
  const tiles = starts(size) ** 2;
  const smallRuns = [get(`${SMALL_IMAGES} small (before)`), get(`${SMALL_IMAGES} small (after)`)];
  const oneRuns = [get('1 small'), get('1 small (after)')];
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  // Wall: the CLI's own per-image seconds (model loading excluded).
  const wallPerImage = mean(smallRuns.flatMap((r) => r.imageS));
  const wallPerTile = (bigRun.imageS[0] ?? NaN) / tiles;
  // CPU: a run costs fixed + n × per-image; the 1- and N-image runs give both.
  const cpuPerImage = (mean(smallRuns.map((r) => r.cpuS)) - mean(oneRuns.map((r) => r.cpuS))) / (SMALL_IMAGES - 1);
  const cpuFixed = mean(oneRuns.map((r) => r.cpuS)) - cpuPerImage;
  const cpuPerTile = (bigRun.cpuS - cpuFixed) / tiles;
  const figures = {
    size,
    tile,
    tiles,
    tiffMiB: Math.round(bigBytes / 2 ** 20),
    peakRssMb: Math.round(bigRun.maxRssMb),
    smallPeakRssMb: Math.round(Math.max(...smallRuns.map((r) => r.maxRssMb))),
    bigWallS: Math.round(bigRun.wallS),
    wallPerTileS: Number(wallPerTile.toFixed(3)),
    wallPerImageS: Number(wallPerImage.toFixed(3)),
    wallRatio: Number((wallPerTile / wallPerImage).toFixed(3)),
    cpuPerTileS: Number(cpuPerTile.toFixed(3)),
    cpuPerImageS: Number(cpuPerImage.toFixed(3)),
    cpuRatio: Number((cpuPerTile / cpuPerImage).toFixed(3)),
    smallImageS: smallRuns.map((r) => r.imageS.map((s) => Number(s.toFixed(2)))),
  };
  const rows = [
    ['image', `${size} × ${size} RGB TIFF (tiled 256, deflate, ${figures.tiffMiB} MiB)`],
    ['run', `--tile ${tile} --points-per-side 8, sam1-tiny: ${tiles} tiles in ${figures.bigWallS} s`],
    ['peak RSS', `${figures.peakRssMb} MB (1024² images: ${figures.smallPeakRssMb} MB)`],
    ['wall per tile / per 1024² image', `${figures.wallPerTileS} s / ${figures.wallPerImageS} s (ratio ${figures.wallRatio})`],
    ['CPU per tile / per 1024² image', `${figures.cpuPerTileS} s / ${figures.cpuPerImageS} s (ratio ${figures.cpuRatio})`],
  ];
  console.log(['| figure | value |', '| --- | --- |', ...rows.map(([a, b]) => `| ${a} | ${b} |`)].join('\n'));
  if (args.includes('--json')) console.log(JSON.stringify(figures));
} finally {
  if (args.includes('--keep')) process.stderr.write(`kept ${tmp}\n`);
  else await fsp.rm(tmp, { recursive: true, force: true });
}
