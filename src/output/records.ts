/**
 * The record fields shared by the three output formats and the journal, in both directions: converted once from a
 * MaskRecord into the reference's snake_case names (numbers are checked here because JSON.stringify would silently
 * write NaN or Infinity as null and produce a file that no reader accepts), and read back by the one record parser
 * every reader uses ({@link parseMaskFields}), which checks that the fields agree with the mask.
 *
 * Two kinds of record: automatic masks (MaskRecord: a prompt point and a crop box) and box-prompted masks
 * (PromptedRecord, `sam-amg segment`: the detection's category, box, id and score instead; ../../shared/spec/prompted.md).
 * The kind is a per-record matter: a record with a `promptBox` (written `prompt_box`) is prompted. Only the fields
 * differ; the mask (`segmentation`, `area`, `bbox`) and the scores are the same in both.
 */
import type { BoxXYWH, MaskRecord } from '../base/types.js';
import type { PromptedRecord } from '../prompt/box-segmenter.js';
import { rleFromPolygons } from '../polygon/index.js';
import { fromCoco, rleArea, rleBoxXYXY, type Rle } from '../rle/rle.js';
import { errorMessage } from '../base/errors.js';
import { RLE_SEGMENTATION, type PolygonLoss, type Segmentation, type SegmentationEncoder } from './segmentation.js';

/** The output fields of one record (the SA-1B annotation without its id). */
export interface RecordFields {
  segmentation: Segmentation;
  bbox: BoxXYWH;
  area: number;
  predicted_iou: number;
  point_coords: [[number, number]];
  crop_box: BoxXYWH;
  stability_score: number;
  /** Polygon segmentations only, when simplification dropped something (src/output/segmentation.ts). */
  polygon_loss?: PolygonLoss;
}

/** A record of either kind: automatic (MaskRecord) or box-prompted (PromptedRecord). */
export type OutputRecord = MaskRecord | PromptedRecord;

/** Whether a record is box-prompted (it carries its detection's fields instead of a prompt point and crop box). */
export function isPromptedRecord(r: OutputRecord): r is PromptedRecord {
  return 'promptBox' in r;
}

/**
 * The output fields of a box-prompted record, as the reference writes them (prompted.md "Records"): the mask and
 * scores, then the detection's category, box, id and (when it has one) score. Also the parsed form.
 */
export interface PromptedMaskFields {
  segmentation: Segmentation;
  area: number;
  bbox: BoxXYWH;
  predicted_iou: number;
  stability_score: number;
  category_id: number;
  prompt_box: BoxXYWH;
  detection_id: number;
  score?: number;
  /** Polygon segmentations only, when simplification dropped something (src/output/segmentation.ts). */
  polygon_loss?: PolygonLoss;
}

/** Converts a box-prompted record; throws when a number is not finite. */
export function promptedFields(record: PromptedRecord, where: string, encoding: SegmentationEncoder = RLE_SEGMENTATION): PromptedMaskFields {
  const seg = encoding.encode(record);
  return {
    segmentation: seg.segmentation,
    area: finite(record.area, `${where}.area`),
    bbox: box(record.bbox, `${where}.bbox`),
    predicted_iou: finite(record.predictedIou, `${where}.predicted_iou`),
    stability_score: finite(record.stabilityScore, `${where}.stability_score`),
    category_id: finite(record.categoryId, `${where}.category_id`),
    prompt_box: box(record.promptBox, `${where}.prompt_box`),
    detection_id: finite(record.detectionId, `${where}.detection_id`),
    ...(record.score !== undefined ? { score: finite(record.score, `${where}.score`) } : {}),
    ...(seg.polygon_loss ? { polygon_loss: seg.polygon_loss } : {}),
  };
}

/** The output fields of a record of either kind (the journal's form). */
export function outputFields(record: OutputRecord, where: string, encoding: SegmentationEncoder = RLE_SEGMENTATION): RecordFields | PromptedMaskFields {
  return isPromptedRecord(record) ? promptedFields(record, where, encoding) : recordFields(record, where, encoding);
}

/** The mask fields of a parsed annotation of either kind. */
export type AnyMaskFields = MaskFields | PromptedMaskFields;

/** Whether parsed fields are a box-prompted record's. */
export function isPromptedFields(f: AnyMaskFields): f is PromptedMaskFields {
  return 'prompt_box' in f;
}

