/**
 * A 10,000-image report, generated here (small photos, three masks each, written through the COCO writer): the
 * index opens with one page of thumbnails in the DOM and no per-image data loaded; the last page and the last
 * image work. Times are printed, never asserted (the project forbids timed assertions on loaded machines).
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/batch.js';
import { launchChromium, type Browser } from './chromium.js';
import { openReport, rendered } from './report-page.js';
import { manyImages, writeOutput, writePhotos } from './synthetic.js';

const N = 10_000;
const PAGE = 60;
let tmp: string;
let report: string;
let browser: Browser;

beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sam-amg-browser-10k-'));
  const images = manyImages(N);
  const photos = path.join(tmp, 'photos');
  await writePhotos(images, photos);
  const output = await writeOutput(images, 'coco', path.join(tmp, 'masks.json'));
  report = path.join(tmp, 'report');
  const t0 = performance.now();
  const r = await runCli(['report', output, '--images', photos, '--out', report, '--quiet']);
  const seconds = (performance.now() - t0) / 1000;
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  process.stdout.write(`10,000-image report: built in ${seconds.toFixed(1)} s (sam-amg report, this machine, load included)\n`);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

describe('a 10,000-image report', () => {
  it('opens index.html with one page of thumbnails in the DOM and no per-image data loaded', async () => {
    // Opened twice: the first load also pays for Chromium's first file reads; both are printed.
    const times: number[] = [];
    for (let k = 0; k < 2; k++) {
      const t0 = performance.now();
      const { page, problems, requests } = await openReport(browser, report);
      await page.waitForFunction((n) => document.querySelectorAll('.card').length === n, PAGE);
      times.push(performance.now() - t0);
      expect(await page.locator('#grid').getAttribute('data-pages')).toBe(String(Math.ceil(N / PAGE)));
      expect(await page.locator('.card').count()).toBe(PAGE);
      expect(await page.locator('#summary').textContent()).toMatch(/^10\u2009000 images, 30\u2009000 masks, mean predicted IoU 0\.\d{3}$/u);
      expect(requests.filter((u) => u.includes('/data/images/'))).toEqual([]);
      // Thumbnails are requested only for the page shown (lazy loading may fetch fewer).
      expect(requests.filter((u) => u.includes('/thumbs/')).length).toBeLessThanOrEqual(PAGE);
      expect(problems).toEqual([]);
      if (k === 1) {
        // The last page holds the remainder; its last card opens the last image.
        await page.locator('#grid .pager .last').first().click();
        await page.waitForSelector(`#grid[data-page="${Math.ceil(N / PAGE)}"]`);
        expect(await page.locator('.card').count()).toBe(N - (Math.ceil(N / PAGE) - 1) * PAGE);
        await page.locator('.card').last().click();
        await rendered(page);
        expect(await page.locator('#title').textContent()).toBe('img-09999.png · 32×24');
        expect(await page.locator('#stage canvas.masks').getAttribute('data-visible')).toBe('3');
        expect(requests.filter((u) => u.includes('/data/images/')).map((u) => path.basename(u))).toEqual(['9999.js']);
        expect(problems).toEqual([]);
      }
      await page.close();
    }
    process.stdout.write(`10,000-image report: index.html opened in ${times.map((t) => `${Math.round(t)} ms`).join(', then ')} (first ${PAGE} thumbnails in the DOM)\n`);
  });
});
