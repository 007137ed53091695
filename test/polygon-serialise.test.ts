import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cocoPolygonLists, hasHoles } from '../src/polygon/coco-polygons.js';
import { rleFromPolygon, rleFromPolygons } from '../src/polygon/coco-raster.js';
import { applyGeoTransform, checkGeoTransform, type GeoTransform } from '../src/polygon/geo-transform.js';
import { geoJsonGeometry } from '../src/polygon/geojson.js';
import { joinSegments } from '../src/polygon/join-segments.js';
import { maskToPolygons } from '../src/polygon/mask-polygons.js';
import { signedArea } from '../src/polygon/ring-geometry.js';
import { simplifyPolygons } from '../src/polygon/simplify.js';
import { parseYoloSegments, YoloLabelError } from '../src/polygon/yolo-read.js';
import { yoloSegmentLine } from '../src/polygon/yolo.js';
import { encodeRowMajor, rleBoxXYXY, rleIou, uncropRle } from '../src/rle/rle.js';
import { readUltralyticsSegmentLabels } from './oracle/ultralytics-labels.js';
import { blobMask, fillHoles, fromArt, placed, prng } from './polygon/masks.js';

const ISLAND = ['#######', '#.....#', '#.###.#', '#.#.#.#', '#.###.#', '#.....#', '#######'];

describe('COCO polygon lists', () => {
  it('writes one flat list per depth-0 polygon: pinched lobes apart, an island in a hole left out (filled)', () => {
    expect(cocoPolygonLists(maskToPolygons(fromArt(['##..', '##..', '..##', '..##']).rle))).toEqual([
      [0, 0, 2, 0, 2, 2, 0, 2],
      [2, 2, 4, 2, 4, 4, 2, 4],
    ]);
    const island = maskToPolygons(fromArt(ISLAND).rle);
    expect(cocoPolygonLists(island)).toEqual([[0, 0, 7, 0, 7, 7, 0, 7]]);
    expect(hasHoles(island)).toBe(true);
    expect(hasHoles(maskToPolygons(fromArt(['##']).rle))).toBe(false);
    expect(cocoPolygonLists(maskToPolygons(encodeRowMajor(new Uint8Array(4), 2, 2)))).toEqual([]);
  });

  it('never writes fewer than 6 numbers, even for simplified specks', () => {
    const rand = prng(8);
    for (let it = 0; it < 10; it++) {
      const mp = simplifyPolygons(maskToPolygons(blobMask(rand, 30, 30).rle), 2);
      for (const list of cocoPolygonLists(mp)) expect(list.length).toBeGreaterThanOrEqual(6);
    }
  });
});

describe('joinSegments (Ultralytics merge_multi_segment layout)', () => {
  it('returns a single ring unchanged and nothing for no rings', () => {
    expect(joinSegments([[0, 0, 1, 0, 1, 1]])).toEqual([0, 0, 1, 0, 1, 1]);
    expect(joinSegments([])).toEqual([]);
  });

  it('goes out through the rings, bridging closest vertices, and back through the middle ones', () => {
    const a = [0, 0, 2, 0, 2, 2, 0, 2];
    const b = [4, 0, 6, 0, 6, 2, 4, 2];
    const c = [8, 0, 10, 0, 10, 2, 8, 2];
    // prettier-ignore
    expect(joinSegments([a, b, c])).toEqual([
      2, 0, 2, 2, 0, 2, 0, 0, 2, 0, // a, closed, from its vertex closest to b
      4, 0, 6, 0, // b from the vertex closest to a to the one closest to c
      8, 0, 10, 0, 10, 2, 8, 2, 8, 0, // c, closed
      6, 0, 6, 2, 4, 2, 4, 0, // the rest of b, back to where it was entered
    ]);
  });

  it('walks a middle ring backwards when its exit comes before its entry, still bridging the closest vertices', () => {
    const a = [0, 0, 2, 0, 2, 2, 0, 2];
    const b = [6, 0, 6, 2, 4, 2, 4, 0];
    const c = [8, 0, 10, 0, 10, 2, 8, 2];
    // prettier-ignore
    expect(joinSegments([a, b, c])).toEqual([
      2, 0, 2, 2, 0, 2, 0, 0, 2, 0,
      4, 0, 4, 2, 6, 2, 6, 0,
      8, 0, 10, 0, 10, 2, 8, 2, 8, 0,
      6, 0, 4, 0,
    ]);
  });
});

