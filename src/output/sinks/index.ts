/** The sink of each output format, built the same way for a run and for `sam-amg merge`. */
import type { CocoCategory, RunInfo } from '../coco.js';
import type { OutputFormat, OutputSink } from '../sink.js';
import { AMG_PNG_FILES } from './amg-png.js';
import { CocoSink } from './coco.js';
import { JsonlSink } from './jsonl.js';
import { PerImageSink } from './per-image.js';
import { SA1B_FILES } from './sa1b.js';

export { errorsPathFor, writeErrorList } from './error-list.js';

/** Everything a sink may need; each format takes its part. */
export interface SinkOptions {
  format: OutputFormat;
  /** Absolute output file (coco, jsonl) or folder (sa1b, amg-png); ignored when `stream` is set. */
  out: string;
  /** Write to this stream instead (coco, jsonl: `--out -`); it is not ended. */
  stream?: NodeJS.WritableStream;
  /** How messages name the output. */
  label: string;
  /** The info block without errors: required for coco. */
  info?: Omit<RunInfo, 'errors'>;
  /** coco: the categories (default: the one automatic-mask category; a box-prompted run: the detection file's). */
  categories?: readonly CocoCategory[];
  /** Where to list failed images (sa1b, amg-png, jsonl); unset to write no list (merge, stdout). */
  errorsFile?: string;
  /**
   * sa1b, amg-png: each image's file or folder by output position, as a run planned them (src/run/output-plan.ts);
   * unset (merge) to name them from the image's file_name.
   */
  imagePaths?: ReadonlyMap<number, string>;
  /** jsonl: append and sync each image as it is added (a run) instead of writing the file once at finish (merge). */
  streamed: boolean;
}

/** The sink of `o.format`. Throws for combinations the CLI refuses earlier (a folder format on a stream). */
export function createSink(o: SinkOptions): OutputSink {
  switch (o.format) {
    case 'coco':
      if (o.info === undefined) throw new Error('COCO output needs an info block');
      return new CocoSink(o.stream ? { stream: o.stream } : { file: o.out }, o.info, o.label, o.categories);
    case 'jsonl':
      return new JsonlSink(o.stream ? { stream: o.stream, label: o.label } : { file: o.out, streamed: o.streamed, errorsFile: o.errorsFile });
    case 'sa1b':
    case 'amg-png':
      if (o.stream) throw new Error(`${o.format} writes a folder of files, not a stream`);
      return new PerImageSink(o.format === 'sa1b' ? SA1B_FILES : AMG_PNG_FILES, o.out, o.errorsFile, o.imagePaths);
  }
}

/** How a per-image format names an image's file or folder under its output folder; undefined for one-file formats. */
export function imagePathFor(format: OutputFormat): ((dir: string, relPath: string) => string) | undefined {
  if (format === 'sa1b') return SA1B_FILES.pathFor;
  if (format === 'amg-png') return AMG_PNG_FILES.pathFor;
  return undefined;
}
