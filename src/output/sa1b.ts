/**
 * The SA-1B layout (`--format sa1b --out DIR`): one JSON file per image, named after the image.
 */
import path from 'node:path';
import type { CocoRle } from '../rle/rle.js';
import type { BoxXYWH, GeoReference } from '../base/types.js';
import type { ImageResult } from './coco.js';
import { checkMaskSize } from './coco.js';
import { isInsideDir } from '../fs/paths.js';
import { recordFields } from './records.js';
import { geoField } from './geo.js';

/** One annotation, keys in the SA-1B release's order. */
export interface Sa1bAnnotation {
  id: number;
  segmentation: CocoRle;
  bbox: BoxXYWH;
  area: number;
  predicted_iou: number;
  point_coords: [number, number][];
  crop_box: BoxXYWH;
  stability_score: number;
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
 * The annotations of one image in SA-1B layout, ids counted from `firstId` in record order. Throws when a mask's
 * size is not the image's or a number is not finite.
 */
export function sa1bAnnotations(result: ImageResult, firstId = 1): Sa1bAnnotation[] {
  return result.records.map((record, r) => {
    const where = `${result.relPath}: record ${r}`;
    checkMaskSize(record, result, where);
    const f = recordFields(record, where);
    return {
      id: firstId + r,
      segmentation: f.segmentation,
      bbox: f.bbox,
      area: f.area,
      predicted_iou: f.predicted_iou,
      point_coords: f.point_coords,
      crop_box: f.crop_box,
      stability_score: f.stability_score,
    };
  });
}

/** The SA-1B document of one image; annotation ids count from `firstAnnotationId` (default 1, per file). */
export function sa1bDocument(result: ImageResult, imageId: number, firstAnnotationId = 1): Sa1bDocument {
  return {
    image: { image_id: imageId, width: result.width, height: result.height, file_name: result.relPath, ...geoField(result.geo) },
    annotations: sa1bAnnotations(result, firstAnnotationId),
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
  const ext = path.posix.extname(relPath);
  const stem = ext === '' ? relPath : relPath.slice(0, -ext.length);
  const root = path.resolve(outDir);
  const target = path.resolve(root, `${stem}.json`);
  if (!isInsideDir(target, root)) refuse('resolves outside the output folder');
  return target;
}
