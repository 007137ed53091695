/**
 * The one reader of sam-amg's outputs: a COCO file, an SA-1B folder or file, a JSONL file (RLE or polygon
 * segmentations), a YOLO dataset or a GeoJSON folder (src/output/read-polygons.ts), read into one shape (a list of
 * images with their annotations, each mask as RLE) for `compare`, `merge` and `report`, plus the check that tells an
 * earlier sam-amg output from any other file before a run replaces it. Every record of the COCO, SA-1B and JSONL
 * formats goes through the same record parser as the journal ({@link parseMaskFields}: types checked, area and bbox
 * agree with an RLE mask; polygons rasterised with the COCO rule), so errors name the file or line and the field.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { GeoReference, Rle } from '../base/types.js';
import { geoField, parseGeo } from './geo.js';
import { cocoDocumentWithMasks, parseCocoInfo } from './coco-parse.js';
import { isPromptedOptions, type CocoCategory, type CocoInfo, type RunError } from './coco.js';
import { describeFsError } from '../fs/errno.js';
import { findFiles } from '../fs/find-files.js';
import {
  arrayAt,
  fieldAt,
  FormatError,
  integerAt,
  isPromptedFields,
  objectAt,
  parseMaskFields,
  pickMaskFields,
  positiveIntAt,
  stringAt,
  type AnyMaskFields,
} from './records.js';
import { errorMessage } from '../base/errors.js';
import { GEOJSON_PREFIX } from './geojson.js';
import { isYoloDataset, parseGeoJsonImage, readGeoJsonFolder, readYoloDataset } from './read-polygons.js';

/** The output formats that hold masks. */
export type MaskSetFormat = 'coco' | 'sa1b' | 'jsonl' | 'yolo' | 'geojson';

/** One mask as every format stores it (automatic or box-prompted), with the mask itself decoded once by the reader. */
export type SetAnnotation = AnyMaskFields & {
  /** The id in the file (COCO: global; SA-1B and JSONL: per image). */
  id: number;
  /** The mask, decoded from `segmentation` when the record was checked (runs, never a bitmap). */
  rle: Rle;
};

/** One image and its masks, in file order. */
export interface SetImage {
  file_name: string;
  /** The image's id in a box-prompted output (the detection file's); unset for automatic masks (ids are positions). */
  image_id?: number;
  width: number;
  height: number;
  /** A GeoTIFF input's georeferencing, when the output kept one. */
  geo?: GeoReference;
  annotations: SetAnnotation[];
}

/** A whole output, whatever its format. */
export interface MaskSet {
  format: MaskSetFormat;
  /** The path as given. */
  path: string;
  /** The run's info block: COCO files have one; SA-1B folders and JSONL files only when they carry an info record. */
  info?: CocoInfo;
  /** Images in the file's order (COCO, YOLO), sorted by file_name (SA-1B, GeoJSON), or in line order (JSONL). */
  images: SetImage[];
  /** Set for a YOLO dataset: its labels hold no scores (predicted_iou and stability_score read as 0). */
  unscored?: true;
  /**
   * A box-prompted output (`sam-amg segment`): its info says so, or (SA-1B, JSONL without one) its records or a
   * JSONL line's image_id do. An SA-1B folder of prompted images without a single record cannot be told apart.
   */
  prompted: boolean;
  /** A box-prompted COCO output's categories (the detection file's, as given). */
  categories?: CocoCategory[];
}

/** An input that cannot be read or is not a sam-amg output (the CLI's exit code 2). */
export class ReadError extends Error {
  override name = 'ReadError';
}

/** Reads `p`: a folder is an SA-1B layout, a file COCO JSON, a JSONL stream or a single SA-1B file. */
export async function readMaskSet(p: string): Promise<MaskSet> {
  let stat;
  try {
    stat = await fsp.stat(p);
  } catch (err) {
    throw new ReadError(`cannot read ${p}: ${describeFsError(err)}`);
  }
  if (stat.isDirectory()) return readFolder(p);
  if (!stat.isFile()) throw new ReadError(`cannot read ${p}: not a regular file or folder`);
  let text: string;
  try {
    text = await fsp.readFile(p, 'utf8');
  } catch (err) {
    throw new ReadError(`cannot read ${p}: ${describeFsError(err)}`);
  }
  return parseMaskSet(text, p);
}

/**
 * Parses the text of one file (COCO, JSONL or a single SA-1B document), telling them apart by content. An empty
 * file is refused: it is what a failed or interrupted write leaves, not a result to compare or merge.
 */
