/**
 * The mask rasteriser (src/draw): exact pixels of fills, outlines, boxes, points and labels, the draw order, the
 * hit map, the line-width rule and downscaled frames. Hand-computed values for small cases; for random masks a
 * brute-force oracle written here from the definitions (a full decoded bitmap, every pixel tested, floating-point
 * "source over"), which the rasteriser's run walking and integer blending must match exactly.
 */
import { describe, expect, it } from 'vitest';
import { alpha256, blendPixel, frameSize, rgbaToRgb, rgbToRgba, scaleToFit, type Frame, type Rgb } from '../src/draw/frame.js';
import {
  boxOutline,
  drawLabel,
  drawMasks,
  drawOrder,
  drawPoint,
  fillMask,
  labelScale,
  lineWidth,
  markHits,
  outlineMask,
  type DrawMask,
} from '../src/draw/rasterise.js';
import { decodeToRowMajor, encodeRowMajor, RleBuilder, rleArea, rleBoxXYXY, type Rle } from '../src/rle/rle.js';
import { xorshift } from './helpers/image-rng.js';

const RED: Rgb = [200, 40, 10];
const BLUE: Rgb = [20, 60, 250];

/** A W×H frame (optionally a window at (x0, y0) and a scale) filled with one RGBA value. */
function frame(width: number, height: number, rgba: readonly number[], x0 = 0, y0 = 0, scale = 1): Frame {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set(rgba, i * 4);
  return { data, width, height, x0, y0, scale };
}

const at = (f: Frame, x: number, y: number): number[] => Array.from(f.data.subarray((y * f.width + x) * 4, (y * f.width + x) * 4 + 4));

/** A rectangle mask [x0, x1) × [y0, y1) on a W×H image. */
function rectRle(W: number, H: number, x0: number, y0: number, x1: number, y1: number): Rle {
  const m = new Uint8Array(W * H);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * W + x] = 1;
  return encodeRowMajor(m, H, W);
}

/** Random blobs, noise and rings: masks with holes, several pieces per column and pixels on the image border. */
function randomRle(rnd: () => number, W: number, H: number): Rle {
  const m = new Uint8Array(W * H);
  const kind = rnd();
  const cx = rnd() * W;
  const cy = rnd() * H;
  const rx = 1 + (rnd() * W) / 2;
  const ry = 1 + (rnd() * H) / 2;
  const p = rnd();
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const d = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2;
      if (kind < 0.3) m[y * W + x] = rnd() < p ? 1 : 0;
      else if (kind < 0.6) m[y * W + x] = d <= 1 ? 1 : 0;
      else m[y * W + x] = d <= 1 && d >= 0.3 ? 1 : 0;
    }
  }
  return encodeRowMajor(m, H, W);
}

// ---- the oracle: definitions, pixel by pixel ----

/**
 * "Source over" for colour c at opacity sa = a/256 over RGBA d (opacity da = d[3]/255), rounded half up:
 * out alpha = sa + da(1 − sa), out colour = (c·sa + d·da(1 − sa)) / out alpha. Both sides are multiplied by
 * 256·255 before dividing, so that a result of exactly k + ½ is computed exactly and rounds the same way every time.
 */
function overOracle(d: readonly number[], c: Rgb, a: number): number[] {
  const src = a * 255;
  const dst = d[3] * (256 - a);
  if (src + dst === 0) return [...d];
  const ch = (k: number): number => Math.floor((c[k] * src + d[k] * dst) / (src + dst) + 0.5);
  return [ch(0), ch(1), ch(2), Math.floor((src + dst) / 256 + 0.5)];
}

/** Frame pixel (fx, fy)'s block of image pixels, clipped to the W×H image. */
function block(f: Frame, fx: number, fy: number, W: number, H: number): [number, number, number, number] {
  const s = f.scale ?? 1;
  const x0 = (f.x0 ?? 0) + fx * s;
  const y0 = (f.y0 ?? 0) + fy * s;
  return [Math.max(0, x0), Math.max(0, y0), Math.min(W, x0 + s), Math.min(H, y0 + s)];
}

