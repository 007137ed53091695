/**
 * The images of a box-prompted run (`sam-amg segment`): the detection file's image entries matched to the listed
 * inputs, and the segmenter that prompts each decoded image with its entry's boxes.
 *
 * Matching rule: an entry's `file_name` is relative to the image root, i.e. it must equal the relative name the
 * listing gives the file (input-names.ts: relative to the folder given, a file given by itself is its base name),
 * after `\` becomes `/` and a leading `./` is dropped. Then:
 * - an entry whose file is not among the inputs is an error of that image (stage 'input'); its detections get no
 *   records; so is a second entry naming the same file (the first one is segmented);
 * - a listed image that no entry names is not part of the run (not decoded, not in the output), and counted;
 * - an entry without detections is part of the run: the output lists the image with no records (it is decoded for
 *   its size, but the encoder does not run).
 * The run's images keep the listing's order (by relative name), so shards, merge and resume work as for the main
 * command; each image's records follow the detection file's order.
 */
import path from 'node:path';
import type { GenerateProgress } from '../amg/generator.js';
import type { RgbImage } from '../base/types.js';
import type { CocoCategory, RunError } from '../output/coco.js';
import { yoloClassesOf, type YoloClasses } from '../output/yolo.js';
import type { BoxSegmenter, SegmentProgress } from '../prompt/box-segmenter.js';
import { imageProblems, type DetectionFile, type DetectionImage } from '../prompt/detections.js';
import type { InputItem } from './inputs.js';
import type { ImageSegmenter, SegmentedImage } from './segmenter.js';

/** The listed inputs matched to a detection file's image entries. */
export interface DetectionInputs {
  /** Listed images that an entry names, in listing order. */
  items: InputItem[];
  /** The entry of each of `items`, by relative name. */
  entries: Map<string, DetectionImage>;
  /** Entries whose file is not among the inputs, or that name a file an earlier entry names (stage 'input'). */
  missing: RunError[];
  /** Detections of the `missing` entries (they get no records). */
  missingDetections: number;
  /** Listed images that no entry names (not part of the run). */
  unnamed: number;
}

/** A detection file's `file_name` as the listing names files: POSIX separators, no leading `./`. */
export function detectionName(fileName: string): string {
  let name = fileName.replace(/\\/gu, '/');
  while (name.startsWith('./')) name = name.slice(2);
  return name;
}

/** Matches the entries of `detections` (read from `source`) to the listed `items` (see the module comment). */
export function matchDetections(items: readonly InputItem[], detections: DetectionFile, source: string): DetectionInputs {
  const out: DetectionInputs = { items: [], entries: new Map(), missing: [], missingDetections: 0, unnamed: 0 };
  const fail = (entry: DetectionImage, why: string): void => {
    const n = entry.detections.length;
    out.missing.push({ file: entry.fileName, stage: 'input', message: `${why}; its ${n} detection${n === 1 ? ' gets' : 's get'} no records` });
    out.missingDetections += n;
  };
  // One entry per file: a later entry naming the same file is an error (one image, one id in the output).
  const byName = new Map<string, DetectionImage>();
  const later: DetectionImage[] = [];
  for (const entry of detections.images) {
    const name = detectionName(entry.fileName);
    if (byName.has(name)) later.push(entry);
    else byName.set(name, entry);
  }
  const matched = new Set<string>();
  for (const item of items) {
    const entry = byName.get(item.relPath);
    if (entry === undefined) {
      out.unnamed++;
      continue;
    }
    matched.add(item.relPath);
    out.items.push(item);
    out.entries.set(item.relPath, entry);
  }
  const byBase = new Map<string, string>();
  for (const item of items) if (!byBase.has(path.posix.basename(item.relPath))) byBase.set(path.posix.basename(item.relPath), item.relPath);
  for (const entry of detections.images) {
    const name = detectionName(entry.fileName);
    if (later.includes(entry)) {
      fail(entry, `image id ${entry.id} of ${source} names the same file as image id ${(byName.get(name) as DetectionImage).id}, which is segmented`);
      continue;
    }
    if (matched.has(name)) continue;
    const other = byBase.get(path.posix.basename(name));
    const hint = other === undefined ? '' : ` (the input ${other} has that base name: file_name is relative to the folder given)`;
    fail(entry, `named in ${source} (image id ${entry.id}) but not among the inputs${hint}`);
  }
  return out;
}

/** The box segmenter as a batch's segmenter: each image with its entry's boxes, one record per detection. */
export class BoxImageSegmenter implements ImageSegmenter {
  /** Boxes vary from image to image: the ETA comes from the image rate. */
  readonly promptsPerImage = 0;

  constructor(
    private readonly segmenter: BoxSegmenter,
    /** Each image's entry, by relative name. */
    private readonly entries: ReadonlyMap<string, DetectionImage>,
    /** The detection file as messages name it. */
    private readonly source: string,
    /** Where an image's detection warnings go (a stated size that differs, boxes reaching outside the image). */
    private readonly warn: (message: string) => void,
  ) {}

  async segment(item: InputItem, image: RgbImage, onProgress: (p: GenerateProgress) => void): Promise<SegmentedImage> {
    const entry = this.entries.get(item.relPath);
    if (entry === undefined) throw new Error(`internal: ${item.relPath} has no detection entry`);
    for (const p of imageProblems(this.source, entry, image.width, image.height)) this.warn(p.message);
    const records = await this.segmenter.segmentDetections(image, entry, { onProgress: (p) => onProgress(generateProgress(p)) });
    return { records, imageId: entry.id };
  }
}

/** A box segmenter's progress in the generator's terms: the whole image is one crop, each box a prompt. */
export function generateProgress(p: SegmentProgress): GenerateProgress {
  return {
    crops: 1,
    cropsDone: p.done ? 1 : 0,
    prompts: p.boxes,
    promptsDone: p.boxesDone,
    encoderMs: p.encoderMs,
    decoderMs: p.decoderMs,
    postprocessMs: p.postprocessMs,
    done: p.done,
  };
}

/**
 * A box-prompted output's COCO categories: the detection file's, as given; when it has none, one `{id, name}` per
 * category id its detections use (the name is the id), ascending.
 */
export function promptedCategories(detections: DetectionFile): CocoCategory[] {
  if (detections.categories.length > 0) return detections.categories as CocoCategory[];
  const ids = new Set<number>();
  for (const im of detections.images) for (const d of im.detections) ids.add(d.categoryId);
  return [...ids].sort((a, b) => a - b).map((id) => ({ id, name: String(id) }));
}

/**
 * The YOLO classes of a box-prompted run (`--format yolo`): the detection file's categories by id, then the category
 * ids its detections use that the list lacks (output/yolo.ts yoloClassesOf).
 */
export function promptedYoloClasses(detections: DetectionFile): YoloClasses {
  const used: number[] = [];
  for (const im of detections.images) for (const d of im.detections) used.push(d.categoryId);
  return yoloClassesOf(detections.categories as { id: number; name?: unknown }[], used);
}
