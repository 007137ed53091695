/**
 * The readers of the two polygon folder formats, for src/output/read.ts (`compare`, `merge`, `report`): a YOLO
 * dataset (src/output/yolo.ts) and a GeoJSON folder (src/output/geojson.ts). Every mask is rasterised with the COCO
 * API's polygon rule (src/polygon/coco-raster.ts), the rule the writers' round trip is measured with, into the RLE
 * that matching and drawing use. They throw {@link FormatError} naming the file (and line or feature); read.ts turns
 * that into its ReadError.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { BoxXYWH, Rle } from '../base/types.js';
import { describeFsError, errorCode } from '../fs/errno.js';
import { findFiles } from '../fs/find-files.js';
import { isInsideDir } from '../fs/paths.js';
import { parseYoloSegments, rleDifference, rleFromPolygon, rleUnion, YoloLabelError } from '../polygon/index.js';
import { RleBuilder, rleArea, rleBoxXYXY, toCoco } from '../rle/rle.js';
import { errorMessage } from '../base/errors.js';
import { parseCocoInfo } from './coco-parse.js';
import type { CocoInfo } from './coco.js';
import { GEOJSON_PREFIX } from './geojson.js';
import {
  arrayAt,
  fieldAt,
  FormatError,
  numberAt,
  objectAt,
  positiveIntAt,
  stringAt,
  withMask,
  type AnyMaskFields,
} from './records.js';
import { YOLO_DATA_YAML, YOLO_INFO } from './yolo.js';

/** One mask read from a polygon format (the shape of read.ts's SetAnnotation). */
export type PolygonAnnotation = AnyMaskFields & {
  id: number;
  rle: Rle;
};

/** One image read from a polygon format (the shape of read.ts's SetImage). */
export interface PolygonImage {
  file_name: string;
  width: number;
  height: number;
  annotations: PolygonAnnotation[];
}

/** What a polygon folder holds. */
export interface PolygonFolder {
  info?: CocoInfo;
  images: PolygonImage[];
}

/** Whether `dir` is a YOLO dataset: it has a data.yaml. */
export async function isYoloDataset(dir: string): Promise<boolean> {
  try {
    return (await fsp.stat(path.join(dir, YOLO_DATA_YAML))).isFile();
  } catch {
    return false;
  }
}

/**
 * A YOLO dataset written by sam-amg: info.json names every image with its size and label file (YOLO lines hold
 * neither size nor scores), each label file is read with the checks of Ultralytics' reader (src/polygon/yolo-read.ts)
 * and each line rasterised into one mask. Annotation ids are line numbers (1-based); `area` and `bbox` are the
 * rasterised mask's, the scores 0 (the set is marked unscored), `point_coords` empty, `crop_box` the whole image.
 */
