/**
 * The report page in headless Chromium, opened from file://: the index, hover and pin, the sliders and the
 * drawing modes, keyboard navigation, a non-blank screenshot, and two outputs side by side. The masks are the
 * synthetic ones of synthetic.ts, so every pixel checked is known to be inside (or outside) a given mask.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskColour } from '../../src/output/mask-colour.js';
import { runCli } from '../helpers/batch.js';
import { launchChromium, type Browser } from './chromium.js';
import { clickPixel, highlightPixel, hoverPixel, infoId, maskPixel, openReport, rendered, setSlider, showImage } from './report-page.js';
import { SCENES, scenesB, synthResult, writeOutput, writePhotos } from './synthetic.js';

let tmp: string;
let single: string;
let pair: string;
let browser: Browser;

beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sam-amg-browser-'));
  const photos = path.join(tmp, 'photos');
  await writePhotos(SCENES, photos);
  const a = await writeOutput(SCENES, 'coco', path.join(tmp, 'a.json'));
  const b = await writeOutput(scenesB(), 'coco', path.join(tmp, 'b.json'));
  single = path.join(tmp, 'single');
  pair = path.join(tmp, 'pair');
  expect((await runCli(['report', a, '--images', photos, '--out', single, '--quiet'])).code).toBe(0);
  expect((await runCli(['report', a, b, '--images', photos, '--out', pair, '--quiet'])).code).toBe(0);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

/** Two RGBA values within `tol` per channel. */
function near(actual: number[], expected: number[], tol = 3): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => expect(Math.abs(v - expected[i]), `channel ${i}: ${actual.join(',')} vs ${expected.join(',')}`).toBeLessThanOrEqual(tol));
}

/** The colour of mask i at the page's fill opacity (0.45) over nothing. */
const filled = (i: number): number[] => [...maskColour(i), Math.round(0.45 * 255)];

