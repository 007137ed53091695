/** Union (the COCO API's `merge`) and difference of two same-size RLE masks, merged from the runs without decoding. */
import { RleBuilder, type Rle } from '../rle/rle.js';

/** Pixels set in `a` or `b`; throws if the sizes differ. */
export function rleUnion(a: Rle, b: Rle): Rle {
  return rleCombine(a, b, (x, y) => x | y, 'rleUnion');
}

/** Pixels set in `a` and not in `b` (a polygon's outer ring minus its holes); throws if the sizes differ. */
export function rleDifference(a: Rle, b: Rle): Rle {
  return rleCombine(a, b, (x, y) => x & (y ^ 1), 'rleDifference');
}

function rleCombine(a: Rle, b: Rle, op: (x: number, y: number) => number, name: string): Rle {
  // x, y: whether the run under the cursor of a, b is set (odd run index).
  if (a.h !== b.h || a.w !== b.w) throw new Error(`${name}: size mismatch ${a.h}x${a.w} vs ${b.h}x${b.w}`);
  const ca = a.counts;
  const cb = b.counts;
  const out = new RleBuilder(a.h, a.w);
  let i = 0;
  let j = 0;
  let ea = ca.length > 0 ? ca[0] : 0;
  let eb = cb.length > 0 ? cb[0] : 0;
  let pos = 0;
  const total = a.h * a.w;
  while (pos < total) {
    // Skip exhausted or empty runs so both cursors point at the runs that contain `pos`.
    while (i < ca.length && ea <= pos) ea += ++i < ca.length ? ca[i] : 0;
    while (j < cb.length && eb <= pos) eb += ++j < cb.length ? cb[j] : 0;
    const end = Math.min(ea, eb);
    if (end <= pos) throw new Error(`${name}: RLE counts do not cover h*w`);
    out.push(op(i & 1, j & 1) as 0 | 1, end - pos);
    pos = end;
  }
  return out.finish();
}
