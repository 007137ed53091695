/**
 * The formats with one file or folder per image (sa1b, amg-png, yolo, geojson): add() writes an image's output as
 * soon as it is done (any order: each is its own atomic write), finish() writes the folder's `errors.json` (and what
 * a format writes once for the folder, as YOLO's data.yaml). A restored image whose output is missing or incomplete
 * is written again.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { ImageResult, RunError } from '../coco.js';
import { writeFileAtomic, type AtomicData } from '../../fs/atomic.js';
import { pathExists } from '../../fs/exists.js';
import { asError } from '../../base/errors.js';
import type { PolygonNote } from '../segmentation.js';
import type { FinishReport, OutputSink } from '../sink.js';
import { finishErrorList } from './error-list.js';

/** What distinguishes one per-image format from another. */
export interface ImageFileFormat {
  format: 'sa1b' | 'amg-png' | 'yolo' | 'geojson';
  maskIdBase: 0 | 1;
  /** The file or folder of the image at `relPath` under `dir`; throws for a name that would leave `dir`. */
  pathFor(dir: string, relPath: string): string;
  /** The file whose presence means the image's output at `target` is complete. */
  doneMarker(target: string): string;
  /** Writes the image at output position `index` to `target`; throws an Error naming the file and the reason. */
  write(target: string, result: ImageResult, index: number): Promise<void>;
  /** A restored image whose output is complete: anything beside it to bring back (YOLO: the image link). */
  restored?(target: string, result: ImageResult, index: number): Promise<void>;
  /** Writes what the folder holds once (YOLO: data.yaml, info.json), from every image of the output in order. */
  finish?(results: readonly ImageResult[], errors: readonly RunError[]): Promise<void>;
  /** The closing lines about what was written (polygons, YOLO duplicates). */
  notes?(): PolygonNote[];
}

/** Writes an image's file atomically, the folders on its way made first (an input's subfolders are kept). */
export async function writeImageFile(file: string, data: AtomicData): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, data);
}

/** A sink writing one file or folder per image under `dir`. */
export class PerImageSink implements OutputSink {
  readonly format: ImageFileFormat['format'];
  readonly ordered = false;
  readonly atomic = false;
  readonly maskIdBase: 0 | 1;

  constructor(
    private readonly files: ImageFileFormat,
    private readonly dir: string,
    /** `errors.json` in the folder; unset to write no list (merge). */
    private readonly errorsFile?: string,
    /** Planned targets by output position (a run); unset to name them with the format's pathFor (merge). */
    private readonly planned?: ReadonlyMap<number, string>,
  ) {
    this.format = files.format;
    this.maskIdBase = files.maskIdBase;
  }

  async restore(result: ImageResult, index: number): Promise<void> {
    const target = this.target(result, index);
    if (!(await pathExists(this.files.doneMarker(target)))) await this.files.write(target, result, index);
    else await this.files.restored?.(target, result, index);
  }

  async begin(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true });
  }

  add(result: ImageResult, index: number): Promise<void> {
    return this.files.write(this.target(result, index), result, index);
  }

  private target(result: ImageResult, index: number): string {
    if (this.planned === undefined) return this.files.pathFor(this.dir, result.relPath);
    const target = this.planned.get(index);
    // The session never hands over an image whose name the plan refused.
    if (target === undefined) throw new Error(`${result.relPath}: no output name was planned for it`);
    return target;
  }

  async finish(results: readonly ImageResult[], errors: readonly RunError[]): Promise<FinishReport> {
    let outputError: Error | undefined;
    try {
      await this.files.finish?.(results, errors);
    } catch (err) {
      outputError = asError(err);
    }
    const list = await finishErrorList(this.errorsFile, errors);
    return { ...(outputError ? { outputError } : {}), ...list, notes: this.files.notes?.() ?? [] };
  }
}
