/**
 * A resumable batch run: writes through the run's output plan (src/run/output-plan.ts), opens (or resumes) the
 * journal, runs the images through the segmenter (the generator or the box segmenter), puts restored and new
 * results back in input order and writes the output through its format's sink.
 * It decides nothing the user sees: progress, messages, signals and exit codes are the caller's (src/cli/batch-run.ts),
 * through {@link SessionReporter} and {@link SessionOutcome}.
 *
 * Order of writes for one image (each step durable before the next):
 *   1. per-image files (sa1b JSON, amg-png folder, overlay PNG), each written atomically;
 *   2. the streamed line (jsonl);
 *   3. the journal line.
 * A crash between steps leaves an image that is not journaled: a resumed run recomputes it and overwrites what
 * steps 1–2 left, so nothing is duplicated or half-used.
 */
import type { GenerateProgress } from '../amg/generator.js';
import type { RgbImage } from '../base/types.js';
import { decodeImage, ImageDecodeError } from '../node/decode.js';
import type { CocoCategory, ImageResult, RunError, RunInfo } from '../output/coco.js';
import { DEFAULT_OVERLAY_STYLE, type OverlayStyle } from '../output/overlay.js';
import type { OutputSink } from '../output/sink.js';
import type { YoloClasses } from '../output/yolo.js';
import { createSink } from '../output/sinks/index.js';
import { runBatch, StageError, type BatchOutcome, type FileIdentity, type ImageTiming, type TiledImage, type TileJournal, type TiledReads } from './batch.js';
import type { InputItem } from './inputs.js';
import type { Journal, JournalEntry, PartialImage } from './journal.js';
import type { RunPlan } from './output-plan.js';
import { OverlayFiles } from './overlays.js';
import { resumeJournal, type Resumed, type ResumeReporter } from './resume.js';
import type { ImageSegmenter } from './segmenter.js';
import { asError, errorMessage } from '../base/errors.js';
import type { PolygonNote, PolygonOptions } from '../output/segmentation.js';

/** Everything a session needs. */
export interface SessionParams {
  /** Images to process, sorted (listInputs order). */
  items: InputItem[];
  /** Problems found while listing (stage 'input'); they go into the output's error list first. */
  inputErrors: RunError[];
  /** What segments each image: the generator (segmenter.ts amgSegmenter) or the box segmenter (box-images.ts). */
  segmenter: ImageSegmenter;
  /** Every path the run writes (planRun over `items`): the session writes there and nowhere else. */
  plan: RunPlan;
  /** Write the output (coco or jsonl) to this stream (`--out -`: the plan's `out` is null; no journal, no list). */
  stdout?: NodeJS.WritableStream;
  /** The output as the user wrote it, for messages. */
  outLabel: string;
  /** The info block without errors (version, date, model, sha, options, shard). */
  info: Omit<RunInfo, 'errors'>;
  /** COCO categories (default: the one automatic-mask category; a box-prompted run: the detection file's). */
  categories?: readonly CocoCategory[];
  /** YOLO classes (default: the one class `object`; a box-prompted run: the detection file's categories). */
  yoloClasses?: YoloClasses;
  /** Execution provider (part of the journal fingerprint). */
  device: string;
  concurrency: number;
  maxPixels: number;
  failFast: boolean;
  /** Reuse the journal of an earlier run of the same output. */
  resume: boolean;
  /** What overlays draw, when the plan has an overlay folder. */
  overlayStyle?: OverlayStyle;
  /** Polygons (`--segmentation polygon`, or the yolo and geojson formats): their options. */
  polygons?: PolygonOptions;
  /**
   * Tiled runs: how images are opened (their pixel limit is what the output can hold; `maxPixels` then bounds only
   * what needs a whole image: overlays).
   */
  tiled?: TiledReads;
}

