import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { longestEdgeSize, resizeBilinearPillow } from '../src/image/resize-pillow.js';
import { xorshiftBytes } from './helpers/image-rng.js';

interface ResizeCase {
  src_w: number;
  src_h: number;
  seed: number;
  src_sha256: string;
  mode: 'longest' | 'square';
  dst_w: number;
  dst_h: number;
  sha256: string;
  first_12_bytes: number[];
  samples: { x: number; y: number; rgb: [number, number, number] }[];
}

const vectors = JSON.parse(
  readFileSync(new URL('../../shared/spec/vectors/resize.json', import.meta.url), 'utf8'),
) as { cases: ResizeCase[] };

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('longestEdgeSize', () => {
  it('follows int(x·s + 0.5) with s = 1024 / max', () => {
    expect(longestEdgeSize(1800, 1200)).toEqual({ width: 1024, height: 683 });
    expect(longestEdgeSize(800, 534)).toEqual({ width: 1024, height: 684 });
    expect(longestEdgeSize(1500, 1800)).toEqual({ width: 853, height: 1024 });
    expect(longestEdgeSize(3000, 7)).toEqual({ width: 1024, height: 2 });
    expect(longestEdgeSize(1, 1)).toEqual({ width: 1024, height: 1024 });
    expect(longestEdgeSize(1024, 1024)).toEqual({ width: 1024, height: 1024 });
    expect(longestEdgeSize(200, 100, 64)).toEqual({ width: 64, height: 32 });
  });
});

describe('resizeBilinearPillow matches Pillow 9.4 (shared vectors)', () => {
  it('has eight cases', () => expect(vectors.cases).toHaveLength(8));
  for (const c of vectors.cases) {
    it(`${c.src_w}x${c.src_h} → ${c.dst_w}x${c.dst_h} (${c.mode})`, () => {
      const src = xorshiftBytes(c.seed, c.src_w * c.src_h * 3);
      expect(sha256(src)).toBe(c.src_sha256);
      const size = c.mode === 'longest' ? longestEdgeSize(c.src_w, c.src_h) : { width: 1024, height: 1024 };
      expect(size).toEqual({ width: c.dst_w, height: c.dst_h });
      const out = resizeBilinearPillow(src, c.src_w, c.src_h, size.width, size.height);
      expect(out.length).toBe(c.dst_w * c.dst_h * 3);
      expect(Array.from(out.subarray(0, 12))).toEqual(c.first_12_bytes);
      for (const s of c.samples) {
        const o = (s.y * c.dst_w + s.x) * 3;
        expect(Array.from(out.subarray(o, o + 3)), `pixel (${s.x}, ${s.y})`).toEqual(s.rgb);
      }
      expect(sha256(out)).toBe(c.sha256);
    });
  }
});

describe('resizeBilinearPillow edge cases', () => {
  it('returns an equal copy when the size does not change', () => {
    const src = xorshiftBytes(7, 5 * 4 * 3);
    const out = resizeBilinearPillow(src, 5, 4, 5, 4);
    expect(out).toEqual(src);
    expect(out).not.toBe(src);
  });

  it('does not resample an axis whose size is unchanged', () => {
    // Width only: every row is resized on its own, rows are untouched.
    const src = xorshiftBytes(11, 6 * 3 * 3);
    const out = resizeBilinearPillow(src, 6, 3, 3, 3);
    for (let y = 0; y < 3; y++) {
      const row = resizeBilinearPillow(src.subarray(y * 18, y * 18 + 18), 6, 1, 3, 1);
      expect(Array.from(out.subarray(y * 9, y * 9 + 9))).toEqual(Array.from(row));
    }
  });

  it('halves a 2-pixel row by averaging with round-half-up', () => {
    // 2 → 1: both weights 0.5 → 2^21 each; (2^21 + 2^21·(10 + 13)) >> 22 = 12 (11.5 rounds up).
    const out = resizeBilinearPillow(Uint8Array.from([10, 0, 255, 13, 1, 0]), 2, 1, 1, 1);
    expect(Array.from(out)).toEqual([12, 1, 128]);
  });

  it('supports a single channel', () => {
    const out = resizeBilinearPillow(Uint8Array.from([0, 100, 200, 250]), 2, 2, 1, 1, 1);
    expect(Array.from(out)).toEqual([138]); // rows → [50, 225] → 137.5 → 138
  });
});
