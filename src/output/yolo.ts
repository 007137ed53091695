/**
 * The YOLO segmentation dataset (`--format yolo --out DIR`), in the layout Ultralytics trains on:
 *
 *   DIR/labels/<image path without extension>.txt   one line per mask, `0 x1 y1 x2 y2 …` normalised to [0, 1]
 *   DIR/images/<image path>                         a link to the input image
 *   DIR/data.yaml                                   the dataset: its root, the image folder, the class name
 *   DIR/info.json                                   the run's info block and every image's size
 *
 * Image paths are the run's relative input names (src/run/input-names.ts), so two `x.jpg` in different folders get
 * different labels. Ultralytics finds an image's label file by replacing the last `/images/` of the image's path with
 * `/labels/` and the extension with `.txt` (`img2label_paths`), hence the links under DIR/images; an input that is
 * already DIR/images/<path> (the Ultralytics layout, `sam-amg DIR/images --out DIR`) is used where it is. YOLO lines
 * hold neither the image size nor scores, so info.json keeps the sizes for `compare`, `merge` and `report`.
 */
import path from 'node:path';
import { yoloSegmentLine } from '../polygon/index.js';
import { cocoInfo, type ImageResult, type RunError, type RunInfo } from './coco.js';
import { imageFilePath } from './sa1b.js';
import type { MaskTracer } from './segmentation.js';

/** The one class every mask belongs to (COCO's category 1, `object`). */
export const YOLO_CLASS = 0;
export const YOLO_CLASS_NAME = 'object';

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

/** The label file of one image: its masks in record order through `tracer`, class {@link YOLO_CLASS}. */
export function yoloLabels(result: ImageResult, tracer: MaskTracer): YoloLabels {
  const lines: string[] = [];
  let skipped = 0;
  for (const record of result.records) {
    const line = yoloSegmentLine(YOLO_CLASS, tracer.trace(record.segmentation).polygons);
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
 * training), one class. The path is a YAML double-quoted scalar (JSON string syntax), so any folder name is safe.
 */
export function yoloDataYaml(dir: string): string {
  return [
    YOLO_YAML_HEADER,
    '# labels/<image path>.txt holds the masks of images/<image path> (links to the inputs), one line per mask;',
    '# train and val are the same images: split them for training. Delete `path` when moving the folder.',
    `path: ${JSON.stringify(path.resolve(dir))}`,
    `train: ${YOLO_IMAGES}`,
    `val: ${YOLO_IMAGES}`,
    'names:',
    `  ${YOLO_CLASS}: ${YOLO_CLASS_NAME}`,
    '',
  ].join('\n');
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