/** What a session reports as it goes; the CLI turns these into progress lines and messages. */
export interface SessionReporter extends ResumeReporter {
  /** `total` images, `alreadyDone` of them restored; each of the others takes `promptsPerImage` prompts. */
  start(total: number, alreadyDone: number, promptsPerImage: number): void;
  imageStarted(file: string): void;
  imageProgress(file: string, progress: GenerateProgress): void;
  imageDone(file: string, masks: number, seconds: number, detail: { width: number; height: number; timing: ImageTiming }): void;
  imageFailed(file: string, stage: string, message: string): void;
  /** `done` of `total` images come from the journal. */
  resuming(done: number, total: number, journal: string): void;
  /** Tiled runs: an image continues from the journal at its first unfinished tile (`done` of `tiles` kept). */
  tilesResumed?(file: string, done: number, tiles: number): void;
  /** Something about this image that does not fail it (georeferencing that cannot be used). */
  imageWarning?(file: string, message: string): void;
  /** No overlay for this image (a tiled image too large to draw whole); `reason` says why. */
  overlaySkipped?(file: string, reason: string): void;
  /** The batch stops early because of `fatal` (a write that no later image can succeed at either). */
  stopping(fatal: Error): void;
  /** The output could not be written; `previousKept`: the previous output is still there, unchanged. */
  outputFailed(error: Error, previousKept: boolean): void;
  /** The list of failed images could not be written. */
  errorListFailed(error: Error): void;
  journalCloseFailed(journal: string, error: Error): void;
  /** The journal stays for a rerun with --resume; `complete`: every image was tried (only failures are left). */
  journalKept(journal: string, complete: boolean): void;
}

/** The run cannot start: its journal (`part` 'journal') or its output ('output') cannot be used. */
export class SessionRefused extends Error {
  constructor(
    readonly part: 'journal' | 'output',
    /** What went wrong: a ResumeMismatch, a JournalError or a file-system error. */
    readonly reason: Error,
    /** The journal's path, for messages about it (none when the run keeps no journal). */
    readonly journal?: string,
  ) {
    super(reason.message);
    this.name = 'SessionRefused';
  }
}

/** How a session ended. */
export interface SessionOutcome {
  /** Every finished image, restored or new, in input order. */
  results: ImageResult[];
  /** Listing errors, then every failed image in input order. */
  errors: RunError[];
  /** Of `results`, images restored from the journal. */
  restored: number;
  /** Images never started (fail-fast, interruption or a fatal error). */
  skipped: number;
  /** The failure that stopped the batch early, if any. */
  fatal?: Error;
  /** False when the output itself could not be written. */
  written: boolean;
  /** The output or its error list could not be written. */
  writeFailed: boolean;
  /** Where the failed images are listed, once that list is written. */
  errorsListed?: string;
  /** What the output says about the polygons it wrote (holes filled, parts dropped, YOLO duplicates). */
  notes: PolygonNote[];
}

/** One run of a batch over its output; {@link BatchSession.open}, then {@link BatchSession.run}. */
export class BatchSession {
  private constructor(
    private readonly p: SessionParams,
    private readonly report: SessionReporter,
    private readonly sink: OutputSink,
    private readonly overlays: OverlayFiles | undefined,
    /** Per-image errors known before any work, by item index. */
    private readonly early: Map<number, RunError>,
    /** Journal entries reused, by item index. */
    private readonly restored: Map<number, JournalEntry>,
    private readonly journal: Journal | undefined,
    /** Finished tiles of unfinished images (tiled runs), by item index. */
    private readonly partial: Map<number, PartialImage>,
  ) {}

