/**
 * COCO run-length encoding of binary masks, implemented from the COCO toolkit's C code (maskApi.c)
 * without external libraries.
 *
 * Layout: runs alternate 0,1,0,1,… over the mask flattened **column-major** (down each column,
 * columns left to right) and always start with a run of zeros, which may be empty. Like the toolkit's
 * `rleEncode`, an encoder never emits a trailing empty run, so an all-zero mask is `[h*w]`, a full one
 * `[0, h*w]` and a 0-pixel mask `[0]`.
 *
 * Limits: counts live in a Uint32Array, so h*w must stay below 2^32. The string codec uses exact
 * float arithmetic instead of 32-bit shifts, so every count up to 2^32 − 1 round-trips (the toolkit
 * itself is limited by its `uint` counts in the same way).
 */

import type { Rle } from '../base/types.js';

/** In-memory RLE: column-major run lengths, starting with a run of zeros (may be 0); defined at the ground floor. */
export type { Rle };

/** Compressed RLE as stored in COCO JSON / SA-1B: `size` is [h, w], `counts` the LEB-like string. */
export interface CocoRle {
  size: [number, number];
  counts: string;
}

/** Uncompressed RLE as allowed in COCO JSON: `size` is [h, w], `counts` the plain run lengths. */
export interface CocoRleUncompressed {
  size: [number, number];
  counts: number[];
}

const MAX_PIXELS = 0xffffffff;
/** A delta of two uint32 counts needs 34 bits with sign, i.e. 7 groups of 5 bits. */
const MAX_GROUPS = 7;

function assertSize(h: number, w: number): void {
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 0 || w < 0) {
    throw new RangeError(`RLE size must be non-negative integers, got h=${h}, w=${w}`);
  }
  if (h * w > MAX_PIXELS) {
    throw new RangeError(`RLE size ${h}x${w} exceeds the 2^32-1 pixel limit of Uint32 counts`);
  }
}

/** Sum of all counts; used to reject RLEs whose runs do not cover exactly h*w pixels. */
function countsTotal(counts: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  return total;
}

function assertCovers(rle: Rle, what: string): void {
  const total = countsTotal(rle.counts);
  if (total !== rle.h * rle.w) {
    throw new Error(`${what}: RLE counts sum to ${total}, expected h*w = ${rle.h}*${rle.w} = ${rle.h * rle.w}`);
  }
}

/** Incremental builder used by the hot post-processing path: runs are appended in column-major order. */
export class RleBuilder {
  /** Mask height (pixels per column). */
  readonly h: number;
  /** Mask width (number of columns). */
  readonly w: number;
  private counts: Uint32Array;
  private n = 0;
  private total = 0;

  /** Starts an empty builder for an h × w mask. */
  constructor(h: number, w: number) {
    assertSize(h, w);
    this.h = h;
    this.w = w;
    this.counts = new Uint32Array(16);
  }

  /** Append `length` pixels of value `bit` (0|1); length 0 is a no-op; merges with the previous run of the same value. */
  push(bit: 0 | 1, length: number): void {
    if (length === 0) return;
    if (!(length > 0) || !Number.isInteger(length)) {
      throw new RangeError(`RleBuilder.push: length must be a non-negative integer, got ${length}`);
    }
    this.total += length;
    const n = this.n;
    // Run index parity is the run's value, so the previous run has our value iff (n-1) & 1 === bit.
    if (n > 0 && ((n - 1) & 1) === bit) {
      this.counts[n - 1] += length;
      return;
    }
    if (n + 2 > this.counts.length) this.grow();
    if (n === 0 && bit === 1) {
      // COCO runs always start with zeros, so a leading 1 needs an empty zero run first.
      this.counts[0] = 0;
      this.counts[1] = length;
      this.n = 2;
    } else {
      this.counts[n] = length;
      this.n = n + 1;
    }
  }

  /** Total pixels pushed so far. */
  get length(): number {
    return this.total;
  }

  /** Throws if fewer/more than h*w pixels were pushed. Pads nothing. */
  finish(): Rle {
    const expected = this.h * this.w;
    if (this.total !== expected) {
      throw new Error(`RleBuilder.finish: ${this.total} pixels pushed, expected h*w = ${expected}`);
    }
    // A 0-pixel mask still gets its (empty) zero run, as the toolkit's rleEncode produces.
    const counts = this.n === 0 ? new Uint32Array(1) : this.counts.slice(0, this.n);
    return { h: this.h, w: this.w, counts };
  }

