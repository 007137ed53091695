import { describe, expect, it } from 'vitest';
import {
  RleBuilder,
  compressCounts,
  decodeToColMajor,
  decodeToRowMajor,
  decompressCounts,
  encodeColMajor,
  encodeRowMajor,
  fromCoco,
  rleArea,
  rleBoxXYXY,
  rleIntersection,
  rleIou,
  toCoco,
  uncropRle,
  type Rle,
} from '../src/rle/rle.js';
// The polygon tests' seeded PRNG (mulberry32), so failures reproduce.
import { prng } from './polygon/masks.js';

type Kind = 'empty' | 'full' | 'noise' | 'blobs' | 'sparse';
const KINDS: Kind[] = ['empty', 'full', 'noise', 'blobs', 'sparse'];

/** Row-major random mask; 'blobs' gives long runs and column-crossing runs, 'noise' many short ones. */
function randomMask(rand: () => number, h: number, w: number, kind: Kind): Uint8Array {
  const m = new Uint8Array(h * w);
  if (kind === 'full') m.fill(1);
  if (kind === 'noise') for (let i = 0; i < m.length; i++) m[i] = rand() < 0.5 ? 1 : 0;
  if (kind === 'sparse') for (let i = 0; i < m.length; i++) m[i] = rand() < 0.03 ? 1 : 0;
  if (kind === 'blobs' && h > 0 && w > 0) {
    const nBlobs = 1 + Math.floor(rand() * 4);
    for (let b = 0; b < nBlobs; b++) {
      const y0 = Math.floor(rand() * h);
      const x0 = Math.floor(rand() * w);
      const y1 = y0 + Math.floor(rand() * (h - y0 + 1));
      const x1 = x0 + Math.floor(rand() * (w - x0 + 1));
      const v = rand() < 0.8 ? 1 : 0;
      for (let y = y0; y < y1; y++) m.fill(v, y * w + x0, y * w + x1);
    }
  }
  return m;
}

function rowToCol(m: Uint8Array, h: number, w: number): Uint8Array {
  const out = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[x * h + y] = m[y * w + x] ? 1 : 0;
  return out;
}

function bitmapArea(m: Uint8Array): number {
  let a = 0;
  for (let i = 0; i < m.length; i++) if (m[i]) a++;
  return a;
}

function bitmapBox(m: Uint8Array, h: number, w: number): [number, number, number, number] {
  let minX = Infinity, minY = Infinity, maxX = -1, maxY = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!m[y * w + x]) continue;
      minX = Math.min(minX, x);
      minY = Math.min(minY, y);
      maxX = Math.max(maxX, x);
      maxY = Math.max(maxY, y);
    }
  }
  return maxX < 0 ? [0, 0, 0, 0] : [minX, minY, maxX, maxY];
}

function bitmapIntersection(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] && b[i]) n++;
  return n;
}

/** Independent reference for rleToString with BigInt, exactly as the toolkit's C loop reads. */
function referenceCompress(counts: number[]): string {
  let s = '';
  for (let i = 0; i < counts.length; i++) {
    let x = BigInt(counts[i]);
    if (i > 2) x -= BigInt(counts[i - 2]);
    for (let more = true; more; ) {
      let c = Number(x & 0x1fn);
      x >>= 5n;
      more = c & 0x10 ? x !== -1n : x !== 0n;
      if (more) c |= 0x20;
      s += String.fromCharCode(c + 48);
    }
  }
  return s;
}

const SHAPES: Array<[number, number]> = [
  [0, 0], [0, 4], [4, 0], [1, 1], [1, 9], [9, 1], [2, 2], [3, 5], [5, 3],
  [7, 7], [16, 1], [1, 33], [13, 17], [32, 32], [40, 23], [64, 48],
];

function rleOf(counts: number[], h: number, w: number): Rle {
  return { h, w, counts: Uint32Array.from(counts) };
}

