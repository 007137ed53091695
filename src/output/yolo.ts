/**
 * The YOLO segmentation dataset (`--format yolo --out DIR`), in the layout Ultralytics trains on:
 *
 *   DIR/labels/<image path without extension>.txt   one line per mask, `<class> x1 y1 x2 y2 …` normalised to [0, 1]
 *   DIR/images/<image path>                         a link to the input image
 *   DIR/data.yaml                                   the dataset: its root, the image folder, the class names
 *   DIR/info.json                                   the run's info block and every image's size
 *
 * Image paths are the run's relative input names (src/run/input-names.ts), so two `x.jpg` in different folders get
 * different labels. Ultralytics finds an image's label file by replacing the last `/images/` of the image's path with
 * `/labels/` and the extension with `.txt` (`img2label_paths`), hence the links under DIR/images; an input that is
 * already DIR/images/<path> (the Ultralytics layout, `sam-amg DIR/images --out DIR`) is used where it is. YOLO lines
 * hold neither the image size nor scores, so info.json keeps the sizes for `compare`, `merge` and `report`.
 *
 * Classes: automatic masks are all class 0, `object`. A box-prompted run (`sam-amg segment`) uses the detection
 * file's categories as classes (yoloClassesOf): class k is the k-th category by id, named by its `name`.
 */
import path from 'node:path';
import { yoloSegmentLine } from '../polygon/index.js';
import { cocoInfo, type ImageResult, type RunError, type RunInfo } from './coco.js';
import { imageFilePath } from './sa1b.js';
import { isPromptedRecord } from './records.js';
import type { MaskTracer } from './segmentation.js';

/** The one class every automatic mask belongs to (COCO's category 1, `object`). */
export const YOLO_CLASS = 0;
export const YOLO_CLASS_NAME = 'object';

/** A dataset's classes: their names in class order, and the class of each box-prompted record's category id. */
export interface YoloClasses {
  names: readonly string[];
  byCategory: ReadonlyMap<number, number>;
}

/** Automatic masks: the one class `object`. */
export const OBJECT_CLASSES: YoloClasses = { names: [YOLO_CLASS_NAME], byCategory: new Map() };

/**
 * The classes of a box-prompted run: the detection file's `categories` sorted by id, class k the k-th, named by its
 * `name` (its id when it has no non-empty string name); then the category ids that detections use but the list
 * lacks (kept with a warning when the file is read), in id order, named by their id. A file without categories
 * gets one class per category id used, in id order.
 */
export function yoloClassesOf(categories: readonly { id: number; name?: unknown }[], usedIds: Iterable<number>): YoloClasses {
  const listed = [...categories].sort((a, b) => a.id - b.id);
  const byCategory = new Map<number, number>();
  const names: string[] = [];
  for (const c of listed) {
    if (byCategory.has(c.id)) continue;
    byCategory.set(c.id, names.length);
    names.push(typeof c.name === 'string' && c.name !== '' ? c.name : String(c.id));
  }
  for (const id of [...new Set(usedIds)].sort((a, b) => a - b)) {
    if (byCategory.has(id)) continue;
    byCategory.set(id, names.length);
    names.push(String(id));
  }
  return { names, byCategory };
}

/** File and folder names inside the dataset folder. */
export const YOLO_DATA_YAML = 'data.yaml';
export const YOLO_INFO = 'info.json';
export const YOLO_LABELS = 'labels';
export const YOLO_IMAGES = 'images';

/** How sam-amg's data.yaml starts: how an existing one is recognised before it is replaced. */
export const YOLO_YAML_HEADER = '# YOLO segmentation dataset written by sam-amg';

/** How sam-amg's info.json starts. */
export const YOLO_INFO_PREFIX = '{"info":{"description":';

/** `DIR/labels/<relPath without extension>.txt`; throws for a name that would leave the folder (as sa1bPathFor). */
export function yoloLabelPathFor(dir: string, relPath: string): string {
  return imageFilePath(path.join(dir, YOLO_LABELS), relPath, '.txt');
}

/** `DIR/images/<relPath>`: where the dataset links the input image. */
export function yoloImageLinkFor(dir: string, relPath: string): string {
  return imageFilePath(path.join(dir, YOLO_IMAGES), relPath, null);
}

/** One image's label file. */
export interface YoloLabels {
  /** The file's text: one line per mask with a polygon, each ending with a newline; empty for an image without masks. */
  text: string;
  lines: number;
  /** Lines Ultralytics' reader will drop as duplicates of another line's (class, box). */
  duplicates: number;
  /** Masks without a polygon (empty masks): no line. */
  skipped: number;
}