  private grow(): void {
    const next = new Uint32Array(this.counts.length * 2);
    next.set(this.counts);
    this.counts = next;
  }
}

function assertMaskLength(mask: Uint8Array, h: number, w: number, fn: string): void {
  assertSize(h, w);
  if (mask.length < h * w) {
    throw new RangeError(`${fn}: mask has ${mask.length} bytes, need h*w = ${h * w}`);
  }
}

/** Encodes a row-major mask (`mask[y*w+x] != 0` means set) into column-major runs. */
export function encodeRowMajor(mask: Uint8Array, h: number, w: number): Rle {
  assertMaskLength(mask, h, w, 'encodeRowMajor');
  const b = new RleBuilder(h, w);
  let bit: 0 | 1 = 0;
  let run = 0;
  for (let x = 0; x < w; x++) {
    for (let i = x, end = x + h * w; i < end; i += w) {
      const v: 0 | 1 = mask[i] !== 0 ? 1 : 0;
      if (v !== bit) {
        b.push(bit, run);
        bit = v;
        run = 0;
      }
      run++;
    }
  }
  b.push(bit, run);
  return b.finish();
}

/** Encodes a column-major mask (`mask[x*h+y] != 0` means set). */
export function encodeColMajor(mask: Uint8Array, h: number, w: number): Rle {
  assertMaskLength(mask, h, w, 'encodeColMajor');
  const b = new RleBuilder(h, w);
  const n = h * w;
  let bit: 0 | 1 = 0;
  let start = 0;
  for (let i = 0; i < n; i++) {
    const v: 0 | 1 = mask[i] !== 0 ? 1 : 0;
    if (v !== bit) {
      b.push(bit, i - start);
      bit = v;
      start = i;
    }
  }
  b.push(bit, n - start);
  return b.finish();
}

function outputBuffer(rle: Rle, out: Uint8Array | undefined, fn: string): Uint8Array {
  assertSize(rle.h, rle.w);
  assertCovers(rle, fn);
  const n = rle.h * rle.w;
  if (out === undefined) return new Uint8Array(n);
  if (out.length < n) throw new RangeError(`${fn}: out has ${out.length} bytes, need h*w = ${n}`);
  out.fill(0, 0, n);
  return out;
}


/**
 * Calls `segment(x, y0, y1)` for every piece of foreground that lies in one column: rows y0 (inclusive) to y1
 * (exclusive) of column x, in column-major order. A run that crosses column ends is split there, so callers can
 * write plain strided loops without decoding the mask.
 */
export function forEachColumnSegment(rle: Rle, segment: (x: number, y0: number, y1: number) => void): void {
  const { h, counts } = rle;
  let pos = 0;
  for (let i = 0; i < counts.length; i++) {
    const end = pos + counts[i];
    if (i & 1) {
      let p = pos;
      while (p < end) {
        const x = Math.floor(p / h);
        const y0 = p - x * h;
        const y1 = Math.min(h, y0 + (end - p));
        segment(x, y0, y1);
        p += y1 - y0;
      }
    }
    pos = end;
  }
}

/** Decodes to a row-major 0/1 bitmap; writes into `out` (first h*w bytes, zeroed first) when given. */
export function decodeToRowMajor(rle: Rle, out?: Uint8Array): Uint8Array {
  const dst = outputBuffer(rle, out, 'decodeToRowMajor');
  const w = rle.w;
  forEachColumnSegment(rle, (x, y0, y1) => {
    for (let y = y0; y < y1; y++) dst[y * w + x] = 1;
  });
  return dst;
}

/** Decodes to a column-major 0/1 bitmap; writes into `out` (first h*w bytes, zeroed first) when given. */
export function decodeToColMajor(rle: Rle, out?: Uint8Array): Uint8Array {
  const dst = outputBuffer(rle, out, 'decodeToColMajor');
  const counts = rle.counts;
  let pos = 0;
  for (let i = 0; i < counts.length; i++) {
    const end = pos + counts[i];
    if (i & 1) dst.fill(1, pos, end);
    pos = end;
  }
  return dst;
}

