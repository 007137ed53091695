/** SA-1B (`--format sa1b`): `<dir>/<relPath without extension>.json` per image, image_id = output position + 1. */
import { sa1bDocument, sa1bPathFor, serializeSa1b } from '../sa1b.js';
import { RLE_SEGMENTATION, type SegmentationEncoder } from '../segmentation.js';
import { writeImageFile, type ImageFileFormat } from './per-image.js';

/** The SA-1B per-image files, each record's segmentation through `encoding` (RLE by default). */
export function sa1bFiles(encoding: SegmentationEncoder = RLE_SEGMENTATION): ImageFileFormat {
  return {
    format: 'sa1b',
    maskIdBase: 1,
    pathFor: sa1bPathFor,
    doneMarker: (file) => file,
    async write(file, result, index) {
      await writeImageFile(file, serializeSa1b(sa1bDocument(result, index + 1, 1, encoding)));
    },
    notes: () => encoding.notes?.() ?? [],
  };
}

/** The SA-1B per-image files with RLE segmentations. */
export const SA1B_FILES: ImageFileFormat = sa1bFiles();
