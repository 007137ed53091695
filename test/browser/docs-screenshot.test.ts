/**
 * The README's screenshot is made by this code (docs-screenshot.ts; `npm run docs:screenshot` writes
 * docs/report.png): here it is made into a temporary file and checked to show a real, non-blank page.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { makeReportScreenshot } from './docs-screenshot.js';

const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sam-amg-docs-test-'));
afterAll(() => fsp.rm(tmp, { recursive: true, force: true }));

describe('the README screenshot', () => {
  it('is a 1280×800 picture of an image view with a pinned mask, far from blank', async () => {
    const file = path.join(tmp, 'report.png');
    const r = await makeReportScreenshot(file);
    expect(r.pinned).toMatch(/^\d+$/u);
    const meta = await sharp(file).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 1280, 800]);
    const stats = await sharp(file).stats();
    expect(Math.min(...stats.channels.slice(0, 3).map((c) => c.stdev))).toBeGreaterThan(15);
    // The committed copy exists (regenerate it with npm run docs:screenshot).
    const committed = await sharp(path.resolve(import.meta.dirname, '../../docs/report.png')).metadata();
    expect([committed.width, committed.height]).toEqual([1280, 800]);
  });
});
