/** Small masks for the polygon tests: ASCII art, seeded random masks, and a plain hole filler. */
import { encodeRowMajor, uncropRle, type Rle } from '../../src/rle/rle.js';

export interface TestMask {
  h: number;
  w: number;
  /** Row-major 0/1. */
  bits: Uint8Array;
  rle: Rle;
}

/** '#' is mask, anything else background; rows must have equal length. */
export function fromArt(rows: string[]): TestMask {
  const h = rows.length;
  const w = rows[0].length;
  const bits = new Uint8Array(h * w);
  rows.forEach((r, y) => {
    if (r.length !== w) throw new Error(`art row ${y} has ${r.length} columns, expected ${w}`);
    for (let x = 0; x < w; x++) bits[y * w + x] = r[x] === '#' ? 1 : 0;
  });
  return { h, w, bits, rle: encodeRowMajor(bits, h, w) };
}

/** The same mask placed at (x0, y0) in a bigger empty frame (`bits` stays the small mask's: only the RLE grows). */
export function placed(m: TestMask, H: number, W: number, x0: number, y0: number): TestMask & { x0: number; y0: number } {
  return { h: H, w: W, bits: m.bits, rle: uncropRle(m.rle, x0, y0, H, W), x0, y0 };
}

/** mulberry32: small seeded PRNG so failures reproduce. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Salt-and-pepper noise of the given density: many pinches, specks and one-pixel holes. */
export function noiseMask(rand: () => number, h: number, w: number, density: number): TestMask {
  const bits = new Uint8Array(h * w);
  for (let i = 0; i < bits.length; i++) bits[i] = rand() < density ? 1 : 0;
  return { h, w, bits, rle: encodeRowMajor(bits, h, w) };
}

/** Union of random discs minus smaller random discs: smooth boundaries like real masks, with holes and islands. */
export function blobMask(rand: () => number, h: number, w: number): TestMask {
  const bits = new Uint8Array(h * w);
  const disc = (v: number): void => {
    const cx = rand() * w;
    const cy = rand() * h;
    const r = 2 + rand() * Math.min(h, w) * (v ? 0.3 : 0.12);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 < r * r) bits[y * w + x] = v;
    }
  };
  const n = 1 + Math.floor(rand() * 4);
  for (let k = 0; k < n; k++) disc(1);
  for (let k = 0; k < n; k++) disc(0);
  // A little noise on the edges gives pinches and specks.
  for (let i = 0; i < bits.length; i++) if (rand() < 0.01) bits[i] ^= 1;
  return { h, w, bits, rle: encodeRowMajor(bits, h, w) };
}

/** Mask with holes filled: every pixel the outside background cannot reach through 4-connected background. */
export function fillHoles(bits: Uint8Array, h: number, w: number): Uint8Array {
  const reached = new Uint8Array(h * w);
  const stack: number[] = [];
  const seed = (x: number, y: number): void => {
    const i = y * w + x;
    if (!bits[i] && !reached[i]) {
      reached[i] = 1;
      stack.push(i);
    }
  };
  for (let x = 0; x < w; x++) {
    seed(x, 0);
    seed(x, h - 1);
  }
  for (let y = 0; y < h; y++) {
    seed(0, y);
    seed(w - 1, y);
  }
  while (stack.length > 0) {
    const i = stack.pop() as number;
    const x = i % w;
    const y = (i - x) / w;
    if (x > 0) seed(x - 1, y);
    if (x < w - 1) seed(x + 1, y);
    if (y > 0) seed(x, y - 1);
    if (y < h - 1) seed(x, y + 1);
  }
  const out = new Uint8Array(h * w);
  for (let i = 0; i < out.length; i++) out[i] = reached[i] ? 0 : 1;
  return out;
}