/**
 * Converts a record; throws when a number is not finite. The segmentation goes through `encoding` (RLE unless the
 * output writes polygons); area and bbox are always the mask's.
 */
export function recordFields(record: MaskRecord, where: string, encoding: SegmentationEncoder = RLE_SEGMENTATION): RecordFields {
  const seg = encoding.encode(record);
  return {
    segmentation: seg.segmentation,
    bbox: box(record.bbox, `${where}.bbox`),
    area: finite(record.area, `${where}.area`),
    predicted_iou: finite(record.predictedIou, `${where}.predicted_iou`),
    point_coords: [[finite(record.pointCoords[0], `${where}.point_coords`), finite(record.pointCoords[1], `${where}.point_coords`)]],
    crop_box: box(record.cropBox, `${where}.crop_box`),
    stability_score: finite(record.stabilityScore, `${where}.stability_score`),
    ...(seg.polygon_loss ? { polygon_loss: seg.polygon_loss } : {}),
  };
}

/** `n` itself, or an Error naming `where` when it is NaN or infinite. */
export function finite(n: number, where: string): number {
  if (!Number.isFinite(n)) throw new Error(`${where} is ${n}; output needs finite numbers`);
  return n;
}

function box(b: BoxXYWH, where: string): BoxXYWH {
  return [finite(b[0], where), finite(b[1], where), finite(b[2], where), finite(b[3], where)];
}

/** The mask fields of a parsed annotation in any of the three formats. */
export interface MaskFields {
  /** As written: compressed RLE, or COCO polygon lists (`--segmentation polygon`). */
  segmentation: Segmentation;
  area: number;
  bbox: BoxXYWH;
  predicted_iou: number;
  stability_score: number;
  point_coords: [number, number][];
  crop_box: BoxXYWH;
  polygon_loss?: PolygonLoss;
}

/** Copies an annotation's mask fields in COCO key order, dropping anything else (ids, unknown keys). */
export function pickMaskFields(a: MaskFields): MaskFields;
export function pickMaskFields(a: AnyMaskFields): AnyMaskFields;
export function pickMaskFields(a: AnyMaskFields): AnyMaskFields {
  if (isPromptedFields(a)) return pickPromptedFields(a);
  return {
    segmentation: a.segmentation,
    area: a.area,
    bbox: a.bbox,
    predicted_iou: a.predicted_iou,
    stability_score: a.stability_score,
    point_coords: a.point_coords,
    crop_box: a.crop_box,
    ...(a.polygon_loss ? { polygon_loss: { ...a.polygon_loss } } : {}),
  };
}

/** A prompted annotation's fields in COCO key order (the reference's), dropping anything else. */
export function pickPromptedFields(a: PromptedMaskFields): PromptedMaskFields {
  return {
    segmentation: a.segmentation,
    area: a.area,
    bbox: a.bbox,
    predicted_iou: a.predicted_iou,
    stability_score: a.stability_score,
    category_id: a.category_id,
    prompt_box: a.prompt_box,
    detection_id: a.detection_id,
    ...(a.score !== undefined ? { score: a.score } : {}),
    ...(a.polygon_loss ? { polygon_loss: { ...a.polygon_loss } } : {}),
  };
}

/** Text that is not what sam-amg writes; the message names the JSON location (`annotations[3].area: …`). */
export class FormatError extends Error {
  override name = 'FormatError';
}

/** A parsed record: its fields and its decoded mask (runs, never a bitmap). */
export interface ParsedMask {
  fields: AnyMaskFields;
  rle: Rle;
}

/**
 * Reads the mask fields of one record of any output format or the journal, at JSON location `at`, for an image
 * of `image.width`×`image.height`. Checks every type, that `point_coords` holds at least one point and `crop_box`
 * four numbers — or, for a box-prompted record (one with a `prompt_box`), that `category_id` and `detection_id` are
 * integers, `prompt_box` four numbers and `score`, when present, a number. An RLE segmentation must be the image's
 * size with counts covering exactly its pixels, `area` the number of mask pixels and `bbox` the mask's box (XYWH,
 * w = max x − min x, the reference's convention; [0, 0, 0, 0] for an empty mask). A polygon segmentation (COCO lists)
 * is rasterised with the COCO API's rule; its `area` and `bbox` are the mask's the polygons were made from, so they
 * are only type-checked (filled holes and simplification make them differ from the polygons'). Unknown keys are
 * dropped. Throws {@link FormatError}.
 */