/** Every byte the codec emits is ASCII '0'..'o', so UTF-8 decoding is a plain byte-to-char copy. */
const asciiDecoder = new TextDecoder();

/**
 * Encodes counts as the COCO toolkit's `rleToString` does: deltas against the count two back (from
 * index 3 on), then 5-bit groups, least significant first, 0x20 as "more follows", offset by 48.
 * Exact for any count up to 2^32 − 1 (see module doc).
 */
export function compressCounts(counts: ArrayLike<number>): string {
  const n = counts.length;
  const bytes = new Uint8Array(n * MAX_GROUPS);
  let p = 0;
  for (let i = 0; i < n; i++) {
    const c = counts[i];
    if (!Number.isInteger(c) || c < 0 || c > MAX_PIXELS) {
      throw new RangeError(`compressCounts: count ${i} is ${c}, expected an integer in [0, 2^32-1]`);
    }
    let x = i > 2 ? c - counts[i - 2] : c;
    for (;;) {
      // `& 0x1f` is exact for any safe integer (ToInt32 keeps the low bits); the division by 32 after
      // removing them is an exact arithmetic shift without the 32-bit limit of `>>`.
      let g = x & 0x1f;
      x = (x - g) / 32;
      const more = g & 0x10 ? x !== -1 : x !== 0;
      if (more) g |= 0x20;
      bytes[p++] = g + 48;
      if (!more) break;
    }
  }
  return asciiDecoder.decode(bytes.subarray(0, p));
}

/** Decodes a COCO counts string (the toolkit's `rleFrString`); throws a descriptive Error on malformed input. */
export function decompressCounts(s: string): Uint32Array {
  let counts = new Uint32Array(Math.max(4, s.length >> 1));
  let m = 0;
  let p = 0;
  while (p < s.length) {
    const start = p;
    let x = 0;
    let scale = 1;
    for (let k = 0; ; k++) {
      if (p >= s.length) {
        throw new Error(`RLE string truncated: value starting at offset ${start} has its continuation bit set at the end`);
      }
      if (k === MAX_GROUPS) {
        throw new Error(`RLE string malformed: value starting at offset ${start} is longer than ${MAX_GROUPS} characters`);
      }
      const code = s.charCodeAt(p);
      const g = code - 48;
      if (g < 0 || g > 0x3f) {
        throw new Error(`RLE string malformed: character ${JSON.stringify(s[p])} at offset ${p} is outside '0'..'o'`);
      }
      p++;
      x += (g & 0x1f) * scale;
      scale *= 32;
      if (!(g & 0x20)) {
        // The last group's bit 4 is the sign: sign-extend by subtracting 2^(5*(k+1)).
        if (g & 0x10) x -= scale;
        break;
      }
    }
    if (m > 2) x += counts[m - 2];
    if (x < 0 || x > MAX_PIXELS) {
      throw new Error(`RLE string malformed: count ${m} decodes to ${x}, outside [0, 2^32-1]`);
    }
    if (m === counts.length) {
      const next = new Uint32Array(counts.length * 2);
      next.set(counts);
      counts = next;
    }
    counts[m++] = x;
  }
  return counts.slice(0, m);
}

/** Converts to the compressed COCO JSON form. */
export function toCoco(rle: Rle): CocoRle {
  return { size: [rle.h, rle.w], counts: compressCounts(rle.counts) };
}

/** Parses a compressed or uncompressed COCO RLE; throws unless the counts sum to exactly h*w. */
export function fromCoco(obj: CocoRle | CocoRleUncompressed): Rle {
  const size: unknown = obj?.size;
  if (!Array.isArray(size) || size.length !== 2) {
    throw new Error(`COCO RLE: size must be [h, w], got ${JSON.stringify(size)}`);
  }
  const [h, w] = size as [number, number];
  assertSize(h, w);
  let counts: Uint32Array;
  if (typeof obj.counts === 'string') {
    counts = decompressCounts(obj.counts);
  } else if (Array.isArray(obj.counts)) {
    const raw = obj.counts;
    counts = new Uint32Array(raw.length);
    for (let i = 0; i < raw.length; i++) {
      const c = raw[i];
      if (!Number.isInteger(c) || c < 0 || c > MAX_PIXELS) {
        throw new Error(`COCO RLE: count ${i} is ${String(c)}, expected a non-negative integer`);
      }
      counts[i] = c;
    }
  } else {
    throw new Error('COCO RLE: counts must be a string or an array of numbers');
  }
  const rle: Rle = { h, w, counts };
  assertCovers(rle, 'COCO RLE');
  return rle;
}

