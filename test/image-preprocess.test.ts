import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RgbImage } from '../src/base/types.js';
import { cropImage, parsePreprocessorConfig, preprocess, type PreprocessSpec } from '../src/image/preprocess.js';

const conformance = (model: string): unknown => JSON.parse(
  readFileSync(new URL(`../../shared/conformance/${model}/preprocessor_config.json`, import.meta.url), 'utf8'),
);

const SAM1 = conformance('sam1-toy');
const SAM2 = conformance('sam2-toy');
const MEAN: [number, number, number] = [0.485, 0.456, 0.406];
const STD: [number, number, number] = [0.229, 0.224, 0.225];
const R = 0.00392156862745098;
const f32 = Math.fround;

/** An image whose pixel (x, y) is [r(x, y), g(x, y), b(x, y)]. */
function makeImage(w: number, h: number, f: (x: number, y: number) => [number, number, number]): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(f(x, y), (y * w + x) * 3);
  return { data, width: w, height: h };
}

/** Value at channel c, row y, column x of a 1×3×S×S tensor. */
const at = (t: Float32Array, S: number, c: number, y: number, x: number): number => t[c * S * S + y * S + x];

describe('parsePreprocessorConfig', () => {
  it('reads the SAM 1 config (longest edge + pad)', () => {
    expect(parsePreprocessorConfig(SAM1, 'sam1/preprocessor_config.json')).toEqual({
      mode: 'longest-edge-pad', size: 1024, padSize: 1024, rescale: R, mean: MEAN, std: STD,
      doNormalize: true, doRescale: true,
    });
  });

  it('reads the SAM 2 config (square, no pad)', () => {
    expect(parsePreprocessorConfig(SAM2, 'sam2/preprocessor_config.json')).toEqual({
      mode: 'square', size: 1024, padSize: 1024, rescale: R, mean: MEAN, std: STD,
      doNormalize: true, doRescale: true,
    });
  });

  it('reads a SAM 2 export that asks for longest edge + pad, pad_size defaulting to the edge', () => {
    const cfg = { ...(SAM2 as object), size: { longest_edge: 1024 }, do_pad: true };
    expect(parsePreprocessorConfig(cfg, 'x.json').mode).toBe('longest-edge-pad');
    expect(parsePreprocessorConfig(cfg, 'x.json').padSize).toBe(1024);
  });

  const bad: [string, Record<string, unknown>, string][] = [
    ['resample other than bilinear', { resample: 3 }, "field 'resample'"],
    ['unknown size keys', { size: { shortest_edge: 1024 } }, "field 'size'"],
    ['extra size keys', { size: { longest_edge: 1024, height: 1024 } }, "field 'size'"],
    ['size not an object', { size: 1024 }, "field 'size'"],
    ['longest edge without padding', { do_pad: false }, "field 'do_pad'"],
    ['non-square pad', { pad_size: { height: 1024, width: 768 } }, "field 'pad_size'"],
    ['pad smaller than the edge', { pad_size: { height: 512, width: 512 } }, "field 'pad_size'"],
    ['non-integer edge', { size: { longest_edge: 10.5 } }, "field 'size.longest_edge'"],
    ['zero std', { image_std: [0.2, 0, 0.2] }, "field 'image_std'"],
    ['short mean', { image_mean: [0.5, 0.5] }, "field 'image_mean'"],
    ['bad rescale', { rescale_factor: -1 }, "field 'rescale_factor'"],
    ['do_resize false', { do_resize: false }, "field 'do_resize'"],
    ['non-boolean flag', { do_normalize: 'yes' }, "field 'do_normalize'"],
  ];
  for (const [what, patch, field] of bad) {
    it(`refuses ${what}`, () => {
      const cfg = { ...(SAM1 as object), ...patch };
      expect(() => parsePreprocessorConfig(cfg, 'm/preprocessor_config.json'))
        .toThrow(`m/preprocessor_config.json: ${field}`);
    });
  }

  it('refuses a non-square size and padding with a square size', () => {
    expect(() => parsePreprocessorConfig({ ...(SAM2 as object), size: { height: 1024, width: 768 } }, 'a.json'))
      .toThrow("a.json: field 'size' must be square");
    expect(() => parsePreprocessorConfig({ ...(SAM2 as object), do_pad: true }, 'a.json'))
      .toThrow("a.json: field 'do_pad'");
  });

  it('refuses a non-object', () => {
    expect(() => parsePreprocessorConfig([1, 2], 'a.json')).toThrow('a.json: expected a JSON object');
  });

  it('accepts a scalar mean/std and turned-off steps', () => {
    const spec = parsePreprocessorConfig(
      { ...(SAM1 as object), image_mean: 0.5, image_std: 0.5, do_normalize: false, do_rescale: false }, 'a.json');
    expect(spec.mean).toEqual([0.5, 0.5, 0.5]);
    expect([spec.doNormalize, spec.doRescale]).toEqual([false, false]);
  });
});

