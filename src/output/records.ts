/**
 * The record fields shared by the three output formats, converted once from a MaskRecord into the
 * reference's snake_case names. Numbers are checked here because JSON.stringify would silently write
 * NaN or Infinity as null and produce a file that no reader accepts.
 */
import type { BoxXYWH, MaskRecord } from '../amg/types.js';
import { toCoco, type CocoRle } from '../rle/rle.js';

/** The output fields of one record (the SA-1B annotation without its id). */
export interface RecordFields {
  segmentation: CocoRle;
  bbox: BoxXYWH;
  area: number;
  predicted_iou: number;
  point_coords: [[number, number]];
  crop_box: BoxXYWH;
  stability_score: number;
}

/** Converts a record; throws when a number is not finite. */
export function recordFields(record: MaskRecord, where: string): RecordFields {
  return {
    segmentation: toCoco(record.segmentation),
    bbox: box(record.bbox, `${where}.bbox`),
    area: finite(record.area, `${where}.area`),
    predicted_iou: finite(record.predictedIou, `${where}.predicted_iou`),
    point_coords: [[finite(record.pointCoords[0], `${where}.point_coords`), finite(record.pointCoords[1], `${where}.point_coords`)]],
    crop_box: box(record.cropBox, `${where}.crop_box`),
    stability_score: finite(record.stabilityScore, `${where}.stability_score`),
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
  segmentation: CocoRle;
  area: number;
  bbox: BoxXYWH;
  predicted_iou: number;
  stability_score: number;
  point_coords: [number, number][];
  crop_box: BoxXYWH;
}

/** Copies an annotation's mask fields in COCO key order, dropping anything else (ids, unknown keys). */
export function pickMaskFields(a: MaskFields): MaskFields {
  return {
    segmentation: a.segmentation,
    area: a.area,
    bbox: a.bbox,
    predicted_iou: a.predicted_iou,
    stability_score: a.stability_score,
    point_coords: a.point_coords,
    crop_box: a.crop_box,
  };
}
