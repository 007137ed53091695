/**
 * The report page itself (index.html, report.js, report.css): built from web/report by `npm run build` into
 * dist/web/report, and copied into every report folder.
 */
import { existsSync, readFileSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeFsError } from '../fs/errno.js';

/** The files of the page. */
export const REPORT_ASSETS = ['index.html', 'report.js', 'report.css'] as const;

/** dist/web/report of this package (found from this module's location, in src/ or dist/). */
export function defaultAssetsDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'sam-amg') return path.join(dir, 'dist', 'web', 'report');
      } catch {
        // Not ours; keep looking.
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the sam-amg package folder (for dist/web/report)');
    dir = up;
  }
}

/** Copies the page's files from `from` into `to`; throws naming a missing file and how to build it. */
export async function copyAssets(from: string, to: string): Promise<void> {
  for (const name of REPORT_ASSETS) {
    try {
      await fsp.copyFile(path.join(from, name), path.join(to, name));
    } catch (err) {
      throw new Error(`report page file ${path.join(from, name)}: ${describeFsError(err)} (build it with: npm run build)`, { cause: err });
    }
  }
}