  /**
   * Plans the output, opens the journal (restoring what it can), brings back missing per-image files of restored
   * images and opens the output. Throws {@link SessionRefused} when the journal or the output cannot be used.
   */
  static async open(p: SessionParams, report: SessionReporter): Promise<BatchSession> {
    const { items, plan } = p;
    const journalFile = plan.journal;
    if (plan.out === null && !p.stdout) throw new Error('a run without an output path needs a stream to write to');
    const sink = createSink({
      format: plan.format,
      out: plan.out ?? '-',
      ...(p.stdout ? { stream: p.stdout } : {}),
      ...(plan.errors !== undefined ? { errorsFile: plan.errors } : {}),
      imagePaths: plan.images,
      imageLinks: new Map([...plan.links].map(([i, link]) => [i, { link, input: items[i].path }])),
      label: p.outLabel,
      info: p.info,
      ...(p.categories ? { categories: p.categories } : {}),
      ...(p.yoloClasses ? { yoloClasses: p.yoloClasses } : {}),
      streamed: true,
      ...(p.polygons ? { polygons: p.polygons } : {}),
    });
    const early = new Map<number, RunError>(plan.failures);
    const overlays = plan.overlays
      ? new OverlayFiles(plan.overlays.dir, plan.overlays.files, p.overlayStyle ?? DEFAULT_OVERLAY_STYLE, sink.maskIdBase)
      : undefined;

    let resumed: Resumed = { restored: new Map(), partial: new Map() };
    if (journalFile !== undefined) {
      try {
        resumed = await resumeJournal({
          journalFile,
          fingerprint: {
            version: p.info.version,
            model: p.info.model,
            model_sha256: p.info.modelSha256,
            format: plan.format,
            device: p.device,
            options: p.info.options,
            ...(p.polygons ? { polygons: polygonFingerprint(plan.format, p.polygons) } : {}),
          },
          items,
          early,
          resume: p.resume,
          journal: true,
          report,
        });
      } catch (err) {
        throw new SessionRefused('journal', asError(err), journalFile);
      }
    }
    const { journal, restored, partial } = resumed;
    if (restored.size > 0 && journalFile !== undefined) report.resuming(restored.size, items.length, journalFile);

    // Restored images whose per-image files are missing (deleted, or an earlier run without --overlay) get them back.
    for (const [index, entry] of [...restored]) {
      try {
        await sink.restore(entry.result, index);
        // A tiled image too large to draw whole gets no overlay (see run()), restored or not.
        if (entry.result.width * entry.result.height <= p.maxPixels) await overlays?.restore(index, items[index], entry.result, p.maxPixels);
      } catch (err) {
        const stage = err instanceof StageError ? err.stage : err instanceof ImageDecodeError ? 'decode' : 'output';
        restored.delete(index);
        early.set(index, { file: items[index].relPath, stage, message: errorMessage(err) });
      }
    }

    // A streamed output starts as what the journal restored, then grows image by image.
    try {
      await sink.begin(sortedByIndex(restored).map((e) => e.result));
      await overlays?.begin();
    } catch (err) {
      await journal?.close().catch(() => undefined);
      throw new SessionRefused('output', asError(err), journalFile);
    }
    return new BatchSession(p, report, sink, overlays, early, restored, journal, partial);
  }

  /** Whether this run keeps a journal (every finished image survives an interruption). */
  get journaled(): boolean {
    return this.journal !== undefined;
  }

  /**
   * Runs the images not restored and not failed already, then writes the output. When `signal` aborts, no new image
   * starts, the ones in flight finish and the output is written with what is done; the journal is then kept.
   */
  async run(signal?: AbortSignal): Promise<SessionOutcome> {
    const { p, report, sink, overlays, early, restored, journal } = this;
    const pendingIndex: number[] = [];
    p.items.forEach((_, i) => {
      if (!restored.has(i) && !early.has(i)) pendingIndex.push(i);
    });

    report.start(p.items.length, restored.size, p.segmenter.promptsPerImage);
    for (const e of sortedByIndex(early)) report.imageFailed(e.file, e.stage, e.message);
    const outcome: BatchOutcome = await runBatch({
      items: pendingIndex.map((i) => p.items[i]),
      segmenter: p.segmenter,
      concurrency: p.concurrency,
      maxPixels: p.maxPixels,
      failFast: p.failFast,
      signal,
      // Per-image files while the pixels are in memory; a failure here fails only this image.
      afterImage: async (item, image, result, i) => {
        const index = pendingIndex[i];
        if (!sink.ordered) await sink.add(result, index);
        if (overlays) {
          const pixels = image ?? (await this.overlayPixels(item.path, result.relPath, result.width, result.height));
          if (pixels !== null) await overlays.write(index, pixels, result);
        }
      },
      ...(p.tiled !== undefined ? { tiled: p.tiled } : {}),
      ...(journal !== undefined ? { tileJournal: (item, i, image) => this.tileJournal(journal, item.relPath, pendingIndex[i], image) } : {}),
      events: {
        onStart: (item) => report.imageStarted(item.relPath),
        onProgress: (item, _i, pr) => report.imageProgress(item.relPath, pr),
        // In input order; a failure here is fatal (the stream or the journal cannot take more).
        onResult: async (r, i, s, file: FileIdentity, timing) => {
          report.imageDone(r.relPath, r.records.length, s, { width: r.width, height: r.height, timing });
          if (sink.ordered) await sink.add(r, pendingIndex[i]);
          if (journal) await journal.append(r, file);
        },
        onError: (e) => report.imageFailed(e.file, e.stage, e.message),
        onWarning: (item, _i, message) => report.imageWarning?.(item.relPath, message),
      },
    });
    if (outcome.fatal) report.stopping(outcome.fatal);

    // Everything in input order: restored and new results, early and batch errors.
    const resultAt = new Map<number, ImageResult>();
    for (const [i, e] of restored) resultAt.set(i, e.result);
    outcome.results.forEach((r, k) => resultAt.set(pendingIndex[outcome.resultIndex[k]], r));
    const errorAt = new Map<number, RunError>(early);
    outcome.errors.forEach((e, k) => errorAt.set(pendingIndex[outcome.errorIndex[k]], e));
    const results = sortedByIndex(resultAt);
    const errors = [...p.inputErrors, ...sortedByIndex(errorAt)];

    // The output. A failure here leaves the previous file in place (atomic replacement) and the journal as it was.
    const finished = await sink.finish(results, errors);
    if (finished.outputError) report.outputFailed(finished.outputError, sink.atomic);
    if (finished.listError) report.errorListFailed(finished.listError);
    const writeFailed = finished.outputError !== undefined || finished.listError !== undefined;
    const complete = !signal?.aborted && !outcome.fatal && !writeFailed && outcome.skipped === 0;
    const allOk = complete && errors.length === 0;
    if (journal) {
      try {
        if (allOk) await journal.remove();
        else await journal.close();
      } catch (err) {
        report.journalCloseFailed(journal.path, asError(err));
      }
      if (!allOk) report.journalKept(journal.path, complete);
    }

    return {
      results,
      errors,
      restored: restored.size,
      skipped: outcome.skipped,
      ...(outcome.fatal ? { fatal: outcome.fatal } : {}),
      written: finished.outputError === undefined,
      writeFailed,
      ...(finished.errorsListed !== undefined ? { errorsListed: finished.errorsListed } : {}),
      notes: finished.notes ?? [],
    };
  }