// With the 1/255 rescale this is the SAM container's float32 arithmetic: (v − f32(255·mean)) / f32(255·std).
const norm = (v: number, c: number): number => f32(f32(v - f32(MEAN[c] * 255)) / f32(STD[c] * 255));

describe('preprocess: longest edge + pad', () => {
  const spec: PreprocessSpec = {
    mode: 'longest-edge-pad', size: 8, padSize: 10, rescale: R, mean: MEAN, std: STD,
    doNormalize: true, doRescale: true,
  };
  // 4×2, rows equal, so only the horizontal 4 → 8 resize changes values.
  const cols: [number, number, number][] = [[100, 0, 255], [200, 40, 255], [10, 80, 0], [30, 120, 7]];
  const img = makeImage(4, 2, (x) => cols[x]);

  it('resizes to the longest edge, normalises, pads with zeros', () => {
    const r = preprocess(img, spec);
    expect([r.resizedW, r.resizedH, r.scaleX, r.scaleY]).toEqual([8, 4, 2, 2]);
    expect(r.pixels.length).toBe(3 * 10 * 10);
    // Output column 0 reads only source column 0 (upscaling, half-pixel centres).
    for (let c = 0; c < 3; c++) expect(at(r.pixels, 10, c, 0, 0)).toBe(norm(cols[0][c], c));
    // Column 1: weights 0.75 / 0.25 of source columns 0 and 1: 0.75·100 + 0.25·200 = 125, 0.25·40 = 10.
    expect(at(r.pixels, 10, 0, 3, 1)).toBe(norm(125, 0));
    expect(at(r.pixels, 10, 1, 3, 1)).toBe(norm(10, 1));
    expect(at(r.pixels, 10, 2, 2, 1)).toBe(norm(255, 2));
    // Last column reads the last source column only.
    for (let c = 0; c < 3; c++) expect(at(r.pixels, 10, c, 3, 7)).toBe(norm(cols[3][c], c));
    // Known value: (100/255 − 0.485) / 0.229.
    expect(at(r.pixels, 10, 0, 0, 0)).toBeCloseTo(-0.4054, 4);
    // Padding: right of column 7 and below row 3, all channels.
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 10; y++) for (let x = 0; x < 10; x++) {
        if (x >= 8 || y >= 4) expect(at(r.pixels, 10, c, y, x)).toBe(0);
      }
    }
  });

  it('reuses and fully overwrites an output buffer', () => {
    const out = new Float32Array(300).fill(7);
    const r = preprocess(img, spec, out);
    expect(r.pixels).toBe(out);
    expect(out[9]).toBe(0);
    expect(out[299]).toBe(0);
    expect(() => preprocess(img, spec, new Float32Array(10))).toThrow(RangeError);
  });

  it('skips the resize when the size already matches and honours do_normalize / do_rescale', () => {
    const big = makeImage(8, 3, (x, y) => [x * 30, y * 50, 255]);
    const r = preprocess(big, { ...spec, doNormalize: false, doRescale: false });
    expect([r.resizedW, r.resizedH]).toEqual([8, 3]);
    expect(at(r.pixels, 10, 0, 2, 7)).toBe(210);
    expect(at(r.pixels, 10, 1, 2, 7)).toBe(100);
    expect(at(r.pixels, 10, 2, 0, 0)).toBe(255);
    expect(at(r.pixels, 10, 0, 3, 0)).toBe(0);
  });

  it('uses the SAM 1 conformance config at 1024', () => {
    const wide = makeImage(64, 32, (x, y) => [x * 4, y * 8, 50]);
    const r = preprocess(wide, parsePreprocessorConfig(SAM1, 'sam1'));
    expect([r.resizedW, r.resizedH, r.scaleX, r.scaleY]).toEqual([1024, 512, 16, 16]);
    expect(r.pixels.length).toBe(3 * 1024 * 1024);
    expect(at(r.pixels, 1024, 2, 511, 1023)).toBe(norm(50, 2));
    expect(at(r.pixels, 1024, 2, 512, 0)).toBe(0);
    expect(at(r.pixels, 1024, 0, 0, 0)).toBe(norm(0, 0));
  });
});