describe('COCO toolkit vectors', () => {
  it('3x3 all set', () => {
    const rle = encodeRowMajor(new Uint8Array(9).fill(1), 3, 3);
    expect(Array.from(rle.counts)).toEqual([0, 9]);
    expect(toCoco(rle)).toEqual({ size: [3, 3], counts: '09' });
    expect(rleBoxXYXY(rle)).toEqual([0, 0, 2, 2]);
  });

  it('7x5 with corners and a block', () => {
    const h = 7, w = 5;
    const m = new Uint8Array(h * w);
    m[0] = 1;
    m[6 * w + 4] = 1;
    for (let y = 2; y <= 4; y++) for (let x = 1; x <= 2; x++) m[y * w + x] = 1;
    const rle = encodeRowMajor(m, h, w);
    expect(Array.from(rle.counts)).toEqual([0, 1, 8, 3, 4, 3, 15, 1]);
    expect(compressCounts(rle.counts)).toBe('0182L0;N');
    expect(Array.from(decompressCounts('0182L0;N'))).toEqual([0, 1, 8, 3, 4, 3, 15, 1]);
    expect(rleArea(rle)).toBe(8);
    expect(rleBoxXYXY(rle)).toEqual([0, 0, 4, 6]);
  });

  it('1200x1800 rectangle', () => {
    const h = 1200, w = 1800;
    const m = new Uint8Array(h * w);
    for (let y = 100; y <= 1099; y++) m.fill(1, y * w + 200, y * w + 1500);
    const rle = encodeRowMajor(m, h, w);
    expect(rle.counts.length).toBe(2601);
    expect(Array.from(rle.counts.subarray(0, 4))).toEqual([240100, 1000, 200, 1000]);
    const coco = toCoco(rle);
    expect(coco.size).toEqual([1200, 1800]);
    expect(coco.counts.startsWith('T_Z7Xo0X6')).toBe(true);
    expect(coco.counts.endsWith('0l^o:')).toBe(true);
    expect(rleArea(rle)).toBe(1300000);
    // Rows 100..1099 × columns 200..1499 inclusive: XYXY is max-inclusive; the record bbox the reference
    // writes (XYWH with w = maxX − minX, no +1) is [200, 100, 1299, 999].
    const [x0, y0, x1, y1] = rleBoxXYXY(rle);
    expect([x0, y0, x1, y1]).toEqual([200, 100, 1499, 1099]);
    expect([x0, y0, x1 - x0, y1 - y0]).toEqual([200, 100, 1299, 999]);
    const back = fromCoco(coco);
    expect(back.counts).toEqual(rle.counts);
    // Deep equality on 2M elements is slow in vitest; compare bytes directly.
    expect(Buffer.compare(decodeToRowMajor(back), m)).toBe(0);
  });
});

describe('encode/decode conventions', () => {
  it('matches the toolkit for empty, zero-pixel and leading-one masks', () => {
    expect(Array.from(encodeRowMajor(new Uint8Array(6), 2, 3).counts)).toEqual([6]);
    expect(Array.from(encodeRowMajor(new Uint8Array(0), 0, 5).counts)).toEqual([0]);
    expect(Array.from(encodeColMajor(Uint8Array.from([1, 1, 0, 1]), 2, 2).counts)).toEqual([0, 2, 1, 1]);
    expect(toCoco(encodeRowMajor(new Uint8Array(6), 2, 3))).toEqual({ size: [2, 3], counts: '6' });
  });

  it('treats any non-zero byte as set', () => {
    const rle = encodeRowMajor(Uint8Array.from([0, 255, 7, 0]), 2, 2);
    expect(Array.from(decodeToRowMajor(rle))).toEqual([0, 1, 1, 0]);
  });

  it('decodes into a caller buffer, clearing stale bytes', () => {
    const rle = encodeRowMajor(Uint8Array.from([1, 0, 0, 1]), 2, 2);
    const out = new Uint8Array(6).fill(9);
    expect(decodeToRowMajor(rle, out)).toBe(out);
    expect(Array.from(out)).toEqual([1, 0, 0, 1, 9, 9]);
    expect(() => decodeToColMajor(rle, new Uint8Array(3))).toThrow(/need h\*w/);
  });

  it('rejects masks shorter than h*w and RLEs that do not cover h*w', () => {
    expect(() => encodeRowMajor(new Uint8Array(5), 2, 3)).toThrow(/need h\*w/);
    expect(() => decodeToRowMajor(rleOf([2, 3], 2, 3))).toThrow(/sum to 5/);
  });
});