  /**
   * The pixels an overlay of a tiled image (read tile by tile) is drawn on: the image decoded whole once more, when
   * it is within --max-pixels; beyond, the overlay is skipped with a message (drawing needs the whole image).
   */
  private async overlayPixels(file: string, relPath: string, width: number, height: number): Promise<RgbImage | null> {
    const limit = this.p.maxPixels;
    if (width * height > limit) {
      this.report.overlaySkipped?.(relPath, `no overlay: ${width}x${height} is over the ${limit}-pixel limit (--max-pixels) of an overlay, which draws the whole image`);
      return null;
    }
    try {
      return await decodeImage(file, { maxPixels: limit });
    } catch (err) {
      throw new StageError('overlay', errorMessage(err), { cause: err });
    }
  }

  /**
   * Where a tiled image's finished tiles go: one journal line each. The tiles an earlier run finished are given
   * back when the file and the image are still the same (size, modification time, pixel size, tile count).
   */
  private tileJournal(journal: Journal, relPath: string, index: number, image: TiledImage): TileJournal {
    const tiles = this.p.segmenter.tiled?.tileCount(image.width, image.height) ?? 1;
    const kept = this.partial.get(index);
    const same = kept !== undefined && kept.file.size === image.file.size && kept.file.mtimeMs === image.file.mtimeMs
      && kept.width === image.width && kept.height === image.height && kept.tiles === tiles;
    if (same && kept.done.size > 0) this.report.tilesResumed?.(relPath, kept.done.size, tiles);
    return {
      ...(same ? { restored: kept.done } : {}),
      onTileDone: (tile, n, records) =>
        journal.appendTile({ relPath, file: image.file, width: image.width, height: image.height, tile, tiles: n, records }),
    };
  }
}

/**
 * The polygon options as the journal's fingerprint keeps them: per-image files of restored images are not written
 * again, so a resumed run must make its polygons the same way. What a format does not use is left out.
 */
function polygonFingerprint(format: string, o: PolygonOptions): Record<string, unknown> {
  return format === 'coco' || format === 'sa1b' || format === 'jsonl' ? { tolerance: o.tolerance, holes: o.holes } : { tolerance: o.tolerance };
}

/** The values of a map keyed by input index, in index order. */
function sortedByIndex<T>(byIndex: ReadonlyMap<number, T>): T[] {
  return [...byIndex].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}
