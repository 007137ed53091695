/**
 * Builds the static HTML report of one output, or of two outputs side by side with `compare`'s matching:
 *
 *   index.html, report.js, report.css   the page (web/report, bundled by `npm run build`)
 *   data/index.js                       every image's name, size, counts and summary (one call of samReport.index)
 *   data/images/<n>.js                  image n's masks as RLE strings (loaded only when the image is opened)
 *   photos/<n>.jpg                      display copy of the photo (longest side ≤ 2048 px)
 *   thumbs/<n>.jpg                      thumbnail with the masks filled in
 *
 * Masks are never resampled: the page decodes each RLE at the output's full resolution and draws it on a canvas of
 * one pixel per image pixel, or per s×s block for an image over 4096 px a side, with the photo copy stretched over
 * it. Images of any size: a large photo is read by region and shrunk, never decoded whole (photos.ts). The folder
 * is built under a temporary name and swapped in when complete.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pLimit from 'p-limit';
import type { MaskRecord, RgbImage } from '../base/types.js';
import { compareSets, DEFAULT_LIMITS, type ImageReport } from '../compare/compare.js';
// The one import of the output reader in src/report and the report command (ReadError is re-exported for it).
import { readMaskSet, setErrors, type MaskSet, type SetAnnotation, type SetImage } from '../output/read.js';
import { isPromptedFields } from '../output/records.js';
export { ReadError } from '../output/read.js';
import { decodeImage, DEFAULT_MAX_PIXELS } from '../node/decode.js';
import { describeFsError } from '../fs/errno.js';
import { isInsideDir } from '../fs/paths.js';
import type { Rle } from '../base/types.js';
import { toCoco } from '../rle/rle.js';
import { copyAssets, defaultAssetsDir } from './assets.js';
import {
  dataScript,
  REPORT_MARKER,
  REPORT_VERSION,
  reportPaths,
  type ReportImageData,
  type ReportIndex,
  type ReportIndexImage,
  type ReportMask,
  type ReportProblem,
  type ReportSide,
} from './data.js';
import { checkReportTarget, makeBuildFolder, swapInFolder } from './folder.js';
import { displayJpeg, photoScale, scaledThumbnailJpeg, shrunkDisplayJpeg, shrunkPhoto, thumbnailJpeg, WHOLE_PHOTO_PIXELS } from './photos.js';
import { coverage, mean } from './summary.js';
import { errorMessage } from '../base/errors.js';

/** Thumbnails per index page. */
export const DEFAULT_PAGE_SIZE = 60;

/** Options of {@link buildReport}. */
export interface BuildReportOptions {
  /** One output, or two (A and B) to show side by side. */
  outputs: string[];
  /** The report folder (created; an earlier report there is replaced; any other non-empty folder is refused). */
  out: string;
  /** Folder the outputs' file_name values are relative to; photos are read from there. */
  images?: string;
  /** Exact photo paths by file_name (a run's own inputs); used before `images`. */
  photos?: ReadonlyMap<string, string>;
  /** Two outputs: the IoU a pair needs to match (default: compare's 0.9). */
  minIou?: number;
  pageSize?: number;
  /** Images prepared at once (default: up to 4, by the cores). */
  concurrency?: number;
  /** Photos above this many pixels (or 16.8 MP, when lower) are read by region and shrunk rather than decoded whole. */
  maxPixels?: number;
  /** Folder with the page's files (default: this package's dist/web/report). */
  assetsDir?: string;
  /** Told about each problem as it is found (a photo that is missing or does not fit). */
  onProblem?: (problem: ReportProblem) => void;
}

/** What {@link buildReport} did. */
export interface BuildReportResult {
  dir: string;
  images: number;
  masks: number;
  /** Photos the report could not use (the run's own errors are not repeated here). */
  problems: ReportProblem[];
}

/** One row of the report: an image and its record in each output (undefined where an output lacks it). */
interface Entry {
  name: string;
  sides: (SetImage | undefined)[];
}