export function parseMaskSet(text: string, file: string): MaskSet {
  if (text.trim() === '') throw new ReadError(`${file} is empty (${text.length} bytes): not a sam-amg output`);
  let whole: unknown;
  let isJson = true;
  try {
    whole = JSON.parse(text);
  } catch {
    isJson = false;
  }
  try {
    if (isJson && isObject(whole) && 'images' in whole && 'annotations' in whole) return fromCoco(whole, file);
    if (isJson && isObject(whole) && whole.type === 'FeatureCollection') {
      const images = [parseGeoJsonImage(text, file)];
      return { format: 'geojson', path: file, images, prompted: promptedImages(images) };
    }
    if (isJson && isObject(whole) && 'image' in whole && 'annotations' in whole) {
      const images = [sa1bImage(whole, file)];
      return { format: 'sa1b', path: file, images, prompted: promptedImages(images) };
    }
    if (isJson && !(isObject(whole) && 'file_name' in whole)) {
      throw new ReadError(`${file}: not a sam-amg output (COCO JSON, SA-1B JSON or JSONL)`);
    }
    return fromJsonl(text, file);
  } catch (err) {
    if (err instanceof FormatError) throw new ReadError(err.message);
    throw err;
  }
}

/**
 * What kind of sam-amg output a file starting with `head` is (its first bytes, e.g. 64 KiB), or null when it is
 * none: sam-amg's COCO writer starts with the info block's description and model keys, its JSONL writer each line
 * with `file_name`, its SA-1B writer with the image block. Used before a run replaces an existing `--out`.
 */
export function sniffOutput(head: string): MaskSetFormat | null {
  if (head.startsWith('{"info":{"description":') && head.includes('"model_sha256":')) return 'coco';
  if (head.startsWith('{"file_name":')) return 'jsonl';
  if (head.startsWith('{"image":{"image_id":')) return 'sa1b';
  if (head.startsWith(GEOJSON_PREFIX)) return 'geojson';
  return null;
}

/** A folder: a YOLO dataset (it has data.yaml), a GeoJSON folder (it holds .geojson files) or an SA-1B folder. */
async function readFolder(dir: string): Promise<MaskSet> {
  try {
    if (await isYoloDataset(dir)) {
      const { info, images } = await readYoloDataset(dir);
      checkUniqueNames(images, dir);
      // YOLO labels hold only class and polygon: even a box-prompted run's dataset reads as masks paired by IoU.
      return { format: 'yolo', path: dir, ...(info ? { info } : {}), images, unscored: true, prompted: false };
    }
    const geo = await readGeoJsonFolder(dir);
    if (geo !== null) {
      checkUniqueNames(geo.images, dir);
      return { format: 'geojson', path: dir, images: geo.images, prompted: promptedImages(geo.images) };
    }
  } catch (err) {
    if (err instanceof FormatError) throw new ReadError(err.message);
    throw err;
  }
  return readSa1bFolder(dir);
}

function fromCoco(raw: unknown, file: string): MaskSet {
  const { document: doc, masks } = cocoDocumentWithMasks(raw, file);
  const prompted = isPromptedOptions(doc.info.options);
  const byId = new Map<number, SetImage>();
  const images = doc.images.map((im) => {
    const s: SetImage = { file_name: im.file_name, ...(prompted ? { image_id: im.id } : {}), width: im.width, height: im.height, ...geoField(im.geo), annotations: [] };
    byId.set(im.id, s);
    return s;
  });
  doc.annotations.forEach((a, i) => {
    (byId.get(a.image_id) as SetImage).annotations.push({ id: a.id, ...pickMaskFields(a), rle: masks[i] });
  });
  checkUniqueNames(images, file);
  return { format: 'coco', path: file, info: doc.info, images, prompted, ...(prompted ? { categories: doc.categories } : {}) };
}

