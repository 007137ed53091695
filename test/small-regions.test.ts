import { describe, expect, it } from 'vitest';
import { labelComponents } from '../src/mask/components.js';
import { cleanLowResLogits, removeSmallRegions } from '../src/mask/small-regions.js';
import { cleanMask } from '../src/amg/small-region-pass.js';
import { encodeRowMajor, decodeToRowMajor } from '../src/rle/rle.js';

/** Parses a picture: '#' set, '.' unset, one string per row. */
function pic(rows: string[]): { bits: Uint8Array; w: number; h: number } {
  const h = rows.length;
  const w = rows[0].length;
  const bits = new Uint8Array(w * h);
  rows.forEach((r, y) => [...r].forEach((c, x) => (bits[y * w + x] = c === '#' ? 1 : 0)));
  return { bits, w, h };
}
function show(bits: Uint8Array, w: number): string[] {
  const rows: string[] = [];
  for (let i = 0; i < bits.length; i += w) rows.push([...bits.subarray(i, i + w)].map((b) => (b ? '#' : '.')).join(''));
  return rows;
}

describe('8-connected components', () => {
  it('joins diagonal-only neighbours and labels in raster order', () => {
    const { bits, w, h } = pic(['#...#', '.#..#', '..#..', '.....', '##..#']);
    const c = labelComponents(bits, w, h, 1);
    expect(c.count).toBe(4);
    expect(Array.from(c.sizes)).toEqual([3, 2, 2, 1]);
    expect(c.labels[0]).toBe(1);
    expect(c.labels[4]).toBe(2);
    expect(c.labels[12]).toBe(1);
    expect(c.labels[20]).toBe(3);
    expect(c.labels[24]).toBe(4);
  });
  it('merges U shapes whose arms meet late (union-find)', () => {
    const { bits, w, h } = pic(['#.#.#', '#.#.#', '#####']);
    const c = labelComponents(bits, w, h, 1);
    expect(c.count).toBe(1);
    expect(c.sizes[0]).toBe(11);
    const bg = labelComponents(bits, w, h, 0);
    expect(bg.count).toBe(2);
    expect(Array.from(bg.sizes)).toEqual([2, 2]);
  });
});

describe('SAM 1 small-region removal', () => {
  it('fills holes smaller than the area (strict <), holes touching the border included', () => {
    const { bits, w, h } = pic(['#######', '#..####', '#..##.#', '#######', '.######']);
    const m = bits.slice();
    expect(removeSmallRegions(m, w, h, 4, 'holes')).toBe(true);
    // the 4-pixel hole is not < 4 and stays; the 1-pixel hole and the border pixel are filled
    expect(show(m, w)).toEqual(['#######', '#..####', '#..####', '#######', '#######']);
    const m2 = bits.slice();
    expect(removeSmallRegions(m2, w, h, 1, 'holes')).toBe(false);
  });
  it('removes small islands, diagonal links keep an island together', () => {
    const { bits, w, h } = pic(['####....', '####....', '####.#..', '......#.', '#.......']);
    const m = bits.slice();
    expect(removeSmallRegions(m, w, h, 3, 'islands')).toBe(true);
    // the diagonal pair (2 px) and the single pixel are < 3: removed
    expect(show(m, w)).toEqual(['####....', '####....', '####....', '........', '........']);
  });
  it('keeps the largest island when every island is small', () => {
    const { bits, w, h } = pic(['##...', '.....', '..###', '.....', '#....']);
    const m = bits.slice();
    expect(removeSmallRegions(m, w, h, 10, 'islands')).toBe(true);
    expect(show(m, w)).toEqual(['.....', '.....', '..###', '.....', '.....']);
  });
  it('the windowed clean-up equals the full-image one (holes reaching the image border, islands)', () => {
    const rows = [
      '..........',
      '.########.',
      '.#..#####.',
      '.########.',
      '.####.###.',
      '.########.',
      '..........',
      '.......##.',
      '..........',
    ];
    for (const minArea of [1, 2, 3, 5, 50]) {
      const { bits, w, h } = pic(rows);
      const full = bits.slice();
      const a = removeSmallRegions(full, w, h, minArea, 'holes');
      const b = removeSmallRegions(full, w, h, minArea, 'islands');
      const res = cleanMask(encodeRowMajor(bits, h, w), minArea);
      expect(res.changed).toBe(a || b);
      expect(show(decodeToRowMajor(res.rle), w)).toEqual(show(full, w));
    }
  });
});

describe('SAM 2 low-resolution clean-up', () => {
  it('fills background components ≤ area, then clears foreground components ≤ area found on the original', () => {
    const n = 6;
    const { bits } = pic(['######', '#..###', '######', '......', '.#....', '......']);
    const logits = new Float32Array(n * n).map((_, i) => (bits[i] ? 2 : -2));
    const out = new Float32Array(n * n);
    cleanLowResLogits(logits, 0, n, 0, 2, out, new Uint8Array(n * n), new Int32Array(n * n));
    // the 2-pixel hole (area ≤ 2) becomes 10; the single-pixel island becomes -10; the big regions stay
    expect(out[7]).toBe(10);
    expect(out[8]).toBe(10);
    expect(out[25]).toBe(-10);
    expect(out[0]).toBe(2);
    expect(out[18]).toBe(-2);
    // a component of exactly the area is affected (≤), one pixel more is not
    const out3 = new Float32Array(n * n);
    cleanLowResLogits(logits, 0, n, 0, 1, out3, new Uint8Array(n * n), new Int32Array(n * n));
    expect(out3[7]).toBe(-2);
    expect(out3[25]).toBe(-10);
  });
  it('counts diagonal links and border components', () => {
    const n = 4;
    const { bits } = pic(['#...', '.#..', '....', '...#']);
    const logits = new Float32Array(n * n).map((_, i) => (bits[i] ? 1 : -1));
    const out = new Float32Array(n * n);
    cleanLowResLogits(logits, 0, n, 0, 1, out, new Uint8Array(n * n), new Int32Array(n * n));
    expect(out[0]).toBe(1); // diagonal pair: area 2 > 1
    expect(out[5]).toBe(1);
    expect(out[15]).toBe(-10); // corner pixel on the border: area 1 ≤ 1
  });
});
