/**
 * The data files of an HTML report (`sam-amg report`), shared by the Node side that writes them and the page
 * that reads them (web/report), so this module imports nothing.
 *
 * Pages opened from file:// cannot fetch() their own files, so data travels as scripts (JSONP): `data/index.js`
 * calls `samReport.index({...})` once, and `data/images/<n>.js` calls `samReport.image(n, {...})` when the page
 * adds that script, i.e. only when image n is opened.
 */

/** The global object the data scripts call. */
export const REPORT_GLOBAL = 'samReport';

/** The layout version written into the index. */
export const REPORT_VERSION = 1;

/** The marker file in every report folder: a folder holding it may be replaced by a new report. */
export const REPORT_MARKER = '.sam-amg-report';

/** Paths inside the report folder (relative, POSIX). */
export const reportPaths = {
  index: 'data/index.js',
  image: (n: number): string => `data/images/${n}.js`,
  photo: (n: number): string => `photos/${n}.jpg`,
  thumb: (n: number): string => `thumbs/${n}.jpg`,
} as const;

/** One mask as the page draws it; the RLE's size is the image's. */
export interface ReportMask {
  /** The annotation id in its file. */
  id: number;
  /** COCO compressed RLE counts. */
  counts: string;
  area: number;
  bbox: [number, number, number, number];
  predicted_iou: number;
  stability_score: number;
  /** The first prompt point, or null when the record has none. */
  point: [number, number] | null;
  crop_box: [number, number, number, number];
  /** A box-prompted record's detection (`sam-amg segment`): its category, box [x, y, w, h], id and score. */
  prompt?: { category_id: number; prompt_box: [number, number, number, number]; detection_id: number; score?: number };
  /** Two outputs: index of the matched mask in the other side's list, -1 when unmatched (missed in A, extra in B). */
  match?: number;
  /** Two outputs: IoU with the matched mask. */
  match_iou?: number;
}

/** One output's view of an image. */
export interface ReportSide {
  /** "A" / "B" or the output's name. */
  label: string;
  /** The masks in file order, or null when this output does not have the image. */
  masks: ReportMask[] | null;
}

/** `data/images/<n>.js`: everything the image view needs. */
export interface ReportImageData {
  index: number;
  file_name: string;
  width: number;
  height: number;
  /** URL of the display copy of the photo (relative to index.html), or null when there is none. */
  photo: string | null;
  /** Size of the display copy (the page stretches it over the width × height mask grid). */
  photo_size: [number, number] | null;
  sides: ReportSide[];
}

/** One output in the index header. */
export interface ReportOutput {
  label: string;
  path: string;
  format: string;
  images: number;
  masks: number;
  model: string | null;
}

/** One image in the index: what its thumbnail card shows. */
export interface ReportIndexImage {
  name: string;
  w: number;
  h: number;
  /** Thumbnail URL or null. */
  thumb: string | null;
  /** Per side: mask count, mean predicted IoU and covered fraction of the image; null where the side lacks the image. */
  masks: (number | null)[];
  iou: (number | null)[];
  cover: (number | null)[];
  /** Two outputs: masks of A without a match, masks of B without a match. */
  missed?: number;
  extra?: number;
}

/** A problem to show on the index page: a failed image of the run, or a photo the report could not use. */
export interface ReportProblem {
  file: string;
  stage: string;
  message: string;
}

/** `data/index.js`. */
export interface ReportIndex {
  version: number;
  title: string;
  outputs: ReportOutput[];
  /** Two outputs: the matching and its totals (as `sam-amg compare` counts them). */
  compare: { min_iou: number; matched: number; missed: number; extra: number; recall: number } | null;
  images: ReportIndexImage[];
  problems: ReportProblem[];
  /** Thumbnails per index page. */
  page_size: number;
}

/** The text of a data script: one call of the report global with JSON arguments. */
export function dataScript(call: 'index' | 'image', ...args: unknown[]): string {
  return `${REPORT_GLOBAL}.${call}(${args.map((a) => JSON.stringify(a)).join(',')});\n`;
}