describe('YOLO segmentation lines, read back as Ultralytics reads them', () => {
  it('writes class and normalised pixel-edge coordinates with 6 decimals', () => {
    const m = fromArt(['....', '.##.', '.##.']);
    expect(yoloSegmentLine(3, maskToPolygons(m.rle))).toBe('3 0.250000 0.333333 0.750000 0.333333 0.750000 1.000000 0.250000 1.000000');
    expect(yoloSegmentLine(0, maskToPolygons(encodeRowMajor(new Uint8Array(4), 2, 2)))).toBeNull();
    expect(() => yoloSegmentLine(-1, maskToPolygons(m.rle))).toThrow('YOLO class must be an integer ≥ 0, got -1');
    expect(() => yoloSegmentLine(0.5, maskToPolygons(m.rle))).toThrow('got 0.5');
  });

  it('gives Ultralytics the mask box and, through the COCO rule, the hole-filled mask', () => {
    const rand = prng(77);
    const lines: string[] = [];
    // Different offsets give different boxes (the noise in blobMask often spans its whole frame).
    const small = Array.from({ length: 8 }, () => blobMask(rand, 20, 30));
    const masks = small.map((m, k) => placed(m, 40, 60, 3 * k, 2 * k));
    for (const m of masks) lines.push(yoloSegmentLine(0, maskToPolygons(m.rle)) as string);
    const read = readUltralyticsSegmentLabels(lines.join('\n') + '\n', 1);
    expect(read.duplicatesRemoved).toBe(0);
    read.labels.forEach((label, k) => {
      const m = masks[k];
      const [x0, y0, x1, y1] = rleBoxXYXY(m.rle);
      expect(label.cls).toBe(0);
      expect(label.box[0]).toBeCloseTo((x0 + x1 + 1) / 2 / m.w, 6);
      expect(label.box[1]).toBeCloseTo((y0 + y1 + 1) / 2 / m.h, 6);
      expect(label.box[2]).toBeCloseTo((x1 + 1 - x0) / m.w, 6);
      expect(label.box[3]).toBeCloseTo((y1 + 1 - y0) / m.h, 6);
      const pixels = label.segment.map((v, i) => v * (i % 2 ? m.h : m.w));
      const s = small[k];
      const filled = uncropRle(encodeRowMajor(fillHoles(s.bits, s.h, s.w), s.h, s.w), m.x0, m.y0, m.h, m.w);
      expect(rleIou(rleFromPolygon(pixels, m.h, m.w), filled)).toBe(1);
    });
  });

  it('parseYoloSegments reads lines back to pixel polygons and names the first bad line', () => {
    const m = fromArt(['....', '.##.', '.##.']);
    const line = yoloSegmentLine(2, maskToPolygons(m.rle)) as string;
    const segs = parseYoloSegments(`\n${line}\n\n${line}\r\n`, m.w, m.h);
    expect(segs.map((s) => s.classId)).toEqual([2, 2]);
    expect(segs[0].polygon.map((v) => Math.round(v * 1e4) / 1e4)).toEqual([1, 1, 3, 1, 3, 3, 1, 3]);
    expect(rleIou(rleFromPolygon(segs[0].polygon, m.h, m.w), m.rle)).toBe(1);
    expect(() => parseYoloSegments('0 0.1 0.1 0.2 0.1 0.2\n', 4, 3)).toThrow('line 1: 5 coordinates, expected x, y pairs');
    expect(() => parseYoloSegments('\n0 0.1 0.1 0.2 0.1\n', 4, 3)).toThrow('line 2: 2 points, a segment needs at least 3');
    expect(() => parseYoloSegments('1.5 0.1 0.1 0.2 0.1 0.2 0.2\n', 4, 3)).toThrow('line 1: class 1.5 is not an integer ≥ 0');
    expect(() => parseYoloSegments('0 0.1 0.1 0.2 0.1 0.2 1.2\n', 4, 3)).toThrow('line 1: coordinate 1.2 is outside [0, 1]');
    expect(() => parseYoloSegments('0 0.1 0.1 0.2 x 0.2 0.2\n', 4, 3)).toThrow('line 1: "x" is not a number');
    expect(() => parseYoloSegments('0 0.1 0.1 0.2 x 0.2 0.2\n', 4, 3)).toThrow(YoloLabelError);
  });

  it('the reader follows Ultralytics: duplicate (class, box) rows are dropped, bad files rejected', () => {
    // Two different masks with the same box are one label to Ultralytics: the writer must expect this.
    const a = yoloSegmentLine(0, maskToPolygons(fromArt(['##', '.#']).rle)) as string;
    const b = yoloSegmentLine(0, maskToPolygons(fromArt(['#.', '##']).rle)) as string;
    const read = readUltralyticsSegmentLabels(`${a}\n${b}\n`, 1);
    expect(read.duplicatesRemoved).toBe(1);
    expect(read.labels.length).toBe(1);
    expect(() => readUltralyticsSegmentLabels('1 0.1 0.1 0.2 0.1 0.2 0.2\n', 1)).toThrow('Label class 1 exceeds dataset class count 1');
    expect(() => readUltralyticsSegmentLabels('0 0.1 0.1 0.2 0.1 1.2 0.2\n', 1)).toThrow('non-normalized or out of bounds coordinates');
    expect(() => readUltralyticsSegmentLabels('0 0.1 0.1 0.2 0.1 0.2 0.2 0.3\n', 1)).toThrow('cannot reshape array of size 7');
  });
});

