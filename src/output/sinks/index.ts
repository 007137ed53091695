/** The sink of each output format, built the same way for a run and for `sam-amg merge`. */
import type { CocoCategory, RunInfo } from '../coco.js';
import { geoJsonPathFor } from '../geojson.js';
import { sa1bPathFor } from '../sa1b.js';
import { CocoPolygonEncoder, DEFAULT_POLYGON_TOLERANCE, RLE_SEGMENTATION, type PolygonOptions, type SegmentationEncoder } from '../segmentation.js';
import type { OutputFormat, OutputSink } from '../sink.js';
import { yoloLabelPathFor, type YoloClasses } from '../yolo.js';
import { AMG_PNG_FILES } from './amg-png.js';
import { CocoSink } from './coco.js';
import { geoJsonFiles } from './geojson.js';
import { JsonlSink } from './jsonl.js';
import { PerImageSink } from './per-image.js';
import { sa1bFiles } from './sa1b.js';
import { yoloFiles } from './yolo.js';

export { errorsPathFor, writeErrorList } from './error-list.js';

/** Everything a sink may need; each format takes its part. */
export interface SinkOptions {
  format: OutputFormat;
  /** Absolute output file (coco, jsonl) or folder (sa1b, amg-png, yolo, geojson); ignored when `stream` is set. */
  out: string;
  /** Write to this stream instead (coco, jsonl: `--out -`); it is not ended. */
  stream?: NodeJS.WritableStream;
  /** How messages name the output. */
  label: string;
  /** The info block without errors: required for coco and yolo. */
  info?: Omit<RunInfo, 'errors'>;
  /** coco: the categories (default: the one automatic-mask category; a box-prompted run: the detection file's). */
  categories?: readonly CocoCategory[];
  /** Where to list failed images (sa1b, amg-png, yolo, geojson, jsonl); unset to write no list (merge, stdout). */
  errorsFile?: string;
  /**
   * Per-image formats: each image's file or folder by output position, as a run planned them
   * (src/run/output-plan.ts); unset (merge) to name them from the image's file_name.
   */
  imagePaths?: ReadonlyMap<number, string>;
  /** yolo: the classes (default: the one class `object`; a box-prompted run: its categories', yoloClassesOf). */
  yoloClasses?: YoloClasses;
  /** yolo: each image's link under images/ and the input it names, by output position (a run's plan). */
  imageLinks?: ReadonlyMap<number, { link: string; input: string }>;
  /** jsonl: append and sync each image as it is added (a run) instead of writing the file once at finish (merge). */
  streamed: boolean;
  /**
   * Polygons: coco, sa1b and jsonl write COCO polygon lists with these options (`--segmentation polygon`) instead of
   * RLE; yolo and geojson always write polygons, with this tolerance (default 0.5 px).
   */
  polygons?: PolygonOptions;
  /** coco, sa1b, jsonl: an encoder of its own (merge keeps each record's segmentation as read); wins over `polygons`. */
  segmentation?: SegmentationEncoder;
}

/** The sink of `o.format`. Throws for combinations the CLI refuses earlier (a folder format on a stream). */
export function createSink(o: SinkOptions): OutputSink {
  const encoding = o.segmentation ?? (o.polygons ? new CocoPolygonEncoder(o.polygons) : RLE_SEGMENTATION);
  const tolerance = o.polygons?.tolerance ?? DEFAULT_POLYGON_TOLERANCE;
  switch (o.format) {
    case 'coco':
      if (o.info === undefined) throw new Error('COCO output needs an info block');
      return new CocoSink(o.stream ? { stream: o.stream } : { file: o.out }, o.info, o.label, encoding, o.categories);
    case 'jsonl':
      return new JsonlSink(
        o.stream ? { stream: o.stream, label: o.label } : { file: o.out, streamed: o.streamed, errorsFile: o.errorsFile },
        encoding,
      );
    case 'sa1b':
    case 'amg-png':
    case 'yolo':
    case 'geojson': {
      if (o.stream) throw new Error(`${o.format} writes a folder of files, not a stream`);
      return new PerImageSink(imageFiles(o, encoding, tolerance), o.out, o.errorsFile, o.imagePaths);
    }
  }
}

function imageFiles(o: SinkOptions, encoding: SegmentationEncoder, tolerance: number) {
  switch (o.format) {
    case 'sa1b':
      return sa1bFiles(encoding);
    case 'yolo':
      if (o.info === undefined) throw new Error('a YOLO dataset needs an info block');
      return yoloFiles({ dir: o.out, tolerance, info: o.info, ...(o.imageLinks ? { links: o.imageLinks } : {}), ...(o.yoloClasses ? { classes: o.yoloClasses } : {}) });
    case 'geojson':
      return geoJsonFiles(tolerance);
    default:
      return AMG_PNG_FILES;
  }
}

/** How a per-image format names an image's file or folder under its output folder; undefined for one-file formats. */
export function imagePathFor(format: OutputFormat): ((dir: string, relPath: string) => string) | undefined {
  if (format === 'sa1b') return sa1bPathFor;
  if (format === 'amg-png') return AMG_PNG_FILES.pathFor;
  if (format === 'yolo') return yoloLabelPathFor;
  if (format === 'geojson') return geoJsonPathFor;
  return undefined;
}