describe('round trips on random masks', () => {
  it('row-major -> RLE -> string -> RLE -> row-major/col-major', () => {
    const rand = prng(1);
    let checked = 0;
    for (const [h, w] of SHAPES) {
      for (const kind of KINDS) {
        for (let rep = 0; rep < 3; rep++) {
          const m = randomMask(rand, h, w, kind);
          const col = rowToCol(m, h, w);
          const rle = encodeRowMajor(m, h, w);
          expect(encodeColMajor(col, h, w).counts).toEqual(rle.counts);
          // Canonical form: starts with zeros, no other empty run.
          for (let i = 1; i < rle.counts.length; i++) expect(rle.counts[i]).toBeGreaterThan(0);
          const coco = toCoco(rle);
          expect(coco.counts).toBe(referenceCompress(Array.from(rle.counts)));
          const json = JSON.parse(JSON.stringify(coco)) as typeof coco;
          const back = fromCoco(json);
          expect(back.h).toBe(h);
          expect(back.w).toBe(w);
          expect(back.counts).toEqual(rle.counts);
          expect(fromCoco({ size: [h, w], counts: Array.from(rle.counts) }).counts).toEqual(rle.counts);
          expect(decodeToRowMajor(back)).toEqual(m);
          expect(decodeToColMajor(back)).toEqual(col);
          checked++;
        }
      }
    }
    expect(checked).toBe(SHAPES.length * KINDS.length * 3);
  });

  it('string codec matches a BigInt reference and round-trips counts up to 2^32-1', () => {
    const rand = prng(2);
    const big = 0xffffffff;
    const fixed = [big, 0, 5, big, 0, big, 1, 0, big];
    expect(compressCounts(fixed)).toBe(referenceCompress(fixed));
    expect(Array.from(decompressCounts(compressCounts(fixed)))).toEqual(fixed);
    for (let rep = 0; rep < 200; rep++) {
      const n = 1 + Math.floor(rand() * 20);
      const scale = [2, 64, 2 ** 16, 2 ** 31, big][rep % 5];
      const counts = Array.from({ length: n }, () => Math.floor(rand() * scale));
      const s = compressCounts(counts);
      expect(s).toBe(referenceCompress(counts));
      expect(Array.from(decompressCounts(s))).toEqual(counts);
    }
  });
});