/** Builds the report; throws ReadError for an unreadable output, ReportTargetError for a refused --out. */
export async function buildReport(opts: BuildReportOptions): Promise<BuildReportResult> {
  if (opts.outputs.length < 1 || opts.outputs.length > 2) throw new RangeError('report: give one output, or two to compare');
  const sets = await Promise.all(opts.outputs.map((p) => readMaskSet(p)));
  await checkReportTarget(opts.out);
  const assets = opts.assetsDir ?? defaultAssetsDir();
  const labels = sets.length === 2 ? ['A', 'B'] : [path.basename(opts.outputs[0])];
  const entries = unionOfImages(sets);
  const unscored = sets.map((s) => s.unscored === true);
  const minIou = opts.minIou ?? DEFAULT_LIMITS.minIou;
  const comparison =
    sets.length === 2
      ? compareSets(sets[0], sets[1], { minIou, minRecall: 0, maxExtra: Number.MAX_SAFE_INTEGER, scoreTol: 1, failOnImageMismatch: false })
      : undefined;
  const matchByName = new Map<string, ImageReport>(comparison?.images.map((r) => [r.file_name, r]) ?? []);

  const problems: ReportProblem[] = [];
  const problem = (p: ReportProblem): void => {
    problems.push(p);
    opts.onProblem?.(p);
  };
  const tmp = await makeBuildFolder(opts.out);
  try {
    for (const sub of ['data/images', 'photos', 'thumbs']) await fsp.mkdir(path.join(tmp, sub), { recursive: true });
    const limit = pLimit(opts.concurrency ?? Math.min(4, os.availableParallelism()));
    const rows: ReportIndexImage[] = new Array(entries.length);
    await Promise.all(
      entries.map((entry, n) =>
        limit(async () => {
          rows[n] = await buildImage(tmp, n, entry, labels, matchByName.get(entry.name), opts, problem, unscored);
        }),
      ),
    );
    const runErrors = sets.flatMap((s, k) => setErrors(s).map((e) => (sets.length === 2 ? { ...e, file: `${labels[k]}: ${e.file}` } : e)));
    const index: ReportIndex = {
      version: REPORT_VERSION,
      title: sets.length === 2 ? `${path.basename(opts.outputs[0])} vs ${path.basename(opts.outputs[1])}` : path.basename(opts.outputs[0]),
      outputs: sets.map((s, k) => ({
        label: labels[k],
        path: s.path,
        format: s.format,
        images: s.images.length,
        masks: s.images.reduce((t, im) => t + im.annotations.length, 0),
        model: s.info?.model ?? null,
      })),
      compare: comparison
        ? {
            min_iou: minIou,
            matched: comparison.totals.matched,
            missed: comparison.totals.missing,
            extra: comparison.totals.extra,
            recall: comparison.totals.recall,
          }
        : null,
      images: rows,
      problems: [...runErrors, ...problems],
      page_size: opts.pageSize ?? DEFAULT_PAGE_SIZE,
    };
    await fsp.writeFile(path.join(tmp, reportPaths.index), dataScript('index', index));
    await copyAssets(assets, tmp);
    await fsp.writeFile(path.join(tmp, REPORT_MARKER), `${JSON.stringify({ sam_amg_report: REPORT_VERSION })}\n`);
    await swapInFolder(tmp, opts.out);
  } catch (err) {
    await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
  return {
    dir: path.resolve(opts.out),
    images: entries.length,
    masks: sets.reduce((t, s) => t + s.images.reduce((u, im) => u + im.annotations.length, 0), 0),
    problems,
  };
}

/** Images of A in file order, then those only B has. */
function unionOfImages(sets: MaskSet[]): Entry[] {
  const byName = new Map<string, Entry>();
  const entries: Entry[] = [];
  sets.forEach((set, k) => {
    for (const im of set.images) {
      let e = byName.get(im.file_name);
      if (e === undefined) {
        e = { name: im.file_name, sides: new Array<SetImage | undefined>(sets.length).fill(undefined) };
        byName.set(im.file_name, e);
        entries.push(e);
      }
      e.sides[k] = im;
    }
  });
  return entries;
}

async function buildImage(
  dir: string,
  n: number,
  entry: Entry,
  labels: string[],
  match: ImageReport | undefined,
  opts: BuildReportOptions,
  problem: (p: ReportProblem) => void,
  /** Per side: a YOLO dataset, whose masks have no scores (no mean predicted IoU on the card). */
  unscored: readonly boolean[],
): Promise<ReportIndexImage> {
  const first = (entry.sides.find((s) => s !== undefined) as SetImage);
  const { width, height } = first;
  // An image beyond --max-pixels (or WHOLE_PHOTO_PIXELS) — a tiled run's — is never decoded whole: its photo is read
  // by region and shrunk, its thumbnail drawn at that scale (photos.ts); the page draws its masks on a canvas of at
  // most MAX_FRAME_SIDE px a side (web/shared/sizing.ts).
  const limit = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const scale = width * height > Math.min(limit, WHOLE_PHOTO_PIXELS) ? photoScale(width, height) : null;
  const sides: ReportSide[] = entry.sides.map((im, k) => {
    if (im === undefined) return { label: labels[k], masks: null };
    if (im.width !== width || im.height !== height) {
      problem({ file: entry.name, stage: 'report', message: `${labels[k]} is ${im.width}x${im.height} but ${labels[0]} is ${width}x${height}; its masks are not shown` });
      return { label: labels[k], masks: null };
    }
    return { label: labels[k], masks: im.annotations.map((a) => reportMask(a, width, height)) };
  });
  if (match !== undefined && sides.length === 2 && sides[0].masks !== null && sides[1].masks !== null) {
    markMatches(match, entry.sides[0] as SetImage, entry.sides[1] as SetImage, sides[0].masks, sides[1].masks);
  }
  // The masks as the reader decoded them (once, when it checked each record).
  const rles = sides.map((s, k) => (s.masks === null ? null : (entry.sides[k] as SetImage).annotations.map((a) => a.rle)));
  const shown = sides.findIndex((s) => s.masks !== null);
  const records = shown < 0 ? [] : (sides[shown].masks as ReportMask[]).map((m, i) => maskRecord(m, (rles[shown] as Rle[])[i]));

  let photoSize: [number, number] | null = null;
  let thumb: Buffer;
  if (scale === null) {
    const image = await readPhoto(entry.name, width, height, opts, problem);
    if (image !== null) {
      const display = await displayJpeg(image);
      await fsp.writeFile(path.join(dir, reportPaths.photo(n)), display.data);
      photoSize = [display.width, display.height];
    }
    thumb = await thumbnailJpeg(image, width, height, records);
  } else {
    const photo = await readShrunkPhoto(entry.name, width, height, scale, opts, problem);
    if (photo !== null) {
      const display = await shrunkDisplayJpeg(photo);
      await fsp.writeFile(path.join(dir, reportPaths.photo(n)), display.data);
      photoSize = [display.width, display.height];
    }
    thumb = await scaledThumbnailJpeg(photo, width, height, scale, records);
  }
  await fsp.writeFile(path.join(dir, reportPaths.thumb(n)), thumb);

  const data: ReportImageData = {
    index: n,
    file_name: entry.name,
    width,
    height,
    photo: photoSize !== null ? reportPaths.photo(n) : null,
    photo_size: photoSize,
    sides,
  };
  await fsp.writeFile(path.join(dir, reportPaths.image(n)), dataScript('image', n, data));
  const row: ReportIndexImage = {
    name: entry.name,
    w: width,
    h: height,
    thumb: reportPaths.thumb(n),
    masks: sides.map((s) => (s.masks === null ? null : s.masks.length)),
    iou: sides.map((s, k) => (s.masks === null || unscored[k] ? null : mean(s.masks.map((m) => m.predicted_iou)))),
    cover: rles.map((r) => (r === null ? null : coverage(r, height, width))),
  };
  if (sides.length === 2) {
    row.missed = sides[0].masks?.filter((m) => m.match === -1).length ?? 0;
    row.extra = sides[1].masks?.filter((m) => m.match === -1).length ?? 0;
  }
  return row;
}

/** A mask as the page shows it; a box-prompted record has no point, the whole image as its crop, and its detection. */
function reportMask(a: SetAnnotation, width: number, height: number): ReportMask {
  // Polygon outputs are drawn through the RLE their polygons rasterise to.
  const counts = Array.isArray(a.segmentation) ? toCoco(a.rle).counts : a.segmentation.counts;
  const common = { id: a.id, counts, area: a.area, bbox: [...a.bbox] as ReportMask['bbox'], predicted_iou: a.predicted_iou, stability_score: a.stability_score };
  if (isPromptedFields(a)) {
    const prompt: NonNullable<ReportMask['prompt']> = { category_id: a.category_id, prompt_box: [...a.prompt_box], detection_id: a.detection_id };
    if (a.score !== undefined) prompt.score = a.score;
    return { ...common, point: null, crop_box: [0, 0, width, height], prompt };
  }
  return {
    ...common,
    point: a.point_coords.length > 0 ? [a.point_coords[0][0], a.point_coords[0][1]] : null,
    crop_box: [...a.crop_box],
  };
}

/** Copies compare's pairs (by annotation id) onto the masks as indices into the other side's list. */
function markMatches(match: ImageReport, a: SetImage, b: SetImage, ma: ReportMask[], mb: ReportMask[]): void {
  const indexOf = (im: SetImage): Map<number, number> => new Map(im.annotations.map((ann, i) => [ann.id, i]));
  const ia = indexOf(a);
  const ib = indexOf(b);
  for (const m of ma) m.match = -1;
  for (const m of mb) m.match = -1;
  for (const pair of match.matches) {
    const i = ia.get(pair.expected_id) as number;
    const j = ib.get(pair.actual_id) as number;
    ma[i].match = j;
    ma[i].match_iou = pair.iou;
    mb[j].match = i;
    mb[j].match_iou = pair.iou;
  }
}

function maskRecord(m: ReportMask, rle: Rle): MaskRecord {
  return {
    segmentation: rle,
    area: m.area,
    bbox: m.bbox,
    predictedIou: m.predicted_iou,
    stabilityScore: m.stability_score,
    pointCoords: m.point ?? [0, 0],
    cropBox: m.crop_box,
  };
}

/** The photo file of `name` (from the run's inputs, or under --images), or null (with a problem when it is unusable). */
async function photoFile(name: string, opts: BuildReportOptions, problem: (p: ReportProblem) => void): Promise<string | null> {
  let file = opts.photos?.get(name);
  if (file === undefined && opts.images !== undefined) {
    const root = path.resolve(opts.images);
    const candidate = path.resolve(root, name);
    if (!isInsideDir(candidate, root)) {
      problem({ file: name, stage: 'photo', message: `refusing a photo path outside --images ${opts.images}` });
      return null;
    }
    file = candidate;
  }
  if (file === undefined) return null;
  try {
    await fsp.access(file);
  } catch (err) {
    problem({ file: name, stage: 'photo', message: `no photo at ${file} (${describeFsError(err)})` });
    return null;
  }
  return file;
}

/** The photo as the run decoded it, or null (with a problem) when it is missing, unreadable or of another size. */
async function readPhoto(
  name: string,
  width: number,
  height: number,
  opts: BuildReportOptions,
  problem: (p: ReportProblem) => void,
): Promise<RgbImage | null> {
  const file = await photoFile(name, opts, problem);
  if (file === null) return null;
  let image: RgbImage;
  try {
    image = await decodeImage(file, { maxPixels: opts.maxPixels });
  } catch (err) {
    problem({ file: name, stage: 'photo', message: `${file}: ${errorMessage(err)}` });
    return null;
  }
  if (image.width !== width || image.height !== height) {
    problem({ file: name, stage: 'photo', message: `${file} is ${image.width}x${image.height} but the output says ${width}x${height}; shown without the photo` });
    return null;
  }
  return image;
}

/** A large image's photo read by region and shrunk by `scale`, or null (with a problem) as for readPhoto. */
async function readShrunkPhoto(
  name: string,
  width: number,
  height: number,
  scale: number,
  opts: BuildReportOptions,
  problem: (p: ReportProblem) => void,
): Promise<RgbImage | null> {
  const file = await photoFile(name, opts, problem);
  if (file === null) return null;
  let photo: RgbImage | string;
  try {
    photo = await shrunkPhoto(file, { width, height }, scale, { maxPixels: opts.maxPixels ?? DEFAULT_MAX_PIXELS });
  } catch (err) {
    problem({ file: name, stage: 'photo', message: `${file}: ${errorMessage(err)}` });
    return null;
  }
  if (typeof photo === 'string') {
    problem({ file: name, stage: 'photo', message: photo });
    return null;
  }
  return photo;
}
