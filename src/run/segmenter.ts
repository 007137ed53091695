/**
 * What segments one image of a batch: the automatic mask generator (the main command) or the box segmenter with the
 * image's detections (`sam-amg segment`, src/run/box-images.ts). The batch (batch.ts) decodes each image and hands it
 * over; what comes back is the image's records. Everything else of a run (journal, shards, sinks, overlays, errors)
 * is the same for both.
 */
import type { GenerateProgress, MaskGenerator } from '../amg/generator.js';
import type { RgbImage } from '../base/types.js';
import type { OutputRecord } from '../output/records.js';
import type { InputItem } from './inputs.js';

/** One image's records, and (box-prompted) the image's id in the detection file. */
export interface SegmentedImage {
  records: OutputRecord[];
  imageId?: number;
}

/** Turns a decoded image into its records. */
export interface ImageSegmenter {
  /** Prompts each image takes, for the progress display's ETA; 0 when it varies from image to image. */
  readonly promptsPerImage: number;
  /** The records of `image` (the decoded `item`), reporting progress inside the image as it goes. */
  segment(item: InputItem, image: RgbImage, onProgress: (p: GenerateProgress) => void): Promise<SegmentedImage>;
}

/** Automatic mask generation as a batch's segmenter. */
export function amgSegmenter(generator: MaskGenerator): ImageSegmenter {
  return {
    promptsPerImage: generator.promptsPerImage,
    segment: async (_item, image, onProgress) => ({ records: await generator.generate(image, { onProgress }) }),
  };
}
