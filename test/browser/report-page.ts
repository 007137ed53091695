/**
 * Driving the report page in the browser tests: open it from file://, watch that nothing leaves the machine and
 * nothing fails, read canvas pixels, hover image pixels.
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { fileUrl, type Browser } from './chromium.js';

/** A page of the report, with everything that went wrong while it ran. */
export interface ReportPage {
  page: Page;
  /** Console errors, uncaught exceptions, failed loads, and any request that was not file://. */
  problems: string[];
  /** Every URL the page requested. */
  requests: string[];
}

/** Opens `dir/index.html` (with `hash`) and waits until the page has read its index. */
export async function openReport(browser: Browser, dir: string, hash = '', viewport?: { width: number; height: number }): Promise<ReportPage> {
  const page = await browser.page(viewport);
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`exception: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('request', (r) => {
    requests.push(r.url());
    if (!r.url().startsWith('file://')) problems.push(`network: ${r.url()}`);
  });
  await page.goto(fileUrl(path.join(dir, 'index.html'), hash));
  await page.waitForSelector('body[data-ready="1"]');
  return { page, problems, requests };
}

/** Waits until the image view has drawn what its controls say. */
export async function rendered(page: Page): Promise<void> {
  await page.waitForSelector('#image[data-pending="0"]:not([hidden])');
}

/** Opens image n by its hash and waits for it to be drawn. */
export async function showImage(page: Page, n: number): Promise<void> {
  await page.evaluate((h) => {
    location.hash = h;
  }, `#image=${n}`);
  await page.waitForSelector(`#image[data-image="${n}"]`);
  await rendered(page);
}

/** RGBA of mask pixel (x, y) on the k-th panel's mask canvas. */
export function maskPixel(page: Page, x: number, y: number, k = 0): Promise<number[]> {
  return page.evaluate(
    ([kk, xx, yy]) => {
      const c = document.querySelectorAll<HTMLCanvasElement>('#stage canvas.masks')[kk];
      return Array.from((c.getContext('2d') as CanvasRenderingContext2D).getImageData(xx, yy, 1, 1).data);
    },
    [k, x, y] as const,
  );
}

/** RGBA of pixel (x, y) on the k-th panel's highlight canvas. */
export function highlightPixel(page: Page, x: number, y: number, k = 0): Promise<number[]> {
  return page.evaluate(
    ([kk, xx, yy]) => {
      const c = document.querySelectorAll<HTMLCanvasElement>('#stage canvas.hl')[kk];
      return Array.from((c.getContext('2d') as CanvasRenderingContext2D).getImageData(xx, yy, 1, 1).data);
    },
    [k, x, y] as const,
  );
}

/** Where the centre of image pixel (x, y) of panel k is on the screen. */
async function screenPoint(page: Page, x: number, y: number, k: number): Promise<{ sx: number; sy: number }> {
  const canvas = page.locator('#stage canvas.hl').nth(k);
  const box = await canvas.boundingBox();
  if (box === null) throw new Error('the image canvas is not visible');
  const [w, h] = await canvas.evaluate((c: HTMLCanvasElement) => [c.width, c.height]);
  return { sx: box.x + ((x + 0.5) * box.width) / w, sy: box.y + ((y + 0.5) * box.height) / h };
}

/** Moves the mouse over image pixel (x, y) of panel k. */
export async function hoverPixel(page: Page, x: number, y: number, k = 0): Promise<void> {
  const { sx, sy } = await screenPoint(page, x, y, k);
  await page.mouse.move(sx, sy);
}

/** Clicks image pixel (x, y) of panel k. */
export async function clickPixel(page: Page, x: number, y: number, k = 0): Promise<void> {
  const { sx, sy } = await screenPoint(page, x, y, k);
  await page.mouse.click(sx, sy);
}

/** Sets a range slider (by id) and waits for the redraw. */
export async function setSlider(page: Page, id: string, value: string): Promise<void> {
  await page.locator(`#${id}`).fill(value);
  await rendered(page);
}

/** The info panel's mask id ('' when no mask is hovered or pinned) and whether it is pinned. */
export async function infoId(page: Page): Promise<{ id: string; pinned: boolean }> {
  const info = page.locator('#info');
  return { id: (await info.getAttribute('data-id')) ?? '', pinned: (await info.getAttribute('data-pinned')) === '1' };
}