describe('measures from runs', () => {
  it('area and box equal a bitmap scan', () => {
    const rand = prng(3);
    for (const [h, w] of SHAPES) {
      for (const kind of KINDS) {
        for (let rep = 0; rep < 3; rep++) {
          const m = randomMask(rand, h, w, kind);
          const rle = encodeRowMajor(m, h, w);
          expect(rleArea(rle)).toBe(bitmapArea(m));
          expect(rleBoxXYXY(rle)).toEqual(bitmapBox(m, h, w));
        }
      }
    }
  });

  it('box tolerates empty runs in non-canonical counts', () => {
    expect(rleBoxXYXY(rleOf([0, 0, 3, 0, 1, 2], 2, 3))).toEqual([2, 0, 2, 1]);
    expect(rleBoxXYXY(rleOf([6, 0], 2, 3))).toEqual([0, 0, 0, 0]);
  });

  it('intersection and IoU equal bitmap values', () => {
    const rand = prng(4);
    for (const [h, w] of SHAPES) {
      for (let rep = 0; rep < 12; rep++) {
        const ma = randomMask(rand, h, w, KINDS[rep % KINDS.length]);
        const mb = randomMask(rand, h, w, KINDS[Math.floor(rand() * KINDS.length)]);
        const a = encodeRowMajor(ma, h, w);
        const b = encodeRowMajor(mb, h, w);
        const inter = bitmapIntersection(ma, mb);
        const union = bitmapArea(ma) + bitmapArea(mb) - inter;
        expect(rleIntersection(a, b)).toBe(inter);
        expect(rleIntersection(b, a)).toBe(inter);
        expect(rleIou(a, b)).toBeCloseTo(union === 0 ? 0 : inter / union, 12);
      }
    }
  });

  it('IoU is 0 for two empty masks and 1 for identical ones', () => {
    const empty = encodeRowMajor(new Uint8Array(12), 3, 4);
    expect(rleIou(empty, empty)).toBe(0);
    const full = encodeRowMajor(new Uint8Array(12).fill(1), 3, 4);
    expect(rleIou(full, full)).toBe(1);
    expect(rleIou(full, empty)).toBe(0);
  });

  it('intersection handles non-canonical empty runs', () => {
    const a = rleOf([0, 0, 2, 4], 2, 3);
    const b = rleOf([1, 0, 0, 5], 2, 3);
    expect(rleIntersection(a, b)).toBe(4);
    expect(rleIntersection(a, rleOf([3, 0, 0, 2, 1], 2, 3))).toBe(2);
  });

  it('intersection throws on size mismatch', () => {
    const a = encodeRowMajor(new Uint8Array(6), 2, 3);
    const b = encodeRowMajor(new Uint8Array(6), 3, 2);
    expect(() => rleIntersection(a, b)).toThrow(/size mismatch/);
    expect(() => rleIou(a, b)).toThrow(/size mismatch/);
  });
});

describe('RleBuilder', () => {
  it('fed pixel by pixel or in random chunks equals encodeColMajor', () => {
    const rand = prng(5);
    for (const [h, w] of SHAPES) {
      for (const kind of KINDS) {
        const col = rowToCol(randomMask(rand, h, w, kind), h, w);
        const expected = encodeColMajor(col, h, w);

        const perPixel = new RleBuilder(h, w);
        for (let i = 0; i < col.length; i++) perPixel.push(col[i] ? 1 : 0, 1);
        expect(perPixel.length).toBe(h * w);
        expect(perPixel.finish().counts).toEqual(expected.counts);

        // Chunks of equal bits split at random points, with empty pushes mixed in.
        const chunked = new RleBuilder(h, w);
        let i = 0;
        while (i < col.length) {
          const bit: 0 | 1 = col[i] ? 1 : 0;
          let j = i;
          const limit = i + 1 + Math.floor(rand() * 5);
          while (j < col.length && j < limit && (col[j] ? 1 : 0) === bit) j++;
          chunked.push(rand() < 0.5 ? 0 : 1, 0);
          chunked.push(bit, j - i);
          i = j;
        }
        const got = chunked.finish();
        expect(got.h).toBe(h);
        expect(got.w).toBe(w);
        expect(got.counts).toEqual(expected.counts);
      }
    }
  });

  it('throws when too few or too many pixels were pushed, or on bad lengths', () => {
    const few = new RleBuilder(2, 2);
    few.push(1, 3);
    expect(() => few.finish()).toThrow(/3 pixels pushed, expected h\*w = 4/);
    const many = new RleBuilder(2, 2);
    many.push(0, 5);
    expect(() => many.finish()).toThrow(/5 pixels pushed/);
    expect(() => new RleBuilder(2, 2).push(1, -1)).toThrow(RangeError);
    expect(() => new RleBuilder(2, 2).push(1, 1.5)).toThrow(RangeError);
    expect(() => new RleBuilder(-1, 2)).toThrow(RangeError);
  });

  it('grows past its initial capacity', () => {
    const n = 10_001;
    const b = new RleBuilder(1, n);
    for (let i = 0; i < n; i++) b.push((i & 1) as 0 | 1, 1);
    const rle = b.finish();
    expect(rle.counts.length).toBe(n);
    expect(rleArea(rle)).toBe(5000);
  });
});

