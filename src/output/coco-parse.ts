/**
 * Reads a sam-amg COCO document back (for compare, merge and the output check), checking its structure so that
 * later code can trust the types. Records go through the one record parser of every format
 * ({@link parseMaskFields}): area and bbox must agree with the RLE. Errors name the file and the JSON location
 * (`annotations[12].bbox`).
 */
import type { Rle } from '../base/types.js';
import { isPromptedOptions, type CocoAnnotation, type CocoCategory, type CocoDocument, type CocoImage, type CocoInfo, type RunError, type ShardInfo } from './coco.js';
import {
  arrayAt as array,
  fieldAt as field,
  FormatError,
  integerAt as integer,
  isPromptedFields,
  nonNegativeIntAt as nonNegativeInt,
  objectAt as object,
  parseMaskFields,
  positiveIntAt as positiveInt,
  stringAt as string,
} from './records.js';
import { errorMessage } from '../base/errors.js';
import type { SegmentationInfo } from './segmentation.js';
import { geoField, parseGeo } from './geo.js';

/**
 * Parses and validates `text`. The result holds only the known keys (unknown keys are dropped), so
 * re-serializing it gives the canonical layout. Every segmentation is decoded once to check that its runs cover
 * exactly size[0]×size[1] pixels, match its image's height and width, and agree with area and bbox.
 */
export function parseCocoDocument(text: string, file: string): CocoDocument {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new FormatError(`${file}: not valid JSON: ${errorMessage(err)}`, { cause: err });
  }
  return cocoDocumentOf(raw, file);
}

/** Validates an already parsed document (see {@link parseCocoDocument}). */
export function cocoDocumentOf(raw: unknown, file: string): CocoDocument {
  return cocoDocumentWithMasks(raw, file).document;
}

/**
 * Validates an already parsed document and keeps the masks the check decoded: `masks[i]` is the RLE of
 * `document.annotations[i]`, so that readers (compare, merge, report) never decode a mask a second time.
 */
export function cocoDocumentWithMasks(raw: unknown, file: string): { document: CocoDocument; masks: Rle[] } {
  const masks: Rle[] = [];
  try {
    return { document: documentOf(raw, masks), masks };
  } catch (err) {
    if (err instanceof FormatError) throw new FormatError(`${file}: not a sam-amg COCO document: ${err.message}`);
    throw err;
  }
}

/** Validates an info block alone (SA-1B and JSONL outputs may carry one in an info record). */
export function parseCocoInfo(raw: unknown, at: string): CocoInfo {
  return infoOf(raw, at);
}

/**
 * The document; every annotation's decoded mask is pushed onto `masks`, in order. A box-prompted run's document
 * (its options say so) holds only prompted annotations, with any integer category_id, and keeps its categories as
 * the detection file gave them; an automatic run's holds only category-1 masks.
 */
function documentOf(raw: unknown, masks: Rle[]): CocoDocument {
  const top = object(raw, 'the top level');
  const info = infoOf(field(top, 'info', ''), 'info');
  const prompted = isPromptedOptions(info.options);
  const images = array(field(top, 'images', ''), 'images').map((v, i) => imageOf(v, `images[${i}]`));
  const byId = new Map<number, CocoImage>();
  images.forEach((im, i) => {
    if (byId.has(im.id)) throw new FormatError(`images[${i}].id: ${im.id} is used twice`);
    byId.set(im.id, im);
  });
  const categories = array(field(top, 'categories', ''), 'categories').map((v, i) => (prompted ? givenCategoryOf : categoryOf)(v, `categories[${i}]`));
  const seenAnn = new Set<number>();
  const annotations = array(field(top, 'annotations', ''), 'annotations').map((v, i) => {
    const at = `annotations[${i}]`;
    const o = object(v, at);
    const id = positiveInt(field(o, 'id', at), `${at}.id`);
    if (seenAnn.has(id)) throw new FormatError(`${at}.id: ${id} is used twice`);
    seenAnn.add(id);
    const imageId = positiveInt(field(o, 'image_id', at), `${at}.image_id`);
    const im = byId.get(imageId);
    if (!im) throw new FormatError(`${at}.image_id: no image has id ${imageId}`);
    const iscrowd = field(o, 'iscrowd', at);
    if (iscrowd !== 0) throw new FormatError(`${at}.iscrowd: expected 0, got ${JSON.stringify(iscrowd)}`);
    const parsed = parseMaskFields(o, at, im);
    const f = parsed.fields;
    if (isPromptedFields(f) !== prompted) {
      throw new FormatError(`${at}: ${prompted ? 'an automatic mask (no prompt_box) in a box-prompted' : 'a box-prompted record (prompt_box) in an automatic-mask'} output`);
    }
    masks.push(parsed.rle);
    if (isPromptedFields(f)) return { id, image_id: imageId, iscrowd: 0, ...f } satisfies CocoAnnotation;
    const categoryId = field(o, 'category_id', at);
    if (categoryId !== 1) throw new FormatError(`${at}.category_id: expected 1, got ${JSON.stringify(categoryId)}`);
    if (!categories.some((c) => c.id === 1)) throw new FormatError(`${at}.category_id: no category has id 1`);
    const a: CocoAnnotation = { id, image_id: imageId, category_id: 1, iscrowd: 0, ...f };
    return a;
  });
  return { info, images, annotations, categories };
}