function oracleFill(f: Frame, rle: Rle, c: Rgb, alpha: number): void {
  const m = decodeToRowMajor(rle);
  const s = f.scale ?? 1;
  const a = Math.round(alpha * 256);
  for (let fy = 0; fy < f.height; fy++) {
    for (let fx = 0; fx < f.width; fx++) {
      const [xa, ya, xb, yb] = block(f, fx, fy, rle.w, rle.h);
      let cover = 0;
      for (let y = ya; y < yb; y++) for (let x = xa; x < xb; x++) cover += m[y * rle.w + x];
      const ak = Math.floor((a * cover) / (s * s) + 0.5);
      if (cover === 0 || ak === 0) continue;
      f.data.set(overOracle(at(f, fx, fy), c, ak), (fy * f.width + fx) * 4);
    }
  }
}

/** Mask pixels with a 4-neighbour outside the mask or the image. */
function oracleEdges(rle: Rle): [number, number][] {
  const m = decodeToRowMajor(rle);
  const { w: W, h: H } = rle;
  const out: [number, number][] = [];
  const on = (x: number, y: number): boolean => x >= 0 && y >= 0 && x < W && y < H && m[y * W + x] === 1;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (on(x, y) && !(on(x - 1, y) && on(x + 1, y) && on(x, y - 1) && on(x, y + 1))) out.push([x, y]);
    }
  }
  return out;
}

/** Each border pixel's lw×lw square (offset ⌊(lw−1)/2⌋), at the frame pixel the image pixel falls in. */
function oracleOutline(f: Frame, rle: Rle, c: Rgb, lw: number): void {
  const s = f.scale ?? 1;
  const half = Math.floor((lw - 1) / 2);
  for (const [x, y] of oracleEdges(rle)) {
    const fx = Math.floor((x - (f.x0 ?? 0)) / s) - half;
    const fy = Math.floor((y - (f.y0 ?? 0)) / s) - half;
    for (let dy = 0; dy < lw; dy++) {
      for (let dx = 0; dx < lw; dx++) {
        const px = fx + dx;
        const py = fy + dy;
        if (px >= 0 && py >= 0 && px < f.width && py < f.height) f.data.set([...c, 255], (py * f.width + px) * 4);
      }
    }
  }
}

function same(a: Frame, b: Frame): void {
  expect(a.data.length).toBe(b.data.length);
  for (let i = 0; i < a.data.length; i += 4) {
    if (a.data[i] !== b.data[i] || a.data[i + 1] !== b.data[i + 1] || a.data[i + 2] !== b.data[i + 2] || a.data[i + 3] !== b.data[i + 3]) {
      const p = i / 4;
      expect(at(a, p % a.width, Math.floor(p / a.width)), `frame pixel (${p % a.width}, ${Math.floor(p / a.width)})`).toEqual(at(b, p % b.width, Math.floor(p / b.width)));
    }
  }
}

