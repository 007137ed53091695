/**
 * An image wider than the pages' largest mask canvas (MAX_FRAME_SIDE, 4096): the report draws its masks downscaled
 * by a whole factor (here 2) with the rasteriser's block coverage, and hovering still finds the mask on top.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskColour } from '../../src/output/mask-colour.js';
import { runCli } from '../helpers/batch.js';
import { launchChromium, type Browser } from './chromium.js';
import { highlightPixel, hoverPixel, infoId, maskPixel, openReport, rendered } from './report-page.js';
import { writeOutput, writePhotos, type SynthImage } from './synthetic.js';

/**
 * 5000×240: mask 1 covers it all; mask 2 is the rectangle 2001..2060 × 101..140, so at scale 2 it covers one image
 * pixel of canvas pixel (1000, 50), two of (1000, 51) and all four of (1001, 51).
 */
const WIDE: SynthImage = {
  name: 'wide.png',
  width: 5000,
  height: 240,
  masks: [
    { shape: { rect: [0, 0, 5000, 240] }, iou: 0.9, stability: 0.95 },
    { shape: { rect: [2001, 101, 2061, 141] }, iou: 0.95, stability: 0.97 },
  ],
};

let tmp: string;
let report: string;
let browser: Browser;

beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sam-amg-browser-scale-'));
  const photos = path.join(tmp, 'photos');
  await writePhotos([WIDE], photos);
  const output = await writeOutput([WIDE], 'coco', path.join(tmp, 'masks.json'));
  report = path.join(tmp, 'report');
  expect((await runCli(['report', output, '--images', photos, '--out', report, '--quiet'])).code).toBe(0);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

/** Colour c at opacity a/256 over RGBA d ("source over", straight alpha). */
function over(d: readonly number[], c: readonly number[], a: number): number[] {
  const src = a * 255;
  const dst = d[3] * (256 - a);
  const ch = (k: number): number => (c[k] * src + d[k] * dst) / (src + dst);
  return [ch(0), ch(1), ch(2), (src + dst) / 256];
}

function near(actual: number[], expected: number[], tol = 3): void {
  actual.forEach((v, i) => expect(Math.abs(v - expected[i]), `channel ${i}: ${actual.join(',')} vs ${expected.map(Math.round).join(',')}`).toBeLessThanOrEqual(tol));
}

describe('report page: an image larger than the mask canvas', () => {
  it('draws the masks at half size with block coverage, and the pointer finds the mask on top', async () => {
    const { page, problems } = await openReport(browser, report, '#image=0', { width: 1280, height: 800 });
    await rendered(page);
    const size = await page.locator('#stage canvas.masks').evaluate((c: HTMLCanvasElement) => [c.width, c.height]);
    expect(size).toEqual([2500, 120]);
    // Mask 1 alone: its colour at a = round(0.45 · 256) = 115 over nothing.
    const under = over([0, 0, 0, 0], maskColour(0), 115);
    near(await maskPixel(page, 1040, 50), under);
    // Mask 2 over it at 115 × (its pixels in the 2×2 block) / 4, rounded: 29, 58 and 115.
    near(await maskPixel(page, 1000, 50), over(under, maskColour(1), 29));
    near(await maskPixel(page, 1000, 51), over(under, maskColour(1), 58));
    near(await maskPixel(page, 1001, 51), over(under, maskColour(1), 115));
    // Canvas pixel (1015, 60) is inside mask 2 (image 2030..2031 × 120..121), (1040, 60) beside it.
    await hoverPixel(page, 1015, 60);
    expect(await infoId(page)).toEqual({ id: '2', pinned: false });
    expect((await highlightPixel(page, 1015, 60))[3]).toBeGreaterThan(0);
    expect((await highlightPixel(page, 1060, 60))[3]).toBe(0);
    await hoverPixel(page, 1040, 60);
    expect((await infoId(page)).id).toBe('1');
    expect(problems).toEqual([]);
    await page.close();
  });
});
