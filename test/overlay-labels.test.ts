/**
 * `--overlay-style labels` and `width=N`: ids drawn with the built-in bitmap font at each mask's point, in a tag
 * that reads on any background; the line width option; same bytes every time.
 */
import { describe, expect, it } from 'vitest';
import type { MaskRecord } from '../src/base/types.js';
import { maskColour, overlayPng, parseOverlayStyle, renderOverlay } from '../src/output/overlay.js';
import { encodeRowMajor } from '../src/rle/rle.js';

const W = 40;
const H = 30;
const GREY = 100;
const image = { width: W, height: H, data: new Uint8Array(W * H * 3).fill(GREY) };

/** A filled rectangle mask [x0, x1) × [y0, y1) with its prompt point. */
function rect(x0: number, y0: number, x1: number, y1: number, point: [number, number]): MaskRecord {
  const m = new Uint8Array(W * H);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * W + x] = 1;
  return {
    segmentation: encodeRowMajor(m, H, W),
    area: (x1 - x0) * (y1 - y0),
    bbox: [x0, y0, x1 - x0 - 1, y1 - y0 - 1],
    predictedIou: 0.9,
    stabilityScore: 0.95,
    pointCoords: point,
    cropBox: [0, 0, W, H],
  };
}

const px = (rgb: Uint8Array, x: number, y: number): number[] => Array.from(rgb.subarray((y * W + x) * 3, (y * W + x) * 3 + 3));
const luma = (c: number[]): number => 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];

/** The 5×7 glyphs of '1' and '0' (rows top to bottom). */
const ONE = ['00100', '01100', '00100', '00100', '00100', '00100', '01110'];
const ZERO = ['01110', '10001', '10011', '10101', '11001', '10001', '01110'];

describe('overlay labels', () => {
  it('parses labels and width=N, and refuses bad widths', () => {
    expect(parseOverlayStyle('fill,labels')).toEqual({ fill: true, outline: false, box: false, points: false, alpha: 0.45, labels: true });
    expect(parseOverlayStyle('width=3')).toEqual({ fill: true, outline: true, box: false, points: false, alpha: 0.45, width: 3 });
    expect(() => parseOverlayStyle('width=0')).toThrow('--overlay-style: width must be an integer in 1..64, got \'0\'');
    expect(() => parseOverlayStyle('width=1.5')).toThrow('width must be an integer');
    expect(() => parseOverlayStyle('labelz')).toThrow("unknown item 'labelz' (expected fill, outline, box, points, labels, alpha=X or width=N)");
  });

  it('draws the id centred on the point: black frame, the mask colour, digits that contrast with it', () => {
    const records = [rect(5, 5, 35, 25, [20, 15])];
    const rgb = renderOverlay(image, records, parseOverlayStyle('labels'));
    // Scale 1 at this size: tag 9×11 = frame 1 + padding 1 + 5×7 glyph + padding 1 + frame 1, centred on (20, 15).
    const [x0, y0] = [20 - 4, 15 - 5];
    const c = maskColour(0);
    const ink = luma(c) > 150 ? [0, 0, 0] : [255, 255, 255];
    expect(Math.abs(luma(ink) - luma(c))).toBeGreaterThan(100);
    for (let x = x0; x < x0 + 9; x++) {
      expect(px(rgb, x, y0)).toEqual([0, 0, 0]);
      expect(px(rgb, x, y0 + 10)).toEqual([0, 0, 0]);
    }
    for (let y = y0; y < y0 + 11; y++) {
      expect(px(rgb, x0, y)).toEqual([0, 0, 0]);
      expect(px(rgb, x0 + 8, y)).toEqual([0, 0, 0]);
    }
    expect(px(rgb, x0 + 1, y0 + 1)).toEqual(c);
    for (let row = 0; row < 7; row++) {
      for (let col = 0; col < 5; col++) {
        expect(px(rgb, x0 + 2 + col, y0 + 2 + row), `glyph ${col},${row}`).toEqual(ONE[row][col] === '1' ? ink : c);
      }
    }
    // Outside the tag the photo is untouched (labels alone draw nothing else).
    expect(px(rgb, x0 - 1, y0)).toEqual([GREY, GREY, GREY]);
    expect(px(rgb, 2, 2)).toEqual([GREY, GREY, GREY]);
  });

  it('numbers from firstId (0 for amg-png), scales with width=N and stays inside the image at the border', () => {
    const records = [rect(0, 0, 10, 10, [0, 0])];
    const rgb = renderOverlay(image, records, parseOverlayStyle('labels,width=2'), 0);
    // Scale 2: tag 18×22 pushed inside the image at (0, 0); each font pixel is 2×2.
    const ink = luma(maskColour(0)) > 150 ? [0, 0, 0] : [255, 255, 255];
    for (let row = 0; row < 7; row++) {
      for (let col = 0; col < 5; col++) {
        const want = ZERO[row][col] === '1' ? ink : maskColour(0);
        for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) expect(px(rgb, 4 + 2 * col + dx, 4 + 2 * row + dy)).toEqual(want);
      }
    }
    expect(px(rgb, 17, 21)).toEqual([0, 0, 0]);
    expect(px(rgb, 18, 22)).toEqual([GREY, GREY, GREY]);
  });

  it('width=N sets the outline width; the PNG bytes are the same every time', async () => {
    const records = [rect(10, 8, 30, 22, [20, 15]), rect(12, 10, 16, 14, [14, 12])];
    const thin = renderOverlay(image, records, parseOverlayStyle('outline'));
    const thick = renderOverlay(image, records, parseOverlayStyle('outline,width=3'));
    // The big mask's left edge is x = 10: one pixel wide by default, three (x = 9..11) with width=3 (rows 8..21, checked at y = 15).
    expect(px(thin, 10, 15)).toEqual(maskColour(0));
    expect(px(thin, 11, 15)).toEqual([GREY, GREY, GREY]);
    for (const x of [9, 10, 11]) expect(px(thick, x, 15)).toEqual(maskColour(0));
    expect(px(thick, 12, 15)).toEqual([GREY, GREY, GREY]);
    const style = parseOverlayStyle('fill,outline,box,points,labels,width=2');
    const a = await overlayPng(image, records, style);
    const b = await overlayPng(image, records, style);
    expect(a.equals(b)).toBe(true);
    // The labels follow firstId: "1" and "2" by default, "0" and "1" for amg-png.
    expect(a.equals(await overlayPng(image, records, style, 0))).toBe(false);
  });
});
