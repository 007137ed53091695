/**
 * Detection files: the COCO detections that box-prompted segmentation turns into masks (../../shared/spec/prompted.md,
 * "Input"), read into one entry per image with its detections in file order. Pure: no I/O, no Node built-ins.
 *
 * Rules (each problem is one line, counted per kind, naming the first case; nothing is dropped silently):
 * - The file must be a JSON object with an `images` array and an `annotations` array, else DetectionFileError (the
 *   file cannot be used at all). `categories` is optional and copied as given (entries with an integer id).
 * - An image entry needs an integer `id` and a non-empty `file_name`; otherwise, or when its id repeats an earlier
 *   entry's, it is skipped (error). `width` / `height`, when given, must be positive integers (else ignored, warning);
 *   they are only checked against the decoded image (imageProblems). Two entries naming the same file: warning (the
 *   library segments each; `sam-amg segment` segments the first and fails the later one, src/run/box-images.ts).
 * - An annotation is skipped (error) when it is not an object, its `image_id` is not the id of a usable image entry,
 *   its `bbox` is not four finite numbers [x, y, w, h] with w ≥ 0 and h ≥ 0, its `category_id` is not an integer,
 *   its `score` is present but not a finite number, or its `id` is present but not an integer.
 * - Without an `id`, an annotation's detection id is its position in `annotations` + 1 (as pycocotools numbers
 *   loaded results). A repeated id is a warning: both detections are kept.
 * - Boxes go to the model exactly as given, as the reference predictors take them: a box with zero width or height
 *   (warning) is still prompted, and so is a box reaching outside its image (imageProblems, once the image's size is
 *   known): no clipping, which would move the box and change the mask.
 * - A category_id missing from a non-empty `categories` list: warning, kept.
 * - Images without detections give no records.
 */
import type { BoxXYWH } from '../base/types.js';
import { errorMessage } from '../base/errors.js';

/** One detection: a box prompt and what its record carries. */
export interface Detection {
  /** Position in the file's `annotations` array (from 0): records follow this order. */
  index: number;
  /** The annotation's id (its `id`, or index + 1 when it has none). */
  id: number;
  imageId: number;
  categoryId: number;
  /** [x, y, w, h] in the image's pixels, as given. */
  bbox: BoxXYWH;
  score?: number;
}

/** An image entry and its detections, in file order. */
export interface DetectionImage {
  id: number;
  /** Relative to the image root. */
  fileName: string;
  /** The size the file states, when it does. */
  width?: number;
  height?: number;
  detections: Detection[];
}

/** A problem found in a detection file: an error skips the entry it names, a warning keeps it. */
export interface DetectionProblem {
  level: 'error' | 'warning';
  /** One line, naming the file, the count and the first case. */
  message: string;
}

/** A parsed detection file. */
export interface DetectionFile {
  /** Usable image entries in file order, with or without detections. */
  images: DetectionImage[];
  /** The file's `categories` entries with an integer id, as given. */
  categories: Record<string, unknown>[];
  /** Detections kept, over all images. */
  detections: number;
  /** Annotations skipped (counted in the errors of `problems`). */
  skipped: number;
  problems: DetectionProblem[];
}

/** A detection file that cannot be used at all (not JSON, no images or annotations array). */
export class DetectionFileError extends Error {
  override name = 'DetectionFileError';
}

/** Parses a detection file's text; `source` names it in messages. */
export function parseDetectionsText(text: string, source: string): DetectionFile {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (err) {
    throw new DetectionFileError(`${source}: not valid JSON (${errorMessage(err)})`);
  }
  return parseDetections(value, source);
}

