/**
 * Builds the two pages with esbuild (`npm run build` runs it after tsc):
 * - the report page: web/report/main.ts bundled into one browser script (it imports the project's own RLE decoder,
 *   the mask rasteriser and shared data types from src/, and what both pages share from web/shared/), plus
 *   index.html and report.css, into dist/web/report (or the folder given);
 * - the AMG page: web/app/main.ts bundled with sam-amg/core and onnxruntime-web into one ES module, plus index.html,
 *   app.css and onnxruntime-web's wasm files (ort/, served from this build, never from a CDN), into dist/web/app.
 * Each page's style sheet is written with web/shared/mask-frame.css in front of it (the rules both pages share).
 */
import { promises as fsp } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions } from 'esbuild';
import { errorMessage } from '../src/base/errors.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The style rules both pages share, written in front of each page's own style sheet. */
const SHARED_CSS = path.join(ROOT, 'web', 'shared', 'mask-frame.css');

/**
 * Bundles `web/<page>/main.ts` into `outDir/<script>` (minified, for browsers) and copies the page's static files
 * beside it (a .css file with the shared rules in front); `options` adds what differs between the pages (module
 * format, targets, resolve conditions).
 */
async function buildPage(page: string, outDir: string, script: string, statics: readonly string[], options: BuildOptions): Promise<void> {
  const src = path.join(ROOT, 'web', page);
  await fsp.mkdir(outDir, { recursive: true });
  const result = await build({
    entryPoints: [path.join(src, 'main.ts')],
    outfile: path.join(outDir, script),
    bundle: true,
    platform: 'browser',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
    ...options,
  });
  for (const m of result.warnings) process.stderr.write(`build-web: warning: ${m.text}\n`);
  for (const name of statics) {
    if (name.endsWith('.css')) {
      const [shared, own] = await Promise.all([fsp.readFile(SHARED_CSS, 'utf8'), fsp.readFile(path.join(src, name), 'utf8')]);
      await fsp.writeFile(path.join(outDir, name), `${shared}\n${own}`);
    } else {
      await fsp.copyFile(path.join(src, name), path.join(outDir, name));
    }
  }
}

/** Builds the report page into `outDir` (default dist/web/report); resolves to that folder. */
export async function buildWeb(outDir = path.join(ROOT, 'dist/web/report')): Promise<string> {
  // A classic script: the report opens from file://, where browsers refuse ES modules.
  await buildPage('report', outDir, 'report.js', ['index.html', 'report.css'], { format: 'iife', target: ['chrome100', 'firefox100', 'safari15'] });
  return outDir;
}

/** onnxruntime-web's files the AMG page loads at run time: the wasm build with the WebGPU (JSEP) kernels, and its loader. */
export const ORT_WEB_FILES = ['ort-wasm-simd-threaded.jsep.mjs', 'ort-wasm-simd-threaded.jsep.wasm'] as const;

/** Builds the AMG page into `outDir` (default dist/web/app); resolves to that folder. */
export async function buildWebApp(outDir = path.join(ROOT, 'dist/web/app')): Promise<string> {
  await buildPage('app', outDir, 'app.js', ['index.html', 'app.css'], {
    // An ES module: onnxruntime-web finds its worker script and wasm through import.meta and ort.env.wasm.wasmPaths.
    format: 'esm',
    // onnxruntime-web's build that loads its wasm loader from wasmPaths (ort/) instead of embedding it: threads
    // start workers from that loader, not from app.js.
    conditions: ['onnxruntime-web-use-extern-wasm'],
    target: ['chrome113', 'firefox115', 'safari16.4'],
  });
  await fsp.mkdir(path.join(outDir, 'ort'), { recursive: true });
  const require = createRequire(import.meta.url);
  for (const name of ORT_WEB_FILES) await copyIfChanged(require.resolve(`onnxruntime-web/${name}`), path.join(outDir, 'ort', name));
  return outDir;
}

/** Copies unless `to` already has the same size and a modification time not older than `from`'s (the 28 MB wasm). */
async function copyIfChanged(from: string, to: string): Promise<void> {
  const [a, b] = await Promise.all([fsp.stat(from), fsp.stat(to).catch(() => null)]);
  if (b !== null && b.size === a.size && b.mtimeMs >= a.mtimeMs) return;
  await fsp.copyFile(from, to);
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // With a folder argument only the report is built there (`sam-amg report` ships that folder).
  (process.argv[2] !== undefined ? buildWeb(process.argv[2]).then((d) => [d]) : Promise.all([buildWeb(), buildWebApp()])).then(
    (dirs) => process.stdout.write(`build-web: ${dirs.map((dir) => path.relative(process.cwd(), dir) || dir).join(', ')}\n`),
    (err: unknown) => {
      process.stderr.write(`build-web: ${errorMessage(err)}\n`);
      process.exitCode = 1;
    },
  );
}