describe('frame: blending and conversions', () => {
  it('blends in integers exactly as floating-point "source over" rounded half up, over opaque, transparent and partial pixels', () => {
    const px = new Uint8ClampedArray(4);
    const wrong: string[] = [];
    let n = 0;
    for (const da of [0, 1, 77, 115, 200, 254, 255]) {
      for (const d of [0, 13, 100, 255]) {
        for (const c of [0, 7, 128, 255]) {
          for (let a = 0; a <= 256; a++) {
            px.set([d, 255 - d, c, da]);
            blendPixel(px, 0, c, d, 255 - c, a);
            const want = overOracle([d, 255 - d, c, da], [c, d, 255 - c], a);
            n++;
            if (want.some((v, k) => v !== px[k])) wrong.push(`da ${da} d ${d} c ${c} a ${a}: ${Array.from(px).join(',')} vs ${want.join(',')}`);
          }
        }
      }
    }
    expect(n).toBe(7 * 4 * 4 * 257);
    expect(wrong).toEqual([]);
  });

  it('the 45 % fill over grey 100 and over nothing (hand-computed)', () => {
    // a = round(0.45 · 256) = 115: (100·141 + 200·115 + 128) >> 8 = 145, (14100 + 4600 + 128) >> 8 = 73, (14100 + 1150 + 128) >> 8 = 60.
    expect(alpha256(0.45)).toBe(115);
    const grey = frame(1, 1, [100, 100, 100, 255]);
    fillMask(grey, rectRle(1, 1, 0, 0, 1, 1), RED, 0.45);
    expect(at(grey, 0, 0)).toEqual([145, 73, 60, 255]);
    // Over nothing: the colour itself at alpha round(115 · 255 / 256) = 115.
    const clear = frame(1, 1, [0, 0, 0, 0]);
    fillMask(clear, rectRle(1, 1, 0, 0, 1, 1), RED, 0.45);
    expect(at(clear, 0, 0)).toEqual([200, 40, 10, 115]);
  });

  it('converts RGB to opaque RGBA and back; sizes and fits frames', () => {
    const rgb = Uint8Array.from([1, 2, 3, 4, 5, 6]);
    const rgba = rgbToRgba(rgb, 2, 1);
    expect(Array.from(rgba)).toEqual([1, 2, 3, 255, 4, 5, 6, 255]);
    expect(Array.from(rgbaToRgb(rgba, 2, 1))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(frameSize(1000, 750, 3)).toEqual({ width: 334, height: 250 });
    expect(scaleToFit(4096, 100, 4096)).toBe(1);
    expect(scaleToFit(4097, 100, 4096)).toBe(2);
    expect(scaleToFit(40000, 30000, 4096)).toBe(10);
    expect(() => fillMask({ data: new Uint8Array(4), width: 2, height: 1 }, rectRle(2, 1, 0, 0, 1, 1), RED, 1)).toThrow('frame: 4 bytes for 2x1 RGBA pixels, need 8');
    expect(() => fillMask({ ...frame(1, 1, [0, 0, 0, 0]), scale: 1.5 }, rectRle(1, 1, 0, 0, 1, 1), RED, 1)).toThrow('scale must be a positive integer');
  });
});

describe('fill', () => {
  it('covers the mask\'s pixels only, through a window of the image', () => {
    const rle = rectRle(10, 8, 2, 3, 6, 5);
    const f = frame(5, 4, [0, 0, 0, 0], 3, 2);
    fillMask(f, rle, RED, 1);
    // Window columns 3..7, rows 2..5: the rectangle's x 3..5, y 3..4 are frame (0..2, 1..2).
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 5; x++) expect(at(f, x, y), `(${x}, ${y})`).toEqual(x <= 2 && y >= 1 && y <= 2 ? [200, 40, 10, 255] : [0, 0, 0, 0]);
    }
  });

  it('matches the oracle on random masks, windows and scales', () => {
    const rnd = xorshift(21);
    for (let t = 0; t < 60; t++) {
      const W = 1 + Math.floor(rnd() * 40);
      const H = 1 + Math.floor(rnd() * 30);
      const rle = randomRle(rnd, W, H);
      const s = 1 + Math.floor(rnd() * 4);
      const x0 = Math.floor(rnd() * 6) - 3;
      const y0 = Math.floor(rnd() * 6) - 3;
      const { width, height } = frameSize(W, H, s);
      const base = rnd() < 0.5 ? [90, 160, 30, 255] : [0, 0, 0, 0];
      const alpha = [0.45, 0.3, 1, 0.6][t % 4];
      const got = frame(width, height, base, x0, y0, s);
      const want = frame(width, height, base, x0, y0, s);
      // Twice, so the second fill lands on the first (partly transparent pixels at scale > 1).
      fillMask(got, rle, RED, alpha);
      fillMask(got, rle, BLUE, alpha);
      oracleFill(want, rle, RED, alpha);
      oracleFill(want, rle, BLUE, alpha);
      same(got, want);
    }
  });

  it('downscaled: a frame pixel gets the mask\'s opacity times its share of the block (hand-computed)', () => {
    // 8×4 image, scale 4: two frame pixels side by side; the mask covers all of the left block and 6 of 16 of the right.
    const rle = rectRle(8, 4, 0, 0, 6, 3);
    const f = frame(2, 1, [0, 0, 0, 0], 0, 0, 4);
    fillMask(f, rle, RED, 1);
    // Left: 12 of 16 pixels (rows 0..2) → a = round(256 · 12/16) = 192, alpha round(192 · 255/256) = 191.
    // Right: columns 4..5 × rows 0..2 = 6 of 16 → a = 96, alpha round(96 · 255/256) = 96.
    expect(at(f, 0, 0)).toEqual([200, 40, 10, 191]);
    expect(at(f, 1, 0)).toEqual([200, 40, 10, 96]);
  });

  it('draws a mask of a 40,000 × 30,000 image into an 80 × 60 frame from its runs', () => {
    const W = 40_000;
    const H = 30_000;
    // Columns 10,250..19,999, rows 5,000..14,999, built as runs (decoded, this mask would be 1.2 GB).
    const b = new RleBuilder(H, W);
    b.push(0, 10_250 * H);
    for (let x = 10_250; x < 20_000; x++) {
      b.push(0, 5_000);
      b.push(1, 10_000);
      b.push(0, H - 15_000);
    }
    b.push(0, (W - 20_000) * H);
    const rle = b.finish();
    const s = scaleToFit(W, H, 80);
    expect(s).toBe(500);
    const f = frame(80, 60, [0, 0, 0, 0], 0, 0, s);
    fillMask(f, rle, RED, 1);
    // Frame columns 20 (half: image 10,250..10,499) and 21..39; rows 10..29.
    expect(at(f, 20, 15)).toEqual([200, 40, 10, 128]);
    expect(at(f, 21, 10)).toEqual([200, 40, 10, 255]);
    expect(at(f, 39, 29)).toEqual([200, 40, 10, 255]);
    for (const [x, y] of [[19, 15], [40, 15], [30, 9], [30, 30]]) expect(at(f, x, y)).toEqual([0, 0, 0, 0]);
    outlineMask(f, rle, BLUE, 1);
    expect(at(f, 20, 20)).toEqual([20, 60, 250, 255]);
    expect(at(f, 30, 20)).toEqual([200, 40, 10, 255]);
  });
});