describe('GeoJSON geometry', () => {
  const island = maskToPolygons(fromArt(ISLAND).rle);

  it('writes closed rings in pixel coordinates: exterior positive (counter-clockwise in x, y), holes negative', () => {
    const g = geoJsonGeometry(maskToPolygons(fromArt(['###', '#.#', '###']).rle));
    expect(g).toEqual({
      type: 'Polygon',
      coordinates: [
        [[0, 0], [3, 0], [3, 3], [0, 3], [0, 0]],
        [[1, 1], [1, 2], [2, 2], [2, 1], [1, 1]],
      ],
    });
    const m = geoJsonGeometry(island);
    expect(m?.type).toBe('MultiPolygon');
    expect((m?.coordinates as number[][][][]).map((p) => p.length)).toEqual([2, 2]);
    expect(geoJsonGeometry(maskToPolygons(encodeRowMajor(new Uint8Array(4), 2, 2)))).toBeNull();
  });

  it('decides the winding after a north-up geotransform, which flips every ring', () => {
    const t: GeoTransform = [500000, 10, 0, 4100000, 0, -10];
    const g = geoJsonGeometry(maskToPolygons(fromArt(['###', '#.#', '###']).rle), { transform: t });
    expect(g).toEqual({
      type: 'Polygon',
      coordinates: [
        [[500000, 4100000], [500000, 4099970], [500030, 4099970], [500030, 4100000], [500000, 4100000]],
        [[500010, 4099990], [500020, 4099990], [500020, 4099980], [500010, 4099980], [500010, 4099990]],
      ],
    });
  });

  it('keeps RFC 7946 winding under any non-singular transform, and rounds when asked', () => {
    const rand = prng(31);
    const mp = maskToPolygons(blobMask(rand, 30, 30).rle);
    for (let it = 0; it < 20; it++) {
      const t: GeoTransform = [rand() * 100, rand() * 4 - 2, rand() * 4 - 2, rand() * 100, rand() * 4 - 2, rand() * 4 - 2];
      const g = geoJsonGeometry(mp, { transform: t });
      const polys = g?.type === 'Polygon' ? [g.coordinates] : (g?.coordinates as number[][][][]);
      expect(polys.length).toBe(mp.polygons.length);
      for (const rings of polys) {
        rings.forEach((ring, k) => {
          expect(ring[0]).toEqual(ring[ring.length - 1]);
          const area = signedArea(ring.slice(0, -1).flat());
          if (k === 0) expect(area).toBeGreaterThan(0);
          else expect(area).toBeLessThan(0);
        });
      }
    }
    const r = geoJsonGeometry(maskToPolygons(fromArt(['#']).rle), { transform: [0.1234567, 1 / 3, 0, 0, 0, -1 / 3], decimals: 3 });
    expect(r?.coordinates).toEqual([[[0.123, 0], [0.123, -0.333], [0.457, -0.333], [0.457, 0], [0.123, 0]]]);
  });

  it('rejects a malformed or singular geotransform', () => {
    expect(() => checkGeoTransform([0, 1, 0, 0, 0])).toThrow('geotransform must be 6 finite numbers');
    expect(() => checkGeoTransform([0, 1, 0, 0, 0, NaN])).toThrow('geotransform must be 6 finite numbers');
    expect(() => checkGeoTransform([0, 1, 2, 0, 2, 4])).toThrow('geotransform is singular');
    expect(Array.from(applyGeoTransform([1, 2], [10, 2, 3, 20, 5, 7]))).toEqual([10 + 2 + 6, 20 + 5 + 14]);
    expect(() => geoJsonGeometry(island, { transform: [0, 0, 0, 0, 0, 0] })).toThrow('singular');
  });
});

describe('src/polygon is browser-safe', () => {
  it('imports only relative modules, and those import nothing from Node or npm', () => {
    const dir = new URL('../src/polygon/', import.meta.url);
    const seen = new Set<string>();
    const visit = (url: URL): void => {
      if (seen.has(url.href)) return;
      seen.add(url.href);
      const text = readFileSync(url, 'utf8');
      for (const [, spec] of text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
        expect(spec.startsWith('.'), `${url.pathname} imports ${spec}`).toBe(true);
        visit(new URL(spec.replace(/\.js$/, '.ts'), url));
      }
    };
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) visit(new URL(f, dir));
    expect([...seen].some((u) => u.endsWith('/src/rle/rle.ts'))).toBe(true);
  });
});

describe('COCO lists and rasteriser agree on a whole annotation', () => {
  it('rleFromPolygons(cocoPolygonLists) of a mask with an island in a hole is the filled square', () => {
    const m = fromArt(ISLAND);
    const r = rleFromPolygons(cocoPolygonLists(maskToPolygons(m.rle)), m.h, m.w);
    expect(Array.from(r.counts)).toEqual([0, 49]);
  });
});