function fromJsonl(text: string, file: string): MaskSet {
  const images: SetImage[] = [];
  let info: CocoInfo | undefined;
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${file}:${i + 1}`;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (err) {
      // A torn last line (a crash mid-write) is reported like any other: the file is not a complete output.
      throw new ReadError(`${where}: not valid JSON: ${errorMessage(err)}`);
    }
    if (!isObject(raw)) throw new ReadError(`${where}: expected a JSON object per line`);
    if (!('file_name' in raw) && 'info' in raw) {
      if (info) throw new ReadError(`${where}: a second info record`);
      info = infoOnly(raw.info, where);
      return;
    }
    images.push(recordImage(raw, raw.annotations, where));
  });
  checkUniqueNames(images, file);
  const prompted = info ? isPromptedOptions(info.options) : promptedImages(images);
  return { format: 'jsonl', path: file, ...(info ? { info } : {}), images, prompted };
}

async function readSa1bFolder(dir: string): Promise<MaskSet> {
  const files = await findFiles(dir, '.json', (message) => new ReadError(message));
  const images: SetImage[] = [];
  let info: CocoInfo | undefined;
  for (const f of files) {
    let raw: unknown;
    try {
      raw = JSON.parse(await fsp.readFile(f, 'utf8'));
    } catch (err) {
      throw new ReadError(`${f}: ${err instanceof SyntaxError ? `not valid JSON: ${err.message}` : describeFsError(err)}`);
    }
    if (path.dirname(f) === dir && path.basename(f) === 'errors.json' && isObject(raw) && 'errors' in raw && !('image' in raw)) {
      continue; // the run's own error list
    }
    if (isObject(raw) && !('image' in raw) && 'info' in raw) {
      if (info) throw new ReadError(`${f}: a second info file in ${dir}`);
      info = infoOnly(raw.info, f);
      continue;
    }
    try {
      images.push(sa1bImage(raw, f));
    } catch (err) {
      if (err instanceof FormatError) throw new ReadError(err.message);
      throw err;
    }
  }
  if (images.length === 0 && files.length === 0) throw new ReadError(`${dir}: no SA-1B .json files in this folder`);
  images.sort((a, b) => (a.file_name < b.file_name ? -1 : a.file_name > b.file_name ? 1 : 0));
  checkUniqueNames(images, dir);
  const prompted = info ? isPromptedOptions(info.options) : promptedImages(images);
  return { format: 'sa1b', path: dir, ...(info ? { info } : {}), images, prompted };
}

function sa1bImage(raw: unknown, where: string): SetImage {
  if (!isObject(raw) || !isObject(raw.image)) throw new ReadError(`${where}: not an SA-1B document (no "image" object)`);
  return recordImage(raw.image, raw.annotations, where, 'image_id');
}

/**
 * Whether images read without an info block are a box-prompted output's: a JSONL line with an image_id, or a
 * prompted record. Refuses a mix of the two kinds.
 */
function promptedImages(images: SetImage[]): boolean {
  const kinds = new Set(images.flatMap((im) => im.annotations.map((a) => isPromptedFields(a))));
  const prompted = kinds.has(true) || images.some((im) => im.image_id !== undefined && im.annotations.length === 0);
  if (kinds.size > 1) throw new ReadError('automatic masks and box-prompted records (prompt_box) mixed in one output');
  return prompted;
}

/**
 * One image of an SA-1B document or a JSONL line: its size, then every annotation through the record parser. The
 * image id is kept for box-prompted images (SA-1B: `image.image_id`, when the image has prompted records; JSONL: a
 * line's `image_id`, which only prompted runs write).
 */
function recordImage(image: Record<string, unknown>, annotations: unknown, where: string, sa1bId?: 'image_id'): SetImage {
  const bad = (err: unknown): never => {
    if (err instanceof FormatError) throw new ReadError(`${where}: not a sam-amg record: ${err.message}`);
    throw err;
  };
  try {
    const file_name = stringAt(fieldAt(image, 'file_name', ''), 'file_name');
    const width = positiveIntAt(fieldAt(image, 'width', ''), 'width');
    const height = positiveIntAt(fieldAt(image, 'height', ''), 'height');
    const list = arrayAt(annotations, 'annotations');
    const parsed: SetAnnotation[] = list.map((a, i) => {
      const at = `annotations[${i}]`;
      const o = objectAt(a, at);
      const id = o.id === undefined ? i + 1 : positiveIntAt(o.id, `${at}.id`);
      const p = parseMaskFields(o, at, { width, height });
      return { id, ...p.fields, rle: p.rle };
    });
    const idKey = sa1bId === undefined || parsed.some((a) => isPromptedFields(a)) ? 'image_id' : undefined;
    const imageId = idKey !== undefined && image[idKey] !== undefined ? integerAt(image[idKey], idKey) : undefined;
    return { file_name, ...(imageId !== undefined ? { image_id: imageId } : {}), width, height, ...geoField(parseGeo(image, 'image')), annotations: parsed };
  } catch (err) {
    return bad(err);
  }
}

function infoOnly(raw: unknown, where: string): CocoInfo {
  try {
    return parseCocoInfo(raw, 'info');
  } catch (err) {
    if (err instanceof FormatError) throw new ReadError(`${where}: not a sam-amg info record: ${err.message}`);
    throw err;
  }
}

function checkUniqueNames(images: SetImage[], where: string): void {
  const seen = new Set<string>();
  for (const im of images) {
    if (seen.has(im.file_name)) throw new ReadError(`${where}: image ${JSON.stringify(im.file_name)} appears twice`);
    seen.add(im.file_name);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The errors an input recorded (info.errors), or none. */
export function setErrors(set: MaskSet): RunError[] {
  return set.info?.errors ?? [];
}