describe('preprocess: square (SAM 2 own transform)', () => {
  const spec: PreprocessSpec = {
    mode: 'square', size: 4, padSize: 4, rescale: R, mean: MEAN, std: STD, doNormalize: true, doRescale: true,
  };
  // 2×1 image stretched to 4×4.
  const img = makeImage(2, 1, (x) => (x === 0 ? [100, 0, 255] : [200, 51, 1]));
  /** torchvision: ToTensor (float32 v / 255), then Normalize in float32. */
  const t = (v: number): number => f32(v / 255);
  const normalize = (x: number, c: number): number => f32(f32(x - f32(MEAN[c])) / f32(STD[c]));

  it('stretches to size×size in float and normalises in float32', () => {
    const r = preprocess(img, spec);
    expect([r.resizedW, r.resizedH, r.scaleX, r.scaleY]).toEqual([4, 4, 2, 4]);
    expect(r.pixels.length).toBe(3 * 16);
    for (let y = 0; y < 4; y++) {
      // Columns 0 and 3 copy the edge pixels; 1 and 2 mix them 0.75 / 0.25 with no 8-bit rounding.
      expect(at(r.pixels, 4, 0, y, 0)).toBe(normalize(t(100), 0));
      expect(at(r.pixels, 4, 0, y, 1)).toBe(normalize(f32(0.75 * t(100) + 0.25 * t(200)), 0));
      expect(at(r.pixels, 4, 1, y, 2)).toBe(normalize(f32(0.25 * t(0) + 0.75 * t(51)), 1));
      expect(at(r.pixels, 4, 2, y, 3)).toBe(normalize(t(1), 2));
    }
    // 0.75·(100/255) + 0.25·(200/255) = 125/255: ((125/255) − 0.485) / 0.229 ≈ 0.02274
    expect(at(r.pixels, 4, 0, 0, 1)).toBeCloseTo(0.02274, 4);
  });

  it('uses the SAM 2 conformance config at 1024 with no padding', () => {
    const flat = makeImage(64, 32, () => [255, 128, 0]);
    const r = preprocess(flat, parsePreprocessorConfig(SAM2, 'sam2'));
    expect([r.resizedW, r.resizedH, r.scaleX, r.scaleY]).toEqual([1024, 1024, 16, 32]);
    // A flat image stays flat (weights sum to 1 within float32 rounding).
    for (const [y, x] of [[0, 0], [1023, 1023], [511, 300]]) {
      expect(at(r.pixels, 1024, 0, y, x)).toBeCloseTo(normalize(1, 0), 5);
      expect(at(r.pixels, 1024, 1, y, x)).toBeCloseTo(normalize(t(128), 1), 5);
      expect(at(r.pixels, 1024, 2, y, x)).toBeCloseTo(normalize(0, 2), 5);
    }
  });
});

describe('cropImage', () => {
  const img = makeImage(5, 4, (x, y) => [x, y, x * 10 + y]);

  it('copies a sub-rectangle (x1, y1 exclusive)', () => {
    const c = cropImage(img, 1, 2, 4, 4);
    expect([c.width, c.height]).toEqual([3, 2]);
    expect(Array.from(c.data)).toEqual([1, 2, 12, 2, 2, 22, 3, 2, 32, 1, 3, 13, 2, 3, 23, 3, 3, 33]);
    c.data[0] = 99;
    expect(img.data[(2 * 5 + 1) * 3]).toBe(1);
  });

  it('copies the whole image and refuses boxes outside it', () => {
    expect(cropImage(img, 0, 0, 5, 4).data).toEqual(img.data);
    expect(() => cropImage(img, 0, 0, 6, 4)).toThrow(RangeError);
    expect(() => cropImage(img, 2, 2, 2, 3)).toThrow(RangeError);
    expect(() => cropImage(img, -1, 0, 2, 3)).toThrow(RangeError);
  });
});
