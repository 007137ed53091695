/**
 * What segments one image of a batch: the automatic mask generator (the main command) or the box segmenter with the
 * image's detections (`sam-amg segment`, src/run/box-images.ts). The batch (batch.ts) decodes each image and hands it
 * over — or, in a tiled run, opens it as a region source that the generator reads tile by tile; what comes back is
 * the image's records. Everything else of a run (journal, shards, sinks, overlays, errors) is the same for all.
 */
import type { GenerateOptions, GenerateProgress, MaskGenerator } from '../amg/generator.js';
import type { MaskRecord, RgbImage } from '../base/types.js';
import { tileCount } from '../crop/tiles.js';
import type { ImageSource } from '../image/source.js';
import type { OutputRecord } from '../output/records.js';
import type { InputItem } from './inputs.js';

/** One image's records, and (box-prompted) the image's id in the detection file. */
export interface SegmentedImage {
  records: OutputRecord[];
  imageId?: number;
}

/** Segments an image read region by region (tiled runs, `--tile`): never holds it whole. */
export interface TiledSegmenter {
  segmentSource(source: ImageSource, opts: GenerateOptions): Promise<MaskRecord[]>;
  /** Tiles of a width × height image (the journal keeps them one by one). */
  tileCount(width: number, height: number): number;
}

/** Turns a decoded image into its records. */
export interface ImageSegmenter {
  /** Prompts each image takes, for the progress display's ETA; 0 when it varies from image to image. */
  readonly promptsPerImage: number;
  /** The records of `image` (the decoded `item`), reporting progress inside the image as it goes. */
  segment(item: InputItem, image: RgbImage, onProgress: (p: GenerateProgress) => void): Promise<SegmentedImage>;
  /** Set when images are read tile by tile instead (then `segment` is not called). */
  readonly tiled?: TiledSegmenter;
}

/** Automatic mask generation as a batch's segmenter (tiled when the generator's `tile` is set). */
export function amgSegmenter(generator: MaskGenerator): ImageSegmenter {
  const { tile, tileOverlap } = generator.options;
  const overlap = tileOverlap ?? 0;
  return {
    promptsPerImage: generator.promptsPerImage,
    segment: async (_item, image, onProgress) => ({ records: await generator.generate(image, { onProgress }) }),
    ...(tile !== null ? { tiled: { segmentSource: (source, opts) => generator.generate(source, opts), tileCount: (w, h) => tileCount(w, h, tile, overlap) } } : {}),
  };
}