describe('outline', () => {
  it('is the mask pixels with a neighbour outside, solid, lw wide (hand-checked)', () => {
    // Rectangle x 1..5, y 1..4 in an 8×6 image.
    const rle = rectRle(8, 6, 1, 1, 6, 5);
    const f = frame(8, 6, [0, 0, 0, 0]);
    outlineMask(f, rle, RED, 1);
    for (let y = 0; y < 6; y++) {
      for (let x = 0; x < 8; x++) {
        const ring = x >= 1 && x <= 5 && y >= 1 && y <= 4 && (x === 1 || x === 5 || y === 1 || y === 4);
        expect(at(f, x, y), `(${x}, ${y})`).toEqual(ring ? [200, 40, 10, 255] : [0, 0, 0, 0]);
      }
    }
    // Three wide: each border pixel is the centre of a 3×3 square, so the ring grows by one both ways.
    const thick = frame(8, 6, [0, 0, 0, 0]);
    outlineMask(thick, rle, RED, 3);
    expect(at(thick, 0, 0)).toEqual([200, 40, 10, 255]);
    expect(at(thick, 2, 2)).toEqual([200, 40, 10, 255]);
    expect(at(thick, 3, 3)).toEqual([200, 40, 10, 255]);
    expect(at(thick, 7, 5)).toEqual([0, 0, 0, 0]);
    // Two wide: offset ⌊(2−1)/2⌋ = 0, so the square reaches right and down only.
    const two = frame(8, 6, [0, 0, 0, 0]);
    outlineMask(two, rle, RED, 2);
    expect(at(two, 0, 1)).toEqual([0, 0, 0, 0]);
    expect(at(two, 6, 2)).toEqual([200, 40, 10, 255]);
    expect(at(two, 2, 2)).toEqual([200, 40, 10, 255]);
    expect(at(two, 3, 3)).toEqual([0, 0, 0, 0]);
  });

  it('marks the image border and a hole, and no seam where an RLE splits a column with an empty run', () => {
    // 5×6 image; columns 1..3, rows 1..4, the middle column written as 2 + (empty zero run) + 2.
    const rle: Rle = { h: 6, w: 5, counts: Uint32Array.from([7, 4, 2, 2, 0, 2, 2, 4, 7]) };
    const f = frame(5, 6, [0, 0, 0, 0]);
    outlineMask(f, rle, RED, 1);
    expect(at(f, 2, 2)).toEqual([0, 0, 0, 0]);
    expect(at(f, 2, 3)).toEqual([0, 0, 0, 0]);
    expect(at(f, 2, 1)).toEqual([200, 40, 10, 255]);
    expect(at(f, 1, 2)).toEqual([200, 40, 10, 255]);
    // A full 3×3 image with a hole in the middle: every pixel is border (the image's or the hole's).
    const ring = encodeRowMajor(Uint8Array.from([1, 1, 1, 1, 0, 1, 1, 1, 1]), 3, 3);
    const g = frame(3, 3, [0, 0, 0, 0]);
    outlineMask(g, ring, RED, 1);
    for (let i = 0; i < 9; i++) expect(at(g, i % 3, Math.floor(i / 3))).toEqual(i === 4 ? [0, 0, 0, 0] : [200, 40, 10, 255]);
  });

  it('matches the oracle on random masks, widths, windows and scales', () => {
    const rnd = xorshift(2121);
    for (let t = 0; t < 80; t++) {
      const W = 1 + Math.floor(rnd() * 40);
      const H = 1 + Math.floor(rnd() * 30);
      const rle = randomRle(rnd, W, H);
      const lw = 1 + Math.floor(rnd() * 4);
      const s = t < 40 ? 1 : 1 + Math.floor(rnd() * 4);
      const x0 = Math.floor(rnd() * 8) - 4;
      const y0 = Math.floor(rnd() * 8) - 4;
      const { width, height } = frameSize(W, H, s);
      const got = frame(width, height, [5, 6, 7, 255], x0, y0, s);
      const want = frame(width, height, [5, 6, 7, 255], x0, y0, s);
      outlineMask(got, rle, BLUE, lw);
      oracleOutline(want, rle, BLUE, lw);
      same(got, want);
    }
  });
});

