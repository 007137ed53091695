/**
 * Reads a sam-amg COCO document back (for compare and merge), checking its structure so that later code can
 * trust the types. Errors name the file and the JSON location (`annotations[12].bbox`).
 */
import { fromCoco } from '../rle/rle.js';
import type { BoxXYWH } from '../amg/types.js';
import type { CocoAnnotation, CocoCategory, CocoDocument, CocoImage, CocoInfo, RunError, ShardInfo } from './coco.js';

type Json = unknown;

class Invalid extends Error {}

/**
 * Parses and validates `text`. The result holds only the known keys (unknown keys are dropped), so
 * re-serializing it gives the canonical layout. Every segmentation is decoded once to check that its runs cover
 * exactly size[0]×size[1] pixels, and must match its image's height and width.
 */
export function parseCocoDocument(text: string, file: string): CocoDocument {
  let raw: Json;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  try {
    return documentOf(raw);
  } catch (err) {
    if (err instanceof Invalid) throw new Error(`${file}: not a sam-amg COCO document: ${err.message}`);
    throw err;
  }
}

function documentOf(raw: Json): CocoDocument {
  const top = object(raw, 'the top level');
  const info = infoOf(field(top, 'info', ''));
  const images = array(field(top, 'images', ''), 'images').map((v, i) => imageOf(v, `images[${i}]`));
  const byId = new Map<number, CocoImage>();
  images.forEach((im, i) => {
    if (byId.has(im.id)) throw new Invalid(`images[${i}].id: ${im.id} is used twice`);
    byId.set(im.id, im);
  });
  const categories = array(field(top, 'categories', ''), 'categories').map((v, i) => categoryOf(v, `categories[${i}]`));
  const seenAnn = new Set<number>();
  const annotations = array(field(top, 'annotations', ''), 'annotations').map((v, i) => {
    const at = `annotations[${i}]`;
    const a = annotationOf(v, at);
    if (seenAnn.has(a.id)) throw new Invalid(`${at}.id: ${a.id} is used twice`);
    seenAnn.add(a.id);
    const im = byId.get(a.image_id);
    if (!im) throw new Invalid(`${at}.image_id: no image has id ${a.image_id}`);
    if (a.segmentation.size[0] !== im.height || a.segmentation.size[1] !== im.width) {
      throw new Invalid(`${at}.segmentation.size: [${a.segmentation.size.join(', ')}] but image ${im.id} is ${im.height}x${im.width} (HxW)`);
    }
    if (!categories.some((c) => c.id === a.category_id)) throw new Invalid(`${at}.category_id: no category has id ${a.category_id}`);
    return a;
  });
  return { info, images, annotations, categories };
}

function infoOf(v: Json): CocoInfo {
  const o = object(v, 'info');
  const description = string(field(o, 'description', 'info'), 'info.description');
  const version = string(field(o, 'version', 'info'), 'info.version');
  const date = o.date_created === undefined ? undefined : string(o.date_created, 'info.date_created');
  const model = string(field(o, 'model', 'info'), 'info.model');
  const modelSha256 = string(field(o, 'model_sha256', 'info'), 'info.model_sha256');
  const options = object(field(o, 'options', 'info'), 'info.options');
  const errors = o.errors === undefined ? [] : array(o.errors, 'info.errors').map((e, i) => runErrorOf(e, `info.errors[${i}]`));
  const shard = o.shard === undefined ? undefined : shardOf(o.shard, 'info.shard');
  return {
    description,
    version,
    ...(date === undefined ? {} : { date_created: date }),
    model,
    model_sha256: modelSha256,
    options,
    ...(shard === undefined ? {} : { shard }),
    ...(errors.length > 0 ? { errors } : {}),
  };
}

function shardOf(v: Json, at: string): ShardInfo {
  const o = object(v, at);
  const shard = {
    index: nonNegativeInt(field(o, 'index', at), `${at}.index`),
    count: positiveInt(field(o, 'count', at), `${at}.count`),
    images: nonNegativeInt(field(o, 'images', at), `${at}.images`),
    total: nonNegativeInt(field(o, 'total', at), `${at}.total`),
  };
  if (shard.index >= shard.count) throw new Invalid(`${at}.index: ${shard.index} is not below count ${shard.count}`);
  if (shard.images > shard.total) throw new Invalid(`${at}.images: ${shard.images} is more than total ${shard.total}`);
  return shard;
}