/** Reads a parsed detection file (see the rules above); `source` names it in messages. */
export function parseDetections(value: unknown, source: string): DetectionFile {
  if (Array.isArray(value)) {
    throw new DetectionFileError(
      `${source}: a bare list of detections (COCO results format) names no image files; give an object with 'images' (id, file_name) and 'annotations'`,
    );
  }
  if (!isObject(value)) throw new DetectionFileError(`${source}: expected a JSON object with 'images' and 'annotations'`);
  if (!Array.isArray(value.images)) throw new DetectionFileError(`${source}: no 'images' array`);
  if (!Array.isArray(value.annotations)) throw new DetectionFileError(`${source}: no 'annotations' array`);
  const problems = new ProblemLog(source);

  const categories: Record<string, unknown>[] = [];
  if (value.categories !== undefined) {
    if (!Array.isArray(value.categories)) problems.add('warning', 'file', "'categories' is not an array, ignored", '');
    else for (const c of value.categories) if (isObject(c) && isInteger(c.id)) categories.push(c);
  }
  const categoryIds = new Set(categories.map((c) => c.id as number));

  const images: DetectionImage[] = [];
  const byId = new Map<number, DetectionImage>();
  const byName = new Map<string, number>();
  value.images.forEach((entry: unknown, i: number) => {
    const at = `images[${i}]`;
    if (!isObject(entry)) return problems.add('error', 'image entry', 'image entry skipped: not an object', at);
    if (!isInteger(entry.id)) return problems.add('error', 'image entry', 'image entry skipped: no integer id', at);
    const id = entry.id;
    if (typeof entry.file_name !== 'string' || entry.file_name === '') {
      return problems.add('error', 'image entry', 'image entry skipped: no file_name', `${at} id ${id}`);
    }
    if (byId.has(id)) return problems.add('error', 'image entry', "image entry skipped: its id repeats an earlier entry's (the first is used)", `${at} id ${id}`);
    const image: DetectionImage = { id, fileName: entry.file_name, detections: [] };
    const w = entry.width;
    const h = entry.height;
    if (w !== undefined || h !== undefined) {
      if (isPositiveInteger(w) && isPositiveInteger(h)) {
        image.width = w;
        image.height = h;
      } else {
        problems.add('warning', 'image entry', 'width or height not a positive integer, size ignored', `${at} id ${id}`);
      }
    }
    const other = byName.get(image.fileName);
    if (other !== undefined) problems.add('warning', 'image entry', 'file named by an earlier entry too', `${at} id ${id} and id ${other}: ${image.fileName}`);
    else byName.set(image.fileName, id);
    byId.set(id, image);
    images.push(image);
  });

  let detections = 0;
  let skipped = 0;
  const seenIds = new Map<number, number>();
  value.annotations.forEach((entry: unknown, index: number) => {
    const at = `annotations[${index}]`;
    const reason = annotationError(entry, byId);
    if (reason) {
      skipped++;
      return problems.add('error', 'annotation', `annotation skipped: ${reason}`, isObject(entry) && isInteger(entry.id) ? `${at} id ${entry.id}` : at);
    }
    const a = entry as Record<string, unknown>;
    const id = a.id === undefined ? index + 1 : (a.id as number);
    const bbox = (a.bbox as number[]).slice(0, 4) as BoxXYWH;
    const d: Detection = { index, id, imageId: a.image_id as number, categoryId: a.category_id as number, bbox };
    if (a.score !== undefined) d.score = a.score as number;
    const where = `${at} id ${id}`;
    const first = seenIds.get(id);
    if (first !== undefined) problems.add('warning', 'annotation', "id repeats an earlier annotation's, both kept", `${where}, as annotations[${first}]`);
    else seenIds.set(id, index);
    if (bbox[2] === 0 || bbox[3] === 0) {
      problems.add('warning', 'box', 'zero width or height, prompted as given', `${where} bbox [${bbox.join(', ')}]`);
    }
    if (categoryIds.size > 0 && !categoryIds.has(d.categoryId)) {
      problems.add('warning', 'annotation', "category_id not in 'categories', kept", `${where} category_id ${d.categoryId}`);
    }
    (byId.get(d.imageId) as DetectionImage).detections.push(d);
    detections++;
  });
  return { images, categories, detections, skipped, problems: problems.list() };
}

/**
 * Warnings about one image's detections once its pixels are decoded: a stated size that differs from the decoded
 * one (the boxes are taken in the decoded image's pixels), and boxes reaching outside the image (prompted as given).
 */
export function imageProblems(source: string, image: DetectionImage, width: number, height: number): DetectionProblem[] {
  const problems = new ProblemLog(source);
  if (image.width !== undefined && (image.width !== width || image.height !== height)) {
    problems.add('warning', 'file', `${image.fileName} is ${width}×${height} but the detection file states ${image.width}×${image.height}; boxes are taken in the decoded image's pixels`, '');
  }
  for (const d of image.detections) {
    const [x, y, w, h] = d.bbox;
    if (x < 0 || y < 0 || x + w > width || y + h > height) {
      problems.add('warning', 'box', `box reaches outside ${image.fileName} (${width}×${height}), prompted as given`, `annotations[${d.index}] id ${d.id} bbox [${d.bbox.join(', ')}]`);
    }
  }
  return problems.list();
}

/** Why an annotation cannot be used, or undefined. */
function annotationError(entry: unknown, images: ReadonlyMap<number, DetectionImage>): string | undefined {
  if (!isObject(entry)) return 'not an object';
  if (!isInteger(entry.image_id)) return 'no integer image_id';
  if (!images.has(entry.image_id)) return "its image_id has no usable entry in 'images'";
  const b = entry.bbox;
  if (!Array.isArray(b) || b.length !== 4 || !b.every((v) => typeof v === 'number' && Number.isFinite(v))) return 'no bbox of four finite numbers [x, y, w, h]';
  if ((b[2] as number) < 0 || (b[3] as number) < 0) return 'bbox with a negative width or height';
  if (!isInteger(entry.category_id)) return 'no integer category_id';
  if (entry.score !== undefined && !(typeof entry.score === 'number' && Number.isFinite(entry.score))) return 'score not a finite number';
  if (entry.id !== undefined && !isInteger(entry.id)) return 'id not an integer';
  return undefined;
}

/** What a problem is about, for its count. */
type Noun = 'image entry' | 'annotation' | 'box' | 'file';
const PLURAL: Record<Noun, string> = { 'image entry': 'image entries', annotation: 'annotations', box: 'boxes', file: 'files' };

/** Problems counted per kind: one line each, `source: what (count nouns; first: case)`. */
class ProblemLog {
  private readonly kinds = new Map<string, { level: DetectionProblem['level']; noun: Noun; count: number; first: string }>();

  constructor(private readonly source: string) {}

  add(level: DetectionProblem['level'], noun: Noun, what: string, first: string): void {
    const k = this.kinds.get(what);
    if (k) k.count++;
    else this.kinds.set(what, { level, noun, count: 1, first });
  }

  list(): DetectionProblem[] {
    return [...this.kinds].map(([what, k]) => ({
      level: k.level,
      message: `${this.source}: ${what} (${k.count} ${k.count === 1 ? k.noun : PLURAL[k.noun]}${k.first ? `; first: ${k.first}` : ''})`,
    }));
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

function isPositiveInteger(v: unknown): v is number {
  return isInteger(v) && v > 0;
}