describe('box, point and label', () => {
  it('draws the record box inside its inclusive corners, rounded, lw wide', () => {
    const f = frame(10, 8, [0, 0, 0, 0]);
    boxOutline(f, [2, 1, 4, 3], RED, 1);
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 10; x++) {
        const edge = x >= 2 && x <= 6 && y >= 1 && y <= 4 && (x === 2 || x === 6 || y === 1 || y === 4);
        expect(at(f, x, y), `(${x}, ${y})`).toEqual(edge ? [200, 40, 10, 255] : [0, 0, 0, 0]);
      }
    }
    const thick = frame(10, 8, [0, 0, 0, 0]);
    boxOutline(thick, [1.6, 0.6, 5.2, 5.4], RED, 2);
    // Rounded to [2, 1, 5, 5]: x 2..7, y 1..6; two pixels in from each side, the middle (4..5, 3..4) empty.
    expect(at(thick, 3, 3)).toEqual([200, 40, 10, 255]);
    expect(at(thick, 6, 4)).toEqual([200, 40, 10, 255]);
    expect(at(thick, 4, 3)).toEqual([0, 0, 0, 0]);
    expect(at(thick, 5, 4)).toEqual([0, 0, 0, 0]);
    expect(at(thick, 8, 4)).toEqual([0, 0, 0, 0]);
    // Downscaled by 2: corners (2, 1) and (7, 6) fall in frame pixels (1, 0) and (3, 3).
    const half = frame(5, 4, [0, 0, 0, 0], 0, 0, 2);
    boxOutline(half, [2, 1, 5, 5], RED, 1);
    expect([at(half, 1, 0), at(half, 3, 3), at(half, 2, 1), at(half, 0, 0), at(half, 4, 3)].map((p) => p[3])).toEqual([255, 255, 0, 0, 0]);
  });

  it('draws a point as a disc in a white ring', () => {
    const f = frame(21, 21, [0, 0, 0, 0]);
    drawPoint(f, [10.4, 9.6], RED, 1);
    // Centre (10, 10); outer radius 4, inner 3.
    expect(at(f, 10, 10)).toEqual([200, 40, 10, 255]);
    expect(at(f, 13, 10)).toEqual([200, 40, 10, 255]);
    expect(at(f, 14, 10)).toEqual([255, 255, 255, 255]);
    expect(at(f, 15, 10)).toEqual([0, 0, 0, 0]);
    expect(at(f, 13, 13)).toEqual([0, 0, 0, 0]);
  });

  it('draws a label: black frame, the colour, the digits in the contrasting ink, kept inside the frame', () => {
    const ONE = ['00100', '01100', '00100', '00100', '00100', '00100', '01110'];
    // BLUE is dark (luma < 150): white digits.
    const f = frame(30, 20, [0, 0, 0, 0]);
    drawLabel(f, [15, 10], '1', BLUE, 1);
    // 9×11 tag centred on (15, 10): left 15 − 4 = 11, top 10 − 5 = 5.
    expect(at(f, 11, 5)).toEqual([0, 0, 0, 255]);
    expect(at(f, 19, 15)).toEqual([0, 0, 0, 255]);
    expect(at(f, 12, 6)).toEqual([20, 60, 250, 255]);
    for (let row = 0; row < 7; row++) {
      for (let col = 0; col < 5; col++) expect(at(f, 13 + col, 7 + row)).toEqual(ONE[row][col] === '1' ? [255, 255, 255, 255] : [20, 60, 250, 255]);
    }
    expect(at(f, 10, 5)).toEqual([0, 0, 0, 0]);
    expect(at(f, 20, 5)).toEqual([0, 0, 0, 0]);
    // At the corner of a frame downscaled by 4, font pixels of 2: the tag (18×22) is pushed inside at (0, 0).
    const g = frame(30, 30, [0, 0, 0, 0], 0, 0, 4);
    drawLabel(g, [3, 3], '1', [250, 250, 100], 2);
    expect(at(g, 0, 0)).toEqual([0, 0, 0, 255]);
    expect(at(g, 17, 21)).toEqual([0, 0, 0, 255]);
    expect(at(g, 18, 21)).toEqual([0, 0, 0, 0]);
    // A light colour gets black digits: ONE's top stroke at font (2, 0) → frame (4 + 4, 4).
    expect(at(g, 8, 4)).toEqual([0, 0, 0, 255]);
    expect(at(g, 6, 4)).toEqual([250, 250, 100, 255]);
  });
});

