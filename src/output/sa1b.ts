/**
 * The SA-1B layout (`--format sa1b --out DIR`): one JSON file per image, named after the image.
 */
import path from 'node:path';
import type { GeoReference } from '../base/types.js';
import type { ImageResult } from './coco.js';
import { checkMaskSize } from './coco.js';
import { isInsideDir } from '../fs/paths.js';
import { geoField } from './geo.js';
import { isPromptedRecord, promptedFields, recordFields, type PromptedMaskFields, type RecordFields } from './records.js';
import { RLE_SEGMENTATION, type SegmentationEncoder } from './segmentation.js';

/** One annotation: an automatic mask's, or a box-prompted record's. */
export type Sa1bAnnotation = AmgSa1bAnnotation | PromptedSa1bAnnotation;

/**
 * A box-prompted record as an SA-1B annotation: id, the mask and scores (in the SA-1B order: bbox before area), then
 * the detection's category, box, id and score.
 */
export interface PromptedSa1bAnnotation extends PromptedMaskFields {
  id: number;
}

/** One automatic mask, keys in the SA-1B release's order (id, then the record's fields in theirs). */
export interface AmgSa1bAnnotation extends RecordFields {
  id: number;
}

/** The image block. */
export interface Sa1bImage {
  image_id: number;
  width: number;
  height: number;
  /** The image's path relative to the input root (SA-1B itself stores a bare name; ours may hold folders). */
  file_name: string;
  /** A GeoTIFF input's georeferencing (src/output/geo.ts). */
  geo?: GeoReference;
}

/** A whole per-image SA-1B document. */
export interface Sa1bDocument {
  image: Sa1bImage;
  annotations: Sa1bAnnotation[];
}

/**
 * The annotations of one image in SA-1B layout, ids counted from `firstId` in record order, each segmentation
 * through `encoding` (RLE by default). Throws when a mask's size is not the image's or a number is not finite.
 */
export function sa1bAnnotations(result: ImageResult, firstId = 1, encoding: SegmentationEncoder = RLE_SEGMENTATION): Sa1bAnnotation[] {
  return result.records.map((record, r) => {
    const where = `${result.relPath}: record ${r}`;
    checkMaskSize(record, result, where);
    if (isPromptedRecord(record)) {
      // SA-1B puts bbox before area; the rest as promptedFields orders them.
      const { segmentation, area, bbox, ...rest } = promptedFields(record, where, encoding);
      return { id: firstId + r, segmentation, bbox, area, ...rest };
    }
    // recordFields' keys are in the SA-1B order.
    return { id: firstId + r, ...recordFields(record, where, encoding) };
  });
}

/**
 * The SA-1B document of one image; annotation ids count from `firstAnnotationId` (default 1, per file). The image id
 * is the result's own when it has one (a box-prompted run: the detection file's), else `imageId`.
 */
export function sa1bDocument(result: ImageResult, imageId: number, firstAnnotationId = 1, encoding: SegmentationEncoder = RLE_SEGMENTATION): Sa1bDocument {
  return {
    image: { image_id: result.imageId ?? imageId, width: result.width, height: result.height, file_name: result.relPath, ...geoField(result.geo) },
    annotations: sa1bAnnotations(result, firstAnnotationId, encoding),
  };
}

/** The document as compact JSON with one annotation per line, ending with a newline. */
export function serializeSa1b(doc: Sa1bDocument): string {
  const parts = [`{"image":${JSON.stringify(doc.image)},\n"annotations":[`];
  doc.annotations.forEach((a, i) => parts.push(`${i === 0 ? '\n' : ',\n'}${JSON.stringify(a)}`));
  parts.push(doc.annotations.length === 0 ? ']}\n' : '\n]}\n');
  return parts.join('');
}

/**
 * `outDir/<relPath without its extension>.json`. Throws for any relPath that could name a file outside
 * outDir: empty, NUL, absolute (POSIX or Windows), a drive letter, or a '..' segment (with either separator),
 * and checks containment of the resolved path as a last guard.
 */
export function sa1bPathFor(outDir: string, relPath: string): string {
  return imageFilePath(outDir, relPath, '.json');
}

/**
 * The file of the image at `relPath` under `outDir`: the relative path with its extension replaced by `ext`, or kept
 * when `ext` is null. Every per-image format names its files this way, with the checks of {@link sa1bPathFor}.
 */
export function imageFilePath(outDir: string, relPath: string, ext: string | null): string {
  const refuse = (why: string): never => {
    throw new Error(`refusing output name for ${JSON.stringify(relPath)}: ${why}`);
  };
  if (relPath === '') refuse('empty path');
  if (relPath.includes('\0')) refuse('contains a NUL character');
  if (relPath.startsWith('/') || relPath.startsWith('\\') || path.isAbsolute(relPath) || path.win32.isAbsolute(relPath)) {
    refuse('absolute path');
  }
  if (/^[A-Za-z]:/u.test(relPath)) refuse('drive letter');
  if (relPath.split(/[/\\]/u).includes('..')) refuse("'..' segment");
  const old = path.posix.extname(relPath);
  const stem = old === '' || ext === null ? relPath : relPath.slice(0, -old.length);
  const root = path.resolve(outDir);
  const target = path.resolve(root, `${stem}${ext ?? ''}`);
  if (!isInsideDir(target, root)) refuse('resolves outside the output folder');
  return target;
}
