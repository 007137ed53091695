/**
 * The README's screenshot of the report (docs/report.png): a real run of the committed fixture model over a
 * committed synthetic scene, its report, one image opened with a mask pinned, captured in headless Chromium.
 *
 *   npm run docs:screenshot            # rewrites docs/report.png
 *
 * The browser test docs-screenshot.test.ts makes the same picture into a temporary file and checks it.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';
import { buildWeb } from '../../scripts/build-web.js';
import { launchChromium } from './chromium.js';
import { clickPixel, openReport, rendered } from './report-page.js';
import { errorMessage } from '../../src/base/errors.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SCENES = ['shapes-640x480.png', 'portrait-500x750.png', 'small-300x300.png'];

/** What the screenshot shows. */
export interface ScreenshotInfo {
  file: string;
  width: number;
  height: number;
  /** The id of the pinned mask in the picture. */
  pinned: string;
}

/** Makes the screenshot into `dest` (PNG, 1280×800). */
export async function makeReportScreenshot(dest: string): Promise<ScreenshotInfo> {
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sam-amg-docs-'));
  try {
    const images = path.join(tmp, 'images');
    await fsp.mkdir(images);
    for (const s of SCENES) await fsp.copyFile(path.join(ROOT, 'fixtures/scenes', s), path.join(images, s));
    const out = path.join(tmp, 'masks.json');
    const report = path.join(tmp, 'report');
    const model = path.join(ROOT, 'fixtures/models/sam1-tiny');
    const code = await main(['node', 'sam-amg', images, '--model', model, '--points-per-side', '8', '--date', 'none', '--quiet', '--out', out, '--report', report]);
    if (code !== 0) throw new Error(`the run for the screenshot exited ${code}`);
    const browser = await launchChromium();
    try {
      // Image 1 is shapes-640x480.png (sorted names); pin the green ellipse.
      const { page, problems } = await openReport(browser, report, '#image=1', { width: 1280, height: 800 });
      await rendered(page);
      await page.waitForFunction(() => {
        const img = document.querySelector<HTMLImageElement>('#stage img.photo');
        return img !== null && img.complete && img.naturalWidth > 0;
      });
      await clickPixel(page, 460, 130);
      const pinned = (await page.locator('#info').getAttribute('data-id')) ?? '';
      await fsp.mkdir(path.dirname(dest), { recursive: true });
      await page.screenshot({ path: dest });
      if (problems.length > 0) throw new Error(`the page reported problems: ${problems.join('; ')}`);
      return { file: dest, width: 1280, height: 800, pinned };
    } finally {
      await browser.close();
    }
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dest = path.resolve(process.argv[2] ?? path.join(ROOT, 'docs/report.png'));
  buildWeb()
    .then(() => makeReportScreenshot(dest))
    .then(
      (r) => process.stdout.write(`docs:screenshot: ${path.relative(process.cwd(), r.file)} (mask #${r.pinned} pinned)\n`),
      (err: unknown) => {
        process.stderr.write(`docs:screenshot: ${errorMessage(err)}\n`);
        process.exitCode = 1;
      },
    );
}