describe('drawMasks: one draw order, one line width', () => {
  const W = 12;
  const H = 10;
  const big = rectRle(W, H, 1, 1, 11, 9);
  const small = rectRle(W, H, 4, 3, 8, 7);
  const mask = (rle: Rle, colour: Rgb): DrawMask => {
    const [x0, y0, x1, y1] = rleBoxXYXY(rle);
    return { rle, area: rleArea(rle), bbox: [x0, y0, x1 - x0, y1 - y0], colour };
  };

  it('fills largest first whatever the list order (ties: list order), then outlines over every fill', () => {
    // The small mask first in the list; it is still drawn last.
    const masks = [mask(small, BLUE), mask(big, RED)];
    expect(drawOrder(masks)).toEqual([1, 0]);
    expect(drawOrder([{ area: 5 }, { area: 5 }, { area: 9 }])).toEqual([2, 0, 1]);
    expect(drawOrder([{ area: 5 }, { area: 5 }, { area: 9 }], [1, 0])).toEqual([0, 1]);
    const f = frame(W, H, [100, 100, 100, 255]);
    drawMasks(f, masks, { fill: true, alpha: 0.5 });
    // a = 128: red over grey, then blue over that: (100·128 + 200·128 + 128) >> 8 = 150, … then (150·128 + 20·128 + 128) >> 8 = 85.
    expect(at(f, 2, 2)).toEqual([150, 70, 55, 255]);
    expect(at(f, 5, 5)).toEqual([85, 65, 153, 255]);
    expect(at(f, 0, 0)).toEqual([100, 100, 100, 255]);
    // Outlines come after all fills, so a border is never covered by a later (smaller) mask's fill.
    const g = frame(W, H, [100, 100, 100, 255]);
    const touching = [mask(rectRle(W, H, 1, 1, 6, 9), BLUE), mask(big, RED)];
    drawMasks(g, touching, { fill: true, outline: true, alpha: 0.5, lineWidth: 1 });
    // (1, 4) is on both borders: the blue (smaller, drawn later) outline wins; (10, 4) only the red border.
    expect(at(g, 1, 4)).toEqual([20, 60, 250, 255]);
    expect(at(g, 10, 4)).toEqual([200, 40, 10, 255]);
    expect(at(g, 3, 4)).toEqual([85, 65, 153, 255]);
  });

  it('draws only the masks `order` names, and boxes for masks with pixels', () => {
    const f = frame(W, H, [0, 0, 0, 0]);
    const empty: DrawMask = { rle: rectRle(W, H, 0, 0, 0, 0), area: 0, bbox: [0, 0, 0, 0], colour: BLUE };
    drawMasks(f, [mask(big, RED), mask(small, BLUE), empty], { box: true, lineWidth: 1 }, [0, 2]);
    expect(at(f, 1, 1)).toEqual([200, 40, 10, 255]);
    expect(at(f, 4, 3)).toEqual([0, 0, 0, 0]);
    expect(at(f, 0, 0)).toEqual([0, 0, 0, 0]);
  });

  it('the line-width rule: one screen pixel where the shown size is known, else the short side shown at 800', () => {
    expect(lineWidth(640, 480)).toBe(1);
    expect(lineWidth(1600, 1200)).toBe(2);
    expect(lineWidth(4000, 3000)).toBe(4);
    expect(lineWidth(4000, 3000, 1000)).toBe(4);
    expect(lineWidth(160, 120, 800)).toBe(1);
    expect(lineWidth(1000, 800, 0)).toBe(1);
    expect(lineWidth(200_000, 200_000)).toBe(64);
    expect(labelScale(640, 480)).toBe(1);
    expect(labelScale(1600, 1200)).toBe(3);
  });
});

describe('hit map', () => {
  it('holds the mask drawn last at each frame pixel, at full size and downscaled (any pixel of the block)', () => {
    const W = 8;
    const H = 6;
    const big = rectRle(W, H, 0, 0, 8, 6);
    const small = rectRle(W, H, 5, 3, 6, 4);
    const hits = new Int32Array(W * H).fill(-1);
    for (const [i, rle] of [big, small].entries()) markHits(hits, { width: W, height: H }, rle, i);
    expect(hits[3 * W + 5]).toBe(1);
    expect(hits[3 * W + 4]).toBe(0);
    const half = new Int32Array(4 * 3).fill(-1);
    markHits(half, { width: 4, height: 3, scale: 2 }, small, 7);
    // Image pixel (5, 3) is in frame pixel (2, 1).
    expect(Array.from(half)).toEqual([-1, -1, -1, -1, -1, -1, 7, -1, -1, -1, -1, -1]);
    expect(() => markHits(new Int32Array(3), { width: 2, height: 2 }, small, 0)).toThrow('markHits: 3 entries for a 2x2 frame');
  });
});