describe('report page (file://, headless Chromium)', () => {
  it('opens the index from file:// without network, and loads no image data until an image is opened', async () => {
    const { page, problems, requests } = await openReport(browser, single);
    expect(await page.locator('.card').count()).toBe(3);
    expect(await page.locator('#summary').textContent()).toBe('3 images, 7 masks, mean predicted IoU 0.923');
    expect(await page.locator('.card .name').allTextContents()).toEqual(['scene-a.png', 'scene-b.png', 'sub/scene-c.png']);
    // Scene a: 11,000 + 900 of 19,200 pixels covered.
    expect(await page.locator('.card').first().locator('.stats span').allTextContents()).toEqual(['4 masks', 'IoU 0.915', '62 % covered']);
    // Thumbnails are real images.
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('.card img')].every((i) => i.complete && i.naturalWidth > 0));
    expect(requests.filter((u) => u.includes('/data/images/'))).toEqual([]);
    await page.locator('.card').nth(1).click();
    await rendered(page);
    expect(await page.locator('#title').textContent()).toBe('scene-b.png · 120×90');
    expect(requests.filter((u) => u.includes('/data/images/')).map((u) => path.basename(u))).toEqual(['1.js']);
    expect(requests.every((u) => u.startsWith('file://'))).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('hovering a pixel inside a mask shows that mask\'s record; a click pins it', async () => {
    const { page, problems } = await openReport(browser, single, '#image=0');
    await rendered(page);
    expect(await infoId(page)).toEqual({ id: '', pinned: false });
    // (20, 30) is inside mask 2 only; (100, 60) inside the ellipse (3) on top of the large rectangle (1).
    await hoverPixel(page, 20, 30);
    expect(await infoId(page)).toEqual({ id: '2', pinned: false });
    expect(await page.locator('#info dd[data-field="area"]').textContent()).toBe('1\u2009200');
    expect(await page.locator('#info dd[data-field="bbox"]').textContent()).toBe('[10, 20, 39, 29]');
    expect(await page.locator('#info dd[data-field="predicted_iou"]').textContent()).toBe('0.800');
    expect(await page.locator('#info dd[data-field="stability_score"]').textContent()).toBe('0.990');
    expect(await page.locator('#info dd[data-field="point"]').textContent()).toBe('(30, 35)');
    expect(await page.locator('#info dd[data-field="crop_box"]').textContent()).toBe('[0, 0, 160, 120]');
    // The hovered mask is highlighted on its own layer.
    expect((await highlightPixel(page, 20, 30))[3]).toBeGreaterThan(0);
    expect((await highlightPixel(page, 120, 100))[3]).toBe(0);
    await hoverPixel(page, 100, 60);
    expect((await infoId(page)).id).toBe('3');
    await hoverPixel(page, 45, 100);
    expect((await infoId(page)).id).toBe('1');
    await hoverPixel(page, 5, 5);
    expect((await infoId(page)).id).toBe('');
    // Pinned: the record stays while the mouse moves on; a second click unpins.
    await clickPixel(page, 100, 60);
    expect(await infoId(page)).toEqual({ id: '3', pinned: true });
    await hoverPixel(page, 45, 100);
    expect(await infoId(page)).toEqual({ id: '3', pinned: true });
    await clickPixel(page, 100, 60);
    await hoverPixel(page, 45, 100);
    expect(await infoId(page)).toEqual({ id: '1', pinned: false });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('the IoU slider hides masks below it; the stability and area sliders filter too', async () => {
    const { page, problems } = await openReport(browser, single, '#image=0');
    await rendered(page);
    const visible = async (): Promise<string | null> => page.locator('#stage canvas.masks').getAttribute('data-visible');
    expect(await visible()).toBe('4');
    near(await maskPixel(page, 20, 30), filled(1));
    expect((await maskPixel(page, 45, 25))[3]).toBeGreaterThan(170); // masks 1 and 2 overlap here
    await setSlider(page, 'min-iou', '0.85');
    expect(await page.locator('output[for="min-iou"]').textContent()).toBe('0.850');
    expect(await visible()).toBe('3');
    expect(await page.locator('#shown').textContent()).toBe('showing 3 of 4 masks');
    expect(await maskPixel(page, 20, 30)).toEqual([0, 0, 0, 0]);
    near(await maskPixel(page, 45, 25), filled(0));
    await hoverPixel(page, 20, 30);
    expect((await infoId(page)).id).toBe('');
    await setSlider(page, 'min-iou', '0');

    // Stability ≥ 0.95 hides the ellipse (0.90): only the large rectangle is left under (100, 60).
    await setSlider(page, 'min-stability', '0.95');
    expect(await visible()).toBe('3');
    near(await maskPixel(page, 100, 60), filled(0));
    await setSlider(page, 'min-stability', '0');

    // Area: slider position 500 of 1000 → maxArea × 0.25 = 2750 px; only the 11,000 px rectangle is that large.
    await setSlider(page, 'min-area', '500');
    expect(await page.locator('output[for="min-area"]').textContent()).toBe('2\u2009750');
    expect(await visible()).toBe('1');
    near(await maskPixel(page, 100, 60), filled(0));
    expect(await maskPixel(page, 20, 30)).toEqual([0, 0, 0, 0]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('fill, outline and boxes change what is drawn', async () => {
    const { page, problems } = await openReport(browser, single, '#image=0');
    await rendered(page);
    const ellipseBox = synthResult(SCENES[0]).records[2].bbox;
    const [bx, by] = ellipseBox;
    // Fill: interior pixels coloured, the ellipse box's corner (outside the ellipse) only in the rectangle's colour.
    near(await maskPixel(page, 120, 100), filled(0));
    near(await maskPixel(page, bx, by), filled(0));
    await page.locator('#mode-outline').check();
    await rendered(page);
    // Outline: the rectangle's left edge (x = 40) is solid, its interior empty.
    near(await maskPixel(page, 40, 60), [...maskColour(0), 255]);
    expect(await maskPixel(page, 120, 100)).toEqual([0, 0, 0, 0]);
    expect(await maskPixel(page, bx, by)).toEqual([0, 0, 0, 0]);
    await page.locator('#mode-boxes').check();
    await rendered(page);
    // Boxes: the ellipse's box corner is drawn in the ellipse's colour, interiors stay empty.
    near(await maskPixel(page, bx, by), [...maskColour(2), 255]);
    near(await maskPixel(page, 40, 60), [...maskColour(0), 255]);
    expect(await maskPixel(page, 120, 100)).toEqual([0, 0, 0, 0]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('←/→ move between images; Esc goes back to the index page', async () => {
    const { page, problems } = await openReport(browser, single, '#image=0');
    await rendered(page);
    await page.keyboard.press('ArrowRight');
    await page.waitForSelector('#image[data-image="1"]');
    await rendered(page);
    expect(await page.locator('#title').textContent()).toBe('scene-b.png · 120×90');
    expect(await page.locator('#position').textContent()).toBe('2 of 3');
    await page.keyboard.press('ArrowRight');
    await page.waitForSelector('#image[data-image="2"]');
    await rendered(page);
    expect(await page.locator('#title').textContent()).toBe('sub/scene-c.png · 100×100');
    // At the last image → stays.
    await page.keyboard.press('ArrowRight');
    await rendered(page);
    expect(await page.locator('#image').getAttribute('data-image')).toBe('2');
    await page.keyboard.press('ArrowLeft');
    await page.waitForSelector('#image[data-image="1"]');
    expect(await page.evaluate(() => location.hash)).toBe('#image=1');
    await page.keyboard.press('Escape');
    await page.waitForSelector('body[data-view="grid"]');
    expect(await page.locator('.card').count()).toBe(3);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('a screenshot of an image view is not blank', async () => {
    const { page, problems } = await openReport(browser, single, '#image=0');
    await rendered(page);
    await page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('#stage img.photo');
      return img !== null && img.complete && img.naturalWidth > 0;
    });
    const png = await page.locator('#stage').screenshot();
    const stats = await sharp(png).stats();
    // A flat picture has a standard deviation of 0 in every channel; photo + masks are far from flat.
    const spread = stats.channels.slice(0, 3).map((c) => c.stdev);
    expect(Math.min(...spread)).toBeGreaterThan(15);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('two outputs side by side: A\'s missed masks and B\'s extra masks in their colours, partners highlighted', async () => {
    const { page, problems } = await openReport(browser, pair);
    expect(await page.locator('#summary').textContent()).toBe('matching at IoU ≥ 0.9: 6 matched, 1 missed (A without a match), 1 extra (B without a match), recall 0.857');
    expect(await page.locator('.card').first().locator('.stats span').allTextContents()).toEqual(['A 4 · B 4', 'missed 1', 'extra 1']);
    await showImage(page, 0);
    expect(await page.locator('#stage .panel').evaluateAll((ps) => ps.map((p) => p.getAttribute('data-side')))).toEqual(['A', 'B']);
    const [missed, extra] = await page.evaluate(() => {
      const s = getComputedStyle(document.documentElement);
      return [s.getPropertyValue('--missed').trim(), s.getPropertyValue('--extra').trim()];
    });
    expect([missed, extra]).toEqual(['rgb(255, 40, 80)', 'rgb(0, 150, 255)']);
    // A's mask 2 (missed) at (20, 30); B's extra mask at (130, 115); matched masks in grey.
    near(await maskPixel(page, 20, 30, 0), [255, 40, 80, 153]);
    expect(await maskPixel(page, 20, 30, 1)).toEqual([0, 0, 0, 0]);
    near(await maskPixel(page, 130, 115, 1), [0, 150, 255, 153]);
    expect(await maskPixel(page, 130, 115, 0)).toEqual([0, 0, 0, 0]);
    near(await maskPixel(page, 120, 100, 0), [200, 200, 200, 77]);
    near(await maskPixel(page, 120, 100, 1), [200, 200, 200, 77]);
    // Hovering A's rectangle names its partner in B and highlights it there.
    await hoverPixel(page, 120, 100, 0);
    expect(await infoId(page)).toEqual({ id: '1', pinned: false });
    expect(await page.locator('#info dd[data-field="match"]').textContent()).toBe('B #1, IoU 1.000');
    expect((await highlightPixel(page, 120, 100, 1))[3]).toBeGreaterThan(0);
    await hoverPixel(page, 20, 30, 0);
    expect(await page.locator('#info dd[data-field="match"]').textContent()).toBe('none: missed by B');
    await hoverPixel(page, 130, 115, 1);
    expect(await page.locator('#info dd[data-field="match"]').textContent()).toBe('none: extra in B');
    expect(problems).toEqual([]);
    await page.close();
  });
});