export async function readYoloDataset(dir: string): Promise<PolygonFolder> {
  const infoFile = path.join(dir, YOLO_INFO);
  let raw: unknown;
  try {
    raw = JSON.parse(await fsp.readFile(infoFile, 'utf8'));
  } catch (err) {
    if (errorCode(err) === 'ENOENT') {
      throw new FormatError(`${dir}: a YOLO dataset without sam-amg's ${YOLO_INFO}, so the images' sizes are unknown (YOLO labels are normalised)`);
    }
    throw new FormatError(`${infoFile}: ${err instanceof SyntaxError ? `not valid JSON: ${err.message}` : describeFsError(err)}`);
  }
  let info: CocoInfo;
  let list: unknown[];
  try {
    const o = objectAt(raw, 'the top level');
    info = parseCocoInfo(fieldAt(o, 'info', ''), 'info');
    list = arrayAt(fieldAt(o, 'images', ''), 'images');
  } catch (err) {
    throw new FormatError(`${infoFile}: not a sam-amg YOLO info file: ${errorMessage(err)}`);
  }
  const root = path.resolve(dir);
  const images: PolygonImage[] = [];
  for (const [i, v] of list.entries()) {
    const at = `${infoFile}: images[${i}]`;
    let im: { file_name: string; width: number; height: number; label: string };
    try {
      const o = objectAt(v, `images[${i}]`);
      im = {
        file_name: stringAt(fieldAt(o, 'file_name', `images[${i}]`), `images[${i}].file_name`),
        width: positiveIntAt(fieldAt(o, 'width', `images[${i}]`), `images[${i}].width`),
        height: positiveIntAt(fieldAt(o, 'height', `images[${i}]`), `images[${i}].height`),
        label: stringAt(fieldAt(o, 'label', `images[${i}]`), `images[${i}].label`),
      };
    } catch (err) {
      throw new FormatError(`${infoFile}: ${errorMessage(err)}`);
    }
    const labelFile = path.resolve(root, im.label);
    if (!isInsideDir(labelFile, root)) throw new FormatError(`${at}.label: ${JSON.stringify(im.label)} is outside the dataset folder`);
    let text: string;
    try {
      text = await fsp.readFile(labelFile, 'utf8');
    } catch (err) {
      throw new FormatError(`${labelFile}: the label file of ${im.file_name} cannot be read (${describeFsError(err)}); an interrupted run? Rerun it with --resume`);
    }
    let segments;
    try {
      segments = parseYoloSegments(text, im.width, im.height);
    } catch (err) {
      if (err instanceof YoloLabelError) throw new FormatError(`${labelFile}:${err.line}: ${err.message.replace(/^line \d+: /u, '')}`);
      throw err;
    }
    const annotations = segments.map((s, k): PolygonAnnotation => {
      let rle: Rle;
      try {
        rle = rleFromPolygon(s.polygon, im.height, im.width);
      } catch (err) {
        throw new FormatError(`${labelFile}:${k + 1}: ${errorMessage(err)}`);
      }
      return {
        id: k + 1,
        segmentation: [s.polygon],
        area: rleArea(rle),
        bbox: boxOf(rle),
        predicted_iou: 0,
        stability_score: 0,
        point_coords: [],
        crop_box: [0, 0, im.width, im.height],
        rle,
      };
    });
    images.push({ file_name: im.file_name, width: im.width, height: im.height, annotations });
  }
  return { info, images };
}

function boxOf(rle: Rle): BoxXYWH {
  const [x0, y0, x1, y1] = rleBoxXYXY(rle);
  return [x0, y0, x1 - x0, y1 - y0];
}

/**
 * The GeoJSON files of `dir` (`*.geojson`, any depth, hidden names skipped), or null when it holds none. Each must
 * be a FeatureCollection written by sam-amg: its `image` member gives file name and size, and for map coordinates
 * the transform that maps them back to pixels (a file whose `crs` names a CRS without that transform is refused).
 * Each Feature's Polygon or MultiPolygon is rasterised ring by ring, holes subtracted; its properties are the
 * record's fields. Images are sorted by file_name.
 */
export async function readGeoJsonFolder(dir: string): Promise<PolygonFolder | null> {
  const files = await findFiles(dir, '.geojson', (message) => new FormatError(message));
  if (files.length === 0) return null;
  const images: PolygonImage[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = await fsp.readFile(f, 'utf8');
    } catch (err) {
      throw new FormatError(`cannot read ${f}: ${describeFsError(err)}`);
    }
    images.push(parseGeoJsonImage(text, f));
  }
  images.sort((a, b) => (a.file_name < b.file_name ? -1 : a.file_name > b.file_name ? 1 : 0));
  return { images };
}

/** One sam-amg GeoJSON file's image and masks. */
export function parseGeoJsonImage(text: string, file: string): PolygonImage {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new FormatError(`${file}: not valid JSON: ${errorMessage(err)}`);
  }
  try {
    const top = objectAt(raw, 'the top level');
    if (top.type !== 'FeatureCollection') throw new FormatError(`type: expected "FeatureCollection"`);
    if (!('image' in top)) {
      throw new FormatError(`no "image" member (file name and size), so not a sam-amg GeoJSON output (it starts ${JSON.stringify(GEOJSON_PREFIX)})`);
    }
    const image = objectAt(top.image, 'image');
    const file_name = stringAt(fieldAt(image, 'file_name', 'image'), 'image.file_name');
    const width = positiveIntAt(fieldAt(image, 'width', 'image'), 'image.width');
    const height = positiveIntAt(fieldAt(image, 'height', 'image'), 'image.height');
    const toPixels = pixelMapping(image, top);
    const features = arrayAt(fieldAt(top, 'features', ''), 'features');
    const annotations = features.map((v, i): PolygonAnnotation => {
      const at = `features[${i}]`;
      const feature = objectAt(v, at);
      const props = objectAt(fieldAt(feature, 'properties', at), `${at}.properties`);
      const rle = geometryMask(fieldAt(feature, 'geometry', at), `${at}.geometry`, height, width, toPixels);
      const id = props.id === undefined ? i + 1 : positiveIntAt(props.id, `${at}.properties.id`);
      const parsed = withMask(props, `${at}.properties`, toCoco(rle), rle, false);
      return { id, ...parsed.fields, rle };
    });
    return { file_name, width, height, annotations };
  } catch (err) {
    if (err instanceof FormatError) throw new FormatError(`${file}: not a sam-amg GeoJSON output: ${err.message}`);
    throw err;
  }
}

