/** SA-1B (`--format sa1b`): `<dir>/<relPath without extension>.json` per image, image_id = output position + 1. */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../fs/atomic.js';
import { sa1bDocument, sa1bPathFor, serializeSa1b } from '../sa1b.js';
import { RLE_SEGMENTATION, type SegmentationEncoder } from '../segmentation.js';
import type { ImageFileFormat } from './per-image.js';

/** The SA-1B per-image files, each record's segmentation through `encoding` (RLE by default). */
export function sa1bFiles(encoding: SegmentationEncoder = RLE_SEGMENTATION): ImageFileFormat {
  return {
    format: 'sa1b',
    maskIdBase: 1,
    pathFor: sa1bPathFor,
    doneMarker: (file) => file,
    async write(file, result, index) {
      await fsp.mkdir(path.dirname(file), { recursive: true });
      await writeFileAtomic(file, serializeSa1b(sa1bDocument(result, index + 1, 1, encoding)));
    },
    notes: () => encoding.notes?.() ?? [],
  };
}

/** The SA-1B per-image files with RLE segmentations. */
export const SA1B_FILES: ImageFileFormat = sa1bFiles();