export function parseMaskFields(raw: unknown, at: string, image: { width: number; height: number }): ParsedMask {
  const o = objectAt(raw, at);
  const segRaw = fieldAt(o, 'segmentation', at);
  if (Array.isArray(segRaw)) {
    const polygons = polygonListsAt(segRaw, `${at}.segmentation`);
    let rle: Rle;
    try {
      rle = rleFromPolygons(polygons, image.height, image.width);
    } catch (err) {
      throw new FormatError(`${at}.segmentation: ${errorMessage(err)}`);
    }
    return withMask(o, at, polygons, rle, false);
  }
  const seg = objectAt(segRaw, `${at}.segmentation`);
  const size = arrayAt(fieldAt(seg, 'size', `${at}.segmentation`), `${at}.segmentation.size`);
  if (size.length !== 2) throw new FormatError(`${at}.segmentation.size: expected [height, width]`);
  const h = positiveIntAt(size[0], `${at}.segmentation.size[0]`);
  const w = positiveIntAt(size[1], `${at}.segmentation.size[1]`);
  if (h !== image.height || w !== image.width) {
    throw new FormatError(`${at}.segmentation.size: [${h}, ${w}] but the image is ${image.height}x${image.width} (HxW)`);
  }
  const counts = fieldAt(seg, 'counts', `${at}.segmentation`);
  if (typeof counts !== 'string') throw new FormatError(`${at}.segmentation.counts: expected a string`);
  let rle: Rle;
  try {
    rle = fromCoco({ size: [h, w], counts });
  } catch (err) {
    throw new FormatError(`${at}.segmentation.counts: ${errorMessage(err)}`);
  }
  return withMask(o, at, { size: [h, w], counts }, rle, true);
}

/**
 * The fields of a record whose mask is known (`rle`, decoded from `segmentation` or rasterised from a polygon
 * format), with `area` and `bbox` checked against it when `exact` (RLE), else only type-checked.
 */
export function withMask(o: Record<string, unknown>, at: string, segmentation: Segmentation, rle: Rle, exact: boolean): ParsedMask {
  const area = nonNegativeIntAt(fieldAt(o, 'area', at), `${at}.area`);
  const bbox = boxAt(fieldAt(o, 'bbox', at), `${at}.bbox`);
  if (exact) {
    const pixels = rleArea(rle);
    if (area !== pixels) throw new FormatError(`${at}.area: ${area} but the mask has ${pixels} pixels`);
    const [x0, y0, x1, y1] = rleBoxXYXY(rle);
    const box: BoxXYWH = [x0, y0, x1 - x0, y1 - y0];
    if (bbox.some((v, i) => v !== box[i])) {
      throw new FormatError(`${at}.bbox: [${bbox.join(', ')}] but the mask's box is [${box.join(', ')}]`);
    }
  }
  const scores = {
    predicted_iou: numberAt(fieldAt(o, 'predicted_iou', at), `${at}.predicted_iou`),
    stability_score: numberAt(fieldAt(o, 'stability_score', at), `${at}.stability_score`),
  };
  if (Object.hasOwn(o, 'prompt_box')) {
    const loss = o.polygon_loss === undefined ? undefined : polygonLossAt(o.polygon_loss, `${at}.polygon_loss`);
    const fields: PromptedMaskFields = {
      segmentation,
      area,
      bbox,
      ...scores,
      category_id: integerAt(fieldAt(o, 'category_id', at), `${at}.category_id`),
      prompt_box: boxAt(o.prompt_box, `${at}.prompt_box`),
      detection_id: integerAt(fieldAt(o, 'detection_id', at), `${at}.detection_id`),
    };
    if (o.score !== undefined) fields.score = numberAt(o.score, `${at}.score`);
    if (loss) fields.polygon_loss = loss;
    return { fields, rle };
  }
  const points = arrayAt(fieldAt(o, 'point_coords', at), `${at}.point_coords`);
  if (points.length === 0) throw new FormatError(`${at}.point_coords: expected at least one [x, y]`);
  const loss = o.polygon_loss === undefined ? undefined : polygonLossAt(o.polygon_loss, `${at}.polygon_loss`);
  const fields: MaskFields = {
    segmentation,
    area,
    bbox,
    ...scores,
    point_coords: points.map((p, i) => pointAt(p, `${at}.point_coords[${i}]`)),
    crop_box: boxAt(fieldAt(o, 'crop_box', at), `${at}.crop_box`),
    ...(loss ? { polygon_loss: loss } : {}),
  };
  return { fields, rle };
}