describe('uncropRle', () => {
  it('equals encoding the bitmap placed into the bigger frame', () => {
    const rand = prng(6);
    const frames: Array<[number, number]> = [[1, 1], [1, 10], [10, 1], [9, 14], [32, 20]];
    for (const [H, W] of frames) {
      for (let rep = 0; rep < 25; rep++) {
        const ch = Math.floor(rand() * (H + 1));
        const cw = Math.floor(rand() * (W + 1));
        const y0 = Math.floor(rand() * (H - ch + 1));
        const x0 = Math.floor(rand() * (W - cw + 1));
        const crop = randomMask(rand, ch, cw, KINDS[rep % KINDS.length]);
        const big = new Uint8Array(H * W);
        for (let y = 0; y < ch; y++) big.set(crop.subarray(y * cw, (y + 1) * cw), (y + y0) * W + x0);
        const got = uncropRle(encodeRowMajor(crop, ch, cw), x0, y0, H, W);
        const expected = encodeRowMajor(big, H, W);
        expect(got.h).toBe(H);
        expect(got.w).toBe(W);
        expect(got.counts).toEqual(expected.counts);
      }
    }
  });

  it('full-height crops merge runs across columns', () => {
    const crop = encodeRowMajor(new Uint8Array(3 * 2).fill(1), 3, 2);
    expect(Array.from(uncropRle(crop, 1, 0, 3, 4).counts)).toEqual([3, 6, 3]);
  });

  it('rejects crops that do not fit', () => {
    const crop = encodeRowMajor(new Uint8Array(4), 2, 2);
    expect(() => uncropRle(crop, 3, 0, 4, 4)).toThrow(/does not fit/);
    expect(() => uncropRle(crop, 0, -1, 4, 4)).toThrow(/does not fit/);
  });
});

describe('malformed input', () => {
  it('decompressCounts rejects bad characters, truncation, overlong values and negative counts', () => {
    expect(() => decompressCounts('0 1')).toThrow(/character " " at offset 1/);
    expect(() => decompressCounts('0p')).toThrow(/outside '0'..'o'/);
    expect(() => decompressCounts('09/')).toThrow(/offset 2/);
    expect(() => decompressCounts('0P')).toThrow(/truncated/);
    expect(() => decompressCounts('PPPPPPPP0')).toThrow(/longer than 7/);
    // 'O' is a single group with the sign bit: -1.
    expect(() => decompressCounts('O')).toThrow(/decodes to -1/);
    // 'J' is the delta -6 against count 1 (5), making count 3 negative.
    expect(Array.from(decompressCounts('051N'))).toEqual([0, 5, 1, 3]);
    expect(() => decompressCounts('051J')).toThrow(/count 3 decodes to -1/);
    expect(Array.from(decompressCounts(''))).toEqual([]);
  });

  it('fromCoco rejects size mismatches and bad shapes', () => {
    expect(() => fromCoco({ size: [3, 3], counts: '0' })).toThrow(/sum to 0, expected h\*w = 3\*3 = 9/);
    expect(() => fromCoco({ size: [3, 3], counts: [0, 10] })).toThrow(/sum to 10/);
    expect(() => fromCoco({ size: [3, 3], counts: [0, -1, 10] })).toThrow(/non-negative integer/);
    expect(() => fromCoco({ size: [3, 3], counts: [0, 1.5, 7.5] })).toThrow(/non-negative integer/);
    expect(() => fromCoco({ size: [3] as unknown as [number, number], counts: '09' })).toThrow(/size must be/);
    expect(() => fromCoco({ size: [3, -3], counts: '09' })).toThrow(RangeError);
    expect(() => fromCoco({ size: [3, 3], counts: 9 as unknown as string })).toThrow(/counts must be/);
    expect(fromCoco({ size: [0, 0], counts: '0' }).counts).toEqual(Uint32Array.from([0]));
  });

  it('compressCounts rejects negative or fractional counts', () => {
    expect(() => compressCounts([0, -1])).toThrow(RangeError);
    expect(() => compressCounts([0.5])).toThrow(RangeError);
  });
});