function infoOf(v: unknown, at: string): CocoInfo {
  const o = object(v, at);
  const description = string(field(o, 'description', at), `${at}.description`);
  const version = string(field(o, 'version', at), `${at}.version`);
  const date = o.date_created === undefined ? undefined : string(o.date_created, `${at}.date_created`);
  const model = string(field(o, 'model', at), `${at}.model`);
  const modelSha256 = string(field(o, 'model_sha256', at), `${at}.model_sha256`);
  const options = object(field(o, 'options', at), `${at}.options`);
  const errors = o.errors === undefined ? [] : array(o.errors, `${at}.errors`).map((e, i) => runErrorOf(e, `${at}.errors[${i}]`));
  const shard = o.shard === undefined ? undefined : shardOf(o.shard, `${at}.shard`);
  const segmentation = o.segmentation === undefined ? undefined : segmentationInfoOf(o.segmentation, `${at}.segmentation`);
  return {
    description,
    version,
    ...(date === undefined ? {} : { date_created: date }),
    model,
    model_sha256: modelSha256,
    options,
    ...(segmentation === undefined ? {} : { segmentation }),
    ...(shard === undefined ? {} : { shard }),
    ...(errors.length > 0 ? { errors } : {}),
  };
}

function segmentationInfoOf(v: unknown, at: string): SegmentationInfo {
  const o = object(v, at);
  const type = field(o, 'type', at);
  if (type !== 'polygon') throw new FormatError(`${at}.type: expected "polygon", got ${JSON.stringify(type)}`);
  const tolerance = field(o, 'tolerance', at);
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) throw new FormatError(`${at}.tolerance: expected a number ≥ 0`);
  const holes = field(o, 'holes', at);
  if (holes !== 'fill' && holes !== 'rle' && holes !== 'rings') throw new FormatError(`${at}.holes: expected "fill", "rle" or "rings"`);
  return { type, tolerance, holes };
}

function shardOf(v: unknown, at: string): ShardInfo {
  const o = object(v, at);
  const shard = {
    index: nonNegativeInt(field(o, 'index', at), `${at}.index`),
    count: positiveInt(field(o, 'count', at), `${at}.count`),
    images: nonNegativeInt(field(o, 'images', at), `${at}.images`),
    total: nonNegativeInt(field(o, 'total', at), `${at}.total`),
  };
  if (shard.index >= shard.count) throw new FormatError(`${at}.index: ${shard.index} is not below count ${shard.count}`);
  if (shard.images > shard.total) throw new FormatError(`${at}.images: ${shard.images} is more than total ${shard.total}`);
  return shard;
}

function runErrorOf(v: unknown, at: string): RunError {
  const o = object(v, at);
  return {
    file: string(field(o, 'file', at), `${at}.file`),
    stage: string(field(o, 'stage', at), `${at}.stage`),
    message: string(field(o, 'message', at), `${at}.message`),
  };
}

function imageOf(v: unknown, at: string): CocoImage {
  const o = object(v, at);
  return {
    id: positiveInt(field(o, 'id', at), `${at}.id`),
    file_name: string(field(o, 'file_name', at), `${at}.file_name`),
    width: positiveInt(field(o, 'width', at), `${at}.width`),
    height: positiveInt(field(o, 'height', at), `${at}.height`),
    ...geoField(parseGeo(o, at)),
  };
}

function categoryOf(v: unknown, at: string): CocoCategory {
  const o = object(v, at);
  return { id: positiveInt(field(o, 'id', at), `${at}.id`), name: string(field(o, 'name', at), `${at}.name`) };
}

/** A box-prompted output's category: a detection file's entry, as given (an integer id; a name when it has one). */
function givenCategoryOf(v: unknown, at: string): CocoCategory {
  const o = object(v, at);
  integer(field(o, 'id', at), `${at}.id`);
  if (o.name !== undefined) string(o.name, `${at}.name`);
  return { ...o } as CocoCategory;
}
