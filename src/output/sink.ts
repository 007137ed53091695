/**
 * An output format as a place that images go: `begin`, `add` each image, `finish`. The batch session
 * (src/run/session.ts) and `sam-amg merge` write every format through these sinks (src/output/sinks/), so the bytes
 * of a format are decided in one place. Sinks write files (Node-side); the documents themselves come from the pure
 * writers (coco.ts, sa1b.ts, jsonl.ts, amg-png.ts).
 */
import type { ImageResult, RunError } from './coco.js';
import type { PolygonNote } from './segmentation.js';

/** The output formats. */
export type OutputFormat = 'coco' | 'sa1b' | 'jsonl' | 'amg-png' | 'yolo' | 'geojson';

/** Formats whose output is a folder of per-image files. */
export function isFolderFormat(format: OutputFormat): boolean {
  return format === 'sa1b' || format === 'amg-png' || format === 'yolo' || format === 'geojson';
}

/** Formats that write polygons whatever `--segmentation` says. */
export function isPolygonFormat(format: OutputFormat): boolean {
  return format === 'yolo' || format === 'geojson';
}

/** What {@link OutputSink.finish} managed; it reports failures instead of throwing, since both parts are tried. */
export interface FinishReport {
  /** Why the output itself could not be written. */
  outputError?: Error;
  /** Why the list of failed images beside the output could not be written. */
  listError?: Error;
  /** Where the failed images are listed now (for the closing message); unset when no list was written. */
  errorsListed?: string;
  /** What the output says about the polygons it wrote (holes filled, parts dropped), for the closing lines. */
  notes?: PolygonNote[];
}

/** One output format being written. */
export interface OutputSink {
  readonly format: OutputFormat;
  /**
   * True when add() appends to one stream (JSONL): images must come in output order and a failed add leaves the
   * stream unusable. False when add() writes the image's own files (any order; a failure costs that image only)
   * or nothing at all (COCO, written whole by finish).
   */
  readonly ordered: boolean;
  /** True when a failed finish() leaves the previous output as it was (one atomic replacement). */
  readonly atomic: boolean;
  /** The number of an image's first mask in this format (amg-png names files 0.png…, the others count ids from 1). */
  readonly maskIdBase: 0 | 1;
  /**
   * An image an earlier run finished (restored from the journal): rewrites its per-image output when that is
   * missing (deleted since, or never complete). Formats without per-image files do nothing.
   */
  restore(result: ImageResult, index: number): Promise<void>;
  /** Opens the output. `restored` (in output order) is what it starts with: streamed formats write it at once. */
  begin(restored: readonly ImageResult[]): Promise<void>;
  /** One finished image at position `index` of the output: what must be on disk as soon as it is done. */
  add(result: ImageResult, index: number): Promise<void>;
  /**
   * Every image of the output in order (restored and new) and the failures: writes what is written once (the COCO
   * document), closes streams, and lists the failures where the format keeps them.
   */
  finish(results: readonly ImageResult[], errors: readonly RunError[]): Promise<FinishReport>;
}