/**
 * The label file of one image: its masks in record order through `tracer`; an automatic mask is class
 * {@link YOLO_CLASS}, a box-prompted record its category's class in `classes`.
 * @throws Error for a box-prompted record whose category has no class
 */
export function yoloLabels(result: ImageResult, tracer: MaskTracer, classes: YoloClasses = OBJECT_CLASSES): YoloLabels {
  const lines: string[] = [];
  let skipped = 0;
  for (const [r, record] of result.records.entries()) {
    let classId = YOLO_CLASS;
    if (isPromptedRecord(record)) {
      const c = classes.byCategory.get(record.categoryId);
      if (c === undefined) throw new Error(`${result.relPath}: record ${r}: category ${record.categoryId} has no YOLO class`);
      classId = c;
    }
    const line = yoloSegmentLine(classId, tracer.trace(record.segmentation).polygons);
    if (line === null) skipped++;
    else lines.push(line);
  }
  return { text: lines.map((l) => `${l}\n`).join(''), lines: lines.length, duplicates: duplicateLabels(lines), skipped };
}

/**
 * How many of `lines` Ultralytics' `verify_image_label` removes as duplicates: it turns each segment into a box
 * (float32 centre x, centre y, width, height from the segment's extremes) and keeps one row per distinct
 * (class, box). Two masks of the same class whose polygons span the same box are one label to it.
 */
export function duplicateLabels(lines: readonly string[]): number {
  const f32 = Math.fround;
  const seen = new Set<string>();
  for (const line of lines) {
    const t = line.trim().split(/\s+/);
    let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
    for (let i = 1; i + 1 < t.length; i += 2) {
      const x = f32(Number(t[i]));
      const y = f32(Number(t[i + 1]));
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
    seen.add([f32(Number(t[0])), f32(f32(x0 + x1) / 2), f32(f32(y0 + y1) / 2), f32(x1 - x0), f32(y1 - y0)].join(' '));
  }
  return lines.length - seen.size;
}

/**
 * data.yaml: the dataset root (`path`, this folder, absolute as Ultralytics' examples write it; without it
 * Ultralytics takes data.yaml's own folder), `train` and `val` both the image folder (split it yourself for real
 * training), the classes by index. The path is a YAML double-quoted scalar (JSON string syntax), so any folder name
 * is safe; so is a class name that would not read back as the same string plain.
 */
export function yoloDataYaml(dir: string, classes: YoloClasses = OBJECT_CLASSES): string {
  return [
    YOLO_YAML_HEADER,
    '# labels/<image path>.txt holds the masks of images/<image path> (links to the inputs), one line per mask;',
    '# train and val are the same images: split them for training. Delete `path` when moving the folder.',
    `path: ${JSON.stringify(path.resolve(dir))}`,
    `train: ${YOLO_IMAGES}`,
    `val: ${YOLO_IMAGES}`,
    'names:',
    ...classes.names.map((name, k) => `  ${k}: ${yamlName(name)}`),
    '',
  ].join('\n');
}

/** YAML 1.1 words that a plain scalar would read as a boolean or null (PyYAML, which Ultralytics uses, reads 1.1). */
const YAML_SPECIAL = new Set(['y', 'n', 'yes', 'no', 'on', 'off', 'true', 'false', 'null']);

/** A class name as a YAML scalar: plain when it is letters, digits, `_` and single inner spaces, else double-quoted. */
function yamlName(name: string): string {
  const plain = /^[A-Za-z][A-Za-z0-9_]*(?: [A-Za-z0-9_]+)*$/u.test(name) && !YAML_SPECIAL.has(name.toLowerCase());
  return plain ? name : JSON.stringify(name);
}

/** One image of info.json. */
export interface YoloInfoImage {
  file_name: string;
  width: number;
  height: number;
  /** The label file, relative to the dataset folder (POSIX). */
  label: string;
}

/**
 * info.json: `{"info": {…}, "images": [{file_name, width, height, label}, …]}`, one image per line, in output order.
 * The info block is COCO's (model, options, `segmentation`, errors).
 */
export function yoloInfoText(results: readonly ImageResult[], labels: readonly string[], info: RunInfo, errors: readonly RunError[]): string {
  const rows = results.map((r, i) => {
    const im: YoloInfoImage = { file_name: r.relPath, width: r.width, height: r.height, label: labels[i] };
    return JSON.stringify(im);
  });
  const head = `{"info":${JSON.stringify(cocoInfo({ ...info, errors: [...errors] }))},\n"images":[`;
  return rows.length === 0 ? `${head}]}\n` : `${head}\n${rows.join(',\n')}\n]}\n`;
}