/**
 * Map → pixel coordinates: the inverse of the image's affine transform (`image.geo.transform`, x = a·col + b·row + c,
 * y = d·col + e·row + f), or none for pixel coordinates. A `crs` member without the transform cannot be undone.
 */
function pixelMapping(image: Record<string, unknown>, top: Record<string, unknown>): ((x: number, y: number) => [number, number]) | null {
  if (image.geo === undefined) {
    if (top.crs !== undefined && top.crs !== null) {
      throw new FormatError('coordinates in a named CRS ("crs") but no image.geo transform to map them back to pixels');
    }
    return null;
  }
  const geo = objectAt(image.geo, 'image.geo');
  const t = arrayAt(fieldAt(geo, 'transform', 'image.geo'), 'image.geo.transform');
  if (t.length !== 6) throw new FormatError('image.geo.transform: expected [a, b, c, d, e, f]');
  const [a, b, c, d, e, f] = t.map((n, k) => numberAt(n, `image.geo.transform[${k}]`));
  const det = a * e - b * d;
  if (det === 0 || !Number.isFinite(det)) throw new FormatError('image.geo.transform: singular (a·e − b·d = 0), cannot map back to pixels');
  return (x, y) => {
    const u = x - c;
    const w = y - f;
    return [(e * u - b * w) / det, (a * w - d * u) / det];
  };
}

/** The mask of a Polygon / MultiPolygon (null: empty), rasterised with the COCO rule, holes subtracted. */
function geometryMask(v: unknown, at: string, h: number, w: number, toPixels: ((x: number, y: number) => [number, number]) | null): Rle {
  const empty = (): Rle => {
    const b = new RleBuilder(h, w);
    b.push(0, h * w);
    return b.finish();
  };
  if (v === null) return empty();
  const g = objectAt(v, at);
  const coords = arrayAt(fieldAt(g, 'coordinates', at), `${at}.coordinates`);
  const polygons = g.type === 'Polygon' ? [coords] : g.type === 'MultiPolygon' ? coords : null;
  if (polygons === null) throw new FormatError(`${at}.type: expected "Polygon" or "MultiPolygon", got ${JSON.stringify(g.type)}`);
  let mask: Rle | null = null;
  polygons.forEach((p, i) => {
    const pat = g.type === 'Polygon' ? `${at}.coordinates` : `${at}.coordinates[${i}]`;
    const rings = arrayAt(p, pat).map((r, k) => ringMask(r, `${pat}[${k}]`, h, w, toPixels));
    if (rings.length === 0) throw new FormatError(`${pat}: a polygon needs an exterior ring`);
    let m = rings[0];
    for (const hole of rings.slice(1)) m = rleDifference(m, hole);
    mask = mask === null ? m : rleUnion(mask, m);
  });
  return mask ?? empty();
}

function ringMask(v: unknown, at: string, h: number, w: number, toPixels: ((x: number, y: number) => [number, number]) | null): Rle {
  const positions = arrayAt(v, at);
  if (positions.length < 4) throw new FormatError(`${at}: a linear ring needs at least 4 positions`);
  const flat: number[] = [];
  // The last position repeats the first (RFC 7946); the COCO rule closes the ring itself.
  for (let k = 0; k < positions.length - 1; k++) {
    const p = arrayAt(positions[k], `${at}[${k}]`);
    if (p.length < 2) throw new FormatError(`${at}[${k}]: expected [x, y]`);
    const x = numberAt(p[0], `${at}[${k}][0]`);
    const y = numberAt(p[1], `${at}[${k}][1]`);
    const [px, py] = toPixels ? toPixels(x, y) : [x, y];
    flat.push(px, py);
  }
  try {
    return rleFromPolygon(flat, h, w);
  } catch (err) {
    throw new FormatError(`${at}: ${errorMessage(err)}`);
  }
}