function runErrorOf(v: Json, at: string): RunError {
  const o = object(v, at);
  return {
    file: string(field(o, 'file', at), `${at}.file`),
    stage: string(field(o, 'stage', at), `${at}.stage`),
    message: string(field(o, 'message', at), `${at}.message`),
  };
}

function imageOf(v: Json, at: string): CocoImage {
  const o = object(v, at);
  return {
    id: positiveInt(field(o, 'id', at), `${at}.id`),
    file_name: string(field(o, 'file_name', at), `${at}.file_name`),
    width: positiveInt(field(o, 'width', at), `${at}.width`),
    height: positiveInt(field(o, 'height', at), `${at}.height`),
  };
}

function categoryOf(v: Json, at: string): CocoCategory {
  const o = object(v, at);
  return { id: positiveInt(field(o, 'id', at), `${at}.id`), name: string(field(o, 'name', at), `${at}.name`) };
}

function annotationOf(v: Json, at: string): CocoAnnotation {
  const o = object(v, at);
  const categoryId = field(o, 'category_id', at);
  if (categoryId !== 1) throw new Invalid(`${at}.category_id: expected 1, got ${JSON.stringify(categoryId)}`);
  const iscrowd = field(o, 'iscrowd', at);
  if (iscrowd !== 0) throw new Invalid(`${at}.iscrowd: expected 0, got ${JSON.stringify(iscrowd)}`);
  return {
    id: positiveInt(field(o, 'id', at), `${at}.id`),
    image_id: positiveInt(field(o, 'image_id', at), `${at}.image_id`),
    category_id: 1,
    iscrowd: 0,
    segmentation: segmentationOf(field(o, 'segmentation', at), `${at}.segmentation`),
    area: nonNegativeInt(field(o, 'area', at), `${at}.area`),
    bbox: boxOf(field(o, 'bbox', at), `${at}.bbox`),
    predicted_iou: number(field(o, 'predicted_iou', at), `${at}.predicted_iou`),
    stability_score: number(field(o, 'stability_score', at), `${at}.stability_score`),
    point_coords: array(field(o, 'point_coords', at), `${at}.point_coords`).map((p, i) => pointOf(p, `${at}.point_coords[${i}]`)),
    crop_box: boxOf(field(o, 'crop_box', at), `${at}.crop_box`),
  };
}

function segmentationOf(v: Json, at: string): { size: [number, number]; counts: string } {
  const o = object(v, at);
  const size = array(field(o, 'size', at), `${at}.size`);
  if (size.length !== 2) throw new Invalid(`${at}.size: expected [height, width]`);
  const h = positiveInt(size[0], `${at}.size[0]`);
  const w = positiveInt(size[1], `${at}.size[1]`);
  const counts = string(field(o, 'counts', at), `${at}.counts`);
  try {
    fromCoco({ size: [h, w], counts });
  } catch (err) {
    throw new Invalid(`${at}.counts: ${err instanceof Error ? err.message : String(err)}`);
  }
  return { size: [h, w], counts };
}

function boxOf(v: Json, at: string): BoxXYWH {
  const a = array(v, at);
  if (a.length !== 4) throw new Invalid(`${at}: expected [x, y, w, h]`);
  return [number(a[0], `${at}[0]`), number(a[1], `${at}[1]`), number(a[2], `${at}[2]`), number(a[3], `${at}[3]`)];
}

function pointOf(v: Json, at: string): [number, number] {
  const a = array(v, at);
  if (a.length !== 2) throw new Invalid(`${at}: expected [x, y]`);
  return [number(a[0], `${at}[0]`), number(a[1], `${at}[1]`)];
}

function object(v: Json, at: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Invalid(`${at}: expected an object`);
  return v as Record<string, unknown>;
}

function field(o: Record<string, unknown>, key: string, at: string): Json {
  if (!(key in o)) throw new Invalid(`${at === '' ? key : `${at}.${key}`}: missing`);
  return o[key];
}

function array(v: Json, at: string): unknown[] {
  if (!Array.isArray(v)) throw new Invalid(`${at}: expected an array`);
  return v;
}

function string(v: Json, at: string): string {
  if (typeof v !== 'string') throw new Invalid(`${at}: expected a string`);
  return v;
}

function number(v: Json, at: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Invalid(`${at}: expected a number`);
  return v;
}

function nonNegativeInt(v: Json, at: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw new Invalid(`${at}: expected a non-negative integer`);
  return v as number;
}

function positiveInt(v: Json, at: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 1) throw new Invalid(`${at}: expected a positive integer`);
  return v as number;
}
