/**
 * Builds the report page: web/report/main.ts bundled with esbuild into one browser script (it imports the
 * project's own RLE decoder and shared data types from src/), plus index.html and report.css, into
 * dist/web/report (or the folder given). `npm run build` runs it after tsc.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Builds the page into `outDir` (default dist/web/report); resolves to that folder. */
export async function buildWeb(outDir = path.join(ROOT, 'dist/web/report')): Promise<string> {
  const src = path.join(ROOT, 'web/report');
  await fsp.mkdir(outDir, { recursive: true });
  const result = await build({
    entryPoints: [path.join(src, 'main.ts')],
    outfile: path.join(outDir, 'report.js'),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['chrome100', 'firefox100', 'safari15'],
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  for (const m of result.warnings) process.stderr.write(`build-web: warning: ${m.text}\n`);
  for (const name of ['index.html', 'report.css']) await fsp.copyFile(path.join(src, name), path.join(outDir, name));
  return outDir;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildWeb(process.argv[2]).then(
    (dir) => process.stdout.write(`build-web: ${path.relative(process.cwd(), dir) || dir}\n`),
    (err: unknown) => {
      process.stderr.write(`build-web: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