/** COCO polygon lists: each an array of at least 3 x, y pairs of finite numbers (never the 4 numbers of a box). */
function polygonListsAt(v: unknown[], at: string): number[][] {
  return v.map((list, i) => {
    const a = arrayAt(list, `${at}[${i}]`);
    if (a.length % 2 !== 0 || a.length < 6) throw new FormatError(`${at}[${i}]: expected at least 3 x, y pairs, got ${a.length} numbers`);
    return a.map((n, k) => numberAt(n, `${at}[${i}][${k}]`));
  });
}

function polygonLossAt(v: unknown, at: string): PolygonLoss {
  const o = objectAt(v, at);
  const n = (k: keyof PolygonLoss): number => nonNegativeIntAt(fieldAt(o, k, at), `${at}.${k}`);
  return {
    dropped_polygons: n('dropped_polygons'),
    dropped_holes: n('dropped_holes'),
    vanished_parts: n('vanished_parts'),
    lost_pixels: n('lost_pixels'),
    added_pixels: n('added_pixels'),
  };
}

/**
 * The record of parsed fields (the inverse of {@link recordFields}; the first prompt point), or of a prompted
 * record's (the inverse of {@link promptedFields}), which belongs to the image with id `imageId`.
 */
export function maskRecordOf(p: ParsedMask & { fields: MaskFields }): MaskRecord;
export function maskRecordOf(p: ParsedMask, imageId?: number): OutputRecord;
export function maskRecordOf(p: ParsedMask, imageId = 0): OutputRecord {
  const f = p.fields;
  if (isPromptedFields(f)) {
    const record: PromptedRecord = {
      segmentation: p.rle,
      area: f.area,
      bbox: f.bbox,
      predictedIou: f.predicted_iou,
      stabilityScore: f.stability_score,
      imageId,
      categoryId: f.category_id,
      promptBox: f.prompt_box,
      detectionId: f.detection_id,
    };
    if (f.score !== undefined) record.score = f.score;
    return record;
  }
  return {
    segmentation: p.rle,
    area: f.area,
    bbox: f.bbox,
    predictedIou: f.predicted_iou,
    pointCoords: [f.point_coords[0][0], f.point_coords[0][1]],
    stabilityScore: f.stability_score,
    cropBox: f.crop_box,
  };
}

/** Field readers shared by the document parsers: each throws a FormatError naming the location. */
export function objectAt(v: unknown, at: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new FormatError(`${at}: expected an object`);
  return v as Record<string, unknown>;
}

export function fieldAt(o: Record<string, unknown>, key: string, at: string): unknown {
  if (!Object.hasOwn(o, key)) throw new FormatError(`${at === '' ? key : `${at}.${key}`}: missing`);
  return o[key];
}

export function arrayAt(v: unknown, at: string): unknown[] {
  if (!Array.isArray(v)) throw new FormatError(`${at}: expected an array`);
  return v;
}

export function stringAt(v: unknown, at: string): string {
  if (typeof v !== 'string') throw new FormatError(`${at}: expected a string`);
  return v;
}

export function numberAt(v: unknown, at: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new FormatError(`${at}: expected a number`);
  return v;
}

export function nonNegativeIntAt(v: unknown, at: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw new FormatError(`${at}: expected a non-negative integer`);
  return v as number;
}

export function integerAt(v: unknown, at: string): number {
  if (!Number.isSafeInteger(v)) throw new FormatError(`${at}: expected an integer`);
  return v as number;
}

export function positiveIntAt(v: unknown, at: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 1) throw new FormatError(`${at}: expected a positive integer`);
  return v as number;
}

function boxAt(v: unknown, at: string): BoxXYWH {
  const a = arrayAt(v, at);
  if (a.length !== 4) throw new FormatError(`${at}: expected [x, y, w, h]`);
  return [numberAt(a[0], `${at}[0]`), numberAt(a[1], `${at}[1]`), numberAt(a[2], `${at}[2]`), numberAt(a[3], `${at}[3]`)];
}

function pointAt(v: unknown, at: string): [number, number] {
  const a = arrayAt(v, at);
  if (a.length !== 2) throw new FormatError(`${at}: expected [x, y]`);
  return [numberAt(a[0], `${at}[0]`), numberAt(a[1], `${at}[1]`)];
}
