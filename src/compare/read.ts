/**
 * Reads any of sam-amg's three outputs (a COCO file, an SA-1B folder, a JSONL file) into one shape, a list of
 * images with their annotations, for `compare` and `merge`. Every input is validated with parseCocoDocument (the
 * SA-1B and JSONL records are checked one file or line at a time, so errors name the file or line).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { parseCocoDocument } from '../output/coco-parse.js';
import type { CocoInfo, RunError } from '../output/coco.js';
import { describeFsError } from '../output/errno.js';
import { pickMaskFields, type MaskFields } from '../output/records.js';

/** The three output formats. */
export type MaskSetFormat = 'coco' | 'sa1b' | 'jsonl';

/** One mask as every format stores it. */
export interface SetAnnotation extends MaskFields {
  /** The id in the file (COCO: global; SA-1B and JSONL: per image). */
  id: number;
}

/** One image and its masks, in file order. */
export interface SetImage {
  file_name: string;
  width: number;
  height: number;
  annotations: SetAnnotation[];
}

/** A whole output, whatever its format. */
export interface MaskSet {
  format: MaskSetFormat;
  /** The path as given. */
  path: string;
  /** The run's info block: COCO files have one; SA-1B folders and JSONL files only when they carry an info record. */
  info?: CocoInfo;
  /** Images in the file's order (COCO), sorted by file_name (SA-1B), or in line order (JSONL). */
  images: SetImage[];
}

/** An input that cannot be read or is not a sam-amg output (the CLI's exit code 2). */
export class ReadError extends Error {}

/** Reads `p`: a folder is an SA-1B layout, a file COCO JSON, a JSONL stream or a single SA-1B file. */
export async function readMaskSet(p: string): Promise<MaskSet> {
  let stat;
  try {
    stat = await fsp.stat(p);
  } catch (err) {
    throw new ReadError(`cannot read ${p}: ${describeFsError(err)}`);
  }
  if (stat.isDirectory()) return readSa1bFolder(p);
  let text: string;
  try {
    text = await fsp.readFile(p, 'utf8');
  } catch (err) {
    throw new ReadError(`cannot read ${p}: ${describeFsError(err)}`);
  }
  return parseMaskSet(text, p);
}

/** Parses the text of one file (COCO, JSONL or a single SA-1B document), telling them apart by content. */
export function parseMaskSet(text: string, file: string): MaskSet {
  let whole: unknown;
  let isJson = true;
  try {
    whole = JSON.parse(text);
  } catch {
    isJson = false;
  }
  if (isJson && isObject(whole) && 'images' in whole && 'annotations' in whole) return fromCoco(text, file);
  if (isJson && isObject(whole) && 'image' in whole && 'annotations' in whole) {
    return { format: 'sa1b', path: file, images: [sa1bImage(whole, file)] };
  }
  if (isJson && !(isObject(whole) && 'file_name' in whole)) {
    throw new ReadError(`${file}: not a sam-amg output (COCO JSON, SA-1B JSON or JSONL)`);
  }
  return fromJsonl(text, file);
}

function fromCoco(text: string, file: string): MaskSet {
  let doc;
  try {
    doc = parseCocoDocument(text, file);
  } catch (err) {
    throw new ReadError(err instanceof Error ? err.message : String(err));
  }
  const byId = new Map<number, SetImage>();
  const images = doc.images.map((im) => {
    const s: SetImage = { file_name: im.file_name, width: im.width, height: im.height, annotations: [] };
    byId.set(im.id, s);
    return s;
  });
  for (const a of doc.annotations) {
    (byId.get(a.image_id) as SetImage).annotations.push({
      id: a.id,
      ...pickMaskFields(a),
    });
  }
  checkUniqueNames(images, file);
  return { format: 'coco', path: file, info: doc.info, images };
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
      throw new ReadError(`${where}: not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!isObject(raw)) throw new ReadError(`${where}: expected a JSON object per line`);
    if (!('file_name' in raw) && 'info' in raw) {
      if (info) throw new ReadError(`${where}: a second info record`);
      info = infoOnly(raw.info, where);
      return;
    }
    const { file_name, width, height, annotations } = raw;
    images.push(checkedImage({ file_name, width, height }, annotations, where));
  });
  checkUniqueNames(images, file);
  return { format: 'jsonl', path: file, ...(info ? { info } : {}), images };
}

async function readSa1bFolder(dir: string): Promise<MaskSet> {
  const files: string[] = [];
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await fsp.readdir(d, { withFileTypes: true });
    } catch (err) {
      throw new ReadError(`cannot read ${d}: ${describeFsError(err)}`);
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue; // temp files of atomic writes, hidden files
      const full = path.join(d, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile() && e.name.toLowerCase().endsWith('.json')) files.push(full);
    }
  };
  await walk(dir);
  const images: SetImage[] = [];
  let info: CocoInfo | undefined;
  for (const f of files) {
    let raw: unknown;
    try {
      raw = JSON.parse(await fsp.readFile(f, 'utf8'));
    } catch (err) {
      throw new ReadError(`${f}: ${err instanceof SyntaxError ? `not valid JSON: ${err.message}` : describeFsError(err)}`);
    }
    if (isObject(raw) && !('image' in raw) && 'info' in raw) {
      if (info) throw new ReadError(`${f}: a second info file in ${dir}`);
      info = infoOnly(raw.info, f);
      continue;
    }
    images.push(sa1bImage(raw, f));
  }
  if (images.length === 0 && files.length === 0) throw new ReadError(`${dir}: no SA-1B .json files in this folder`);
  images.sort((a, b) => (a.file_name < b.file_name ? -1 : a.file_name > b.file_name ? 1 : 0));
  checkUniqueNames(images, dir);
  return { format: 'sa1b', path: dir, ...(info ? { info } : {}), images };
}

function sa1bImage(raw: unknown, where: string): SetImage {
  if (!isObject(raw) || !isObject(raw.image)) throw new ReadError(`${where}: not an SA-1B document (no "image" object)`);
  const { file_name, width, height } = raw.image;
  return checkedImage({ file_name, width, height }, raw.annotations, where);
}

/** Validates one image and its annotations through parseCocoDocument, so every format gets the same checks. */
function checkedImage(image: Record<string, unknown>, annotations: unknown, where: string): SetImage {
  if (!Array.isArray(annotations)) throw new ReadError(`${where}: annotations: expected an array`);
  const doc = {
    info: PLACEHOLDER_INFO,
    images: [{ id: 1, ...image }],
    annotations: annotations.map((a, i) => (isObject(a) ? { ...a, id: typeof a.id === 'number' ? a.id : i + 1, image_id: 1, category_id: 1, iscrowd: 0 } : a)),
    categories: [{ id: 1, name: 'object' }],
  };
  let parsed;
  try {
    parsed = parseCocoDocument(JSON.stringify(doc), where);
  } catch (err) {
    throw new ReadError((err instanceof Error ? err.message : String(err)).replace('not a sam-amg COCO document', 'not a sam-amg record'));
  }
  const im = parsed.images[0];
  return {
    file_name: im.file_name,
    width: im.width,
    height: im.height,
    annotations: parsed.annotations.map((a) => ({
      id: a.id,
      ...pickMaskFields(a),
    })),
  };
}

const PLACEHOLDER_INFO = { description: '', version: '', model: '', model_sha256: '', options: {} };

function infoOnly(raw: unknown, where: string): CocoInfo {
  try {
    return parseCocoDocument(JSON.stringify({ info: raw, images: [], annotations: [], categories: [] }), where).info;
  } catch (err) {
    throw new ReadError(err instanceof Error ? err.message : String(err));
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