/** Number of set pixels: the sum of the odd-indexed counts. */
export function rleArea(rle: Rle): number {
  const counts = rle.counts;
  let area = 0;
  for (let i = 1; i < counts.length; i += 2) area += counts[i];
  return area;
}

/** SAM record box [minX, minY, maxX, maxY] (max inclusive); empty mask gives [0,0,0,0]. Computed from runs, no decoding. */
export function rleBoxXYXY(rle: Rle): [number, number, number, number] {
  const { h, counts } = rle;
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -1;
  let maxY = -1;
  let pos = 0;
  for (let i = 0; i < counts.length; i++) {
    const start = pos;
    pos += counts[i];
    if (!(i & 1) || pos === start) continue;
    const xs = Math.floor(start / h);
    const xe = Math.floor((pos - 1) / h);
    // Runs are in column order, so the first set run fixes minX and the last one maxX.
    if (xs < minX) minX = xs;
    maxX = xe;
    if (xs !== xe) {
      // A run crossing a column boundary covers the bottom of one column and the top of the next.
      minY = 0;
      maxY = h - 1;
    } else {
      const ys = start - xs * h;
      const ye = pos - 1 - xe * h;
      if (ys < minY) minY = ys;
      if (ye > maxY) maxY = ye;
    }
  }
  return maxX < 0 ? [0, 0, 0, 0] : [minX, minY, maxX, maxY];
}

/** Number of pixels set in both masks, merged from the runs without decoding; throws if sizes differ. */
export function rleIntersection(a: Rle, b: Rle): number {
  if (a.h !== b.h || a.w !== b.w) {
    throw new Error(`rleIntersection: size mismatch ${a.h}x${a.w} vs ${b.h}x${b.w}`);
  }
  const ca = a.counts;
  const cb = b.counts;
  let i = 0;
  let j = 0;
  // End positions (exclusive) of the current run in each mask.
  let ea = ca.length > 0 ? ca[0] : 0;
  let eb = cb.length > 0 ? cb[0] : 0;
  let pos = 0;
  let inter = 0;
  while (i < ca.length && j < cb.length) {
    const end = ea < eb ? ea : eb;
    if (i & j & 1) inter += end - pos;
    pos = end;
    if (ea === end) {
      i++;
      if (i < ca.length) ea += ca[i];
    }
    if (eb === end) {
      j++;
      if (j < cb.length) eb += cb[j];
    }
  }
  return inter;
}

/** Intersection over union of two same-size masks; 0 when the union is empty. */
export function rleIou(a: Rle, b: Rle): number {
  const inter = rleIntersection(a, b);
  const union = rleArea(a) + rleArea(b) - inter;
  return union === 0 ? 0 : inter / union;
}

/** Shift a crop-frame RLE (ch × cw) into an image frame (H × W) at offset (x0, y0), zeros elsewhere, without decoding. */
export function uncropRle(rle: Rle, x0: number, y0: number, H: number, W: number): Rle {
  const { h: ch, w: cw } = rle;
  assertSize(H, W);
  if (!Number.isInteger(x0) || !Number.isInteger(y0) || x0 < 0 || y0 < 0 || x0 + cw > W || y0 + ch > H) {
    throw new RangeError(`uncropRle: crop ${ch}x${cw} at (x0=${x0}, y0=${y0}) does not fit in ${H}x${W}`);
  }
  assertCovers(rle, 'uncropRle');
  const b = new RleBuilder(H, W);
  // Each crop column of a run lands in its own image column.
  forEachColumnSegment(rle, (cx, cy0, cy1) => {
    const dst = (x0 + cx) * H + y0 + cy0;
    b.push(0, dst - b.length);
    b.push(1, cy1 - cy0);
  });
  b.push(0, H * W - b.length);
  return b.finish();
}
