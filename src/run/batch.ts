/**
 * The batch: schedules images through the segmenter (segmenter.ts: the generator, or the box segmenter), turns
 * every per-image failure into an error record (never an exception that ends the batch), and hands finished images
 * to the writer in input order. A tiled run's images are opened as region sources and never decoded whole.
 *
 * Two kinds of trouble are told apart:
 * - a per-image failure (unreadable file, decoder error, a failing per-image output write) becomes a RunError and
 *   the batch goes on (unless `failFast`);
 * - a failure that makes every later image pointless — an event handler that cannot write the journal or the
 *   streamed output, or a per-image write that hit a full or read-only disk — is `fatal`: the batch stops taking
 *   new images, lets the ones in flight finish, and reports it in {@link BatchOutcome.fatal}.
 */
import { promises as fsp } from 'node:fs';
import pLimit from 'p-limit';
import path from 'node:path';
import { GenerationStopped, TileReadError, type GenerateProgress } from '../amg/generator.js';
import { MAX_TILED_IMAGE_PIXELS } from '../amg/options.js';
import type { GeoReference, MaskRecord, RgbImage } from '../base/types.js';
import { decodeImage, ImageDecodeError } from '../node/decode.js';
import { openImageSource } from '../node/image-source.js';
import { geoWarning, readTiffInfo } from '../node/tiff-info.js';
import type { ImageResult, RunError } from '../output/coco.js';
import { errorCode } from '../fs/errno.js';
import type { InputItem } from './inputs.js';
import type { ImageSegmenter, TiledSegmenter } from './segmenter.js';
import { asError, errorMessage } from '../base/errors.js';

/** Size and modification time of an input file as it was read; the journal uses them to spot changed files. */
export interface FileIdentity {
  size: number;
  mtimeMs: number;
}

/** Where one image's time went, in milliseconds (see {@link GenerateProgress}). */
export interface ImageTiming {
  encoderMs: number;
  decoderMs: number;
  postprocessMs: number;
  prompts: number;
}

/** What the batch reports as it goes (progress display, journal, streaming writers). */
export interface BatchEvents {
  /** An image is about to start. */
  onStart?(item: InputItem, index: number): void;
  /** Progress inside an image (crops and prompt batches done); called as the generator reports it. */
  onProgress?(item: InputItem, index: number, progress: GenerateProgress): void;
  /**
   * An image finished; called in input order (results are held back until their predecessors finish). A throw or
   * rejection here is fatal: the batch stops taking new images and reports it as {@link BatchOutcome.fatal}.
   */
  onResult?(result: ImageResult, index: number, seconds: number, file: FileIdentity, timing: ImageTiming): Promise<void> | void;
  /** An image failed; called in input order. A throw here is fatal, as for onResult. */
  onError?(error: RunError, index: number): Promise<void> | void;
  /** Something about an image that does not fail it (georeferencing that cannot be used), as it is found. */
  onWarning?(item: InputItem, index: number, message: string): void;
}

/**
 * Work done on each image right after its masks, while the decoded pixels are still in memory (per-image output
 * files, overlays). A throw fails that image, with the thrown error's `stage` when it is a {@link StageError}.
 * `image` is null for an image of a tiled run that was read tile by tile (never held whole).
 */
export type AfterImage = (item: InputItem, image: RgbImage | null, result: ImageResult, index: number) => Promise<void>;

/** An image of a tiled run as it starts: its file as read and its size. */
export interface TiledImage {
  file: FileIdentity;
  width: number;
  height: number;
}

/** Where a tiled image's finished tiles go (the journal) and which ones an earlier run finished. */
export interface TileJournal {
  /** Records of tiles finished earlier, by tile index: not computed again. */
  restored?: ReadonlyMap<number, MaskRecord[]>;
  /** A tile is finished (its records after the NMS inside it); resolves once it is kept. */
  onTileDone(tile: number, tiles: number, records: MaskRecord[]): Promise<void>;
}

/** How a tiled run opens its images (they are read by region, see src/node/image-source.ts). */
export interface TiledReads {
  /** Refuse images above this many pixels (default {@link MAX_TILED_IMAGE_PIXELS}, what an output can hold). */
  maxPixels?: number;
  /** The reason given for an image over maxPixels; it names the limit. */
  overLimit?: (width: number, height: number) => string;
  /** Where temporary tiled copies go (default: the OS temporary folder). */
  tempDir?: string;
  /** Formats decoded whole (WebP, GIF, AVIF, progressive JPEG, interlaced PNG) only up to this many pixels. */
  wholeMaxPixels?: number;
}

/** An error that knows which stage of an image's processing it belongs to. */
export class StageError extends Error {
  constructor(
    readonly stage: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StageError';
  }
}

/** Options of {@link runBatch}. */
export interface BatchOptions {
  items: InputItem[];
  /** What turns each image into its records. */
  segmenter: ImageSegmenter;
  /** Images in flight at once (default 1). */
  concurrency?: number;
  /** Refuse images above this many pixels before decoding. */
  maxPixels?: number;
  /** Stop after the first failure. */
  failFast?: boolean;
  /** When aborted, no new image starts; images in flight finish. */
  signal?: AbortSignal;
  events?: BatchEvents;
  afterImage?: AfterImage;
  /** Tiled runs (a segmenter that reads sources, the generator with `tile` set): how images are opened. */
  tiled?: TiledReads;
  /** Tiled runs: where an image's finished tiles are kept, and which are kept already (resume inside an image). */
  tileJournal?: (item: InputItem, index: number, image: TiledImage) => TileJournal | undefined;
}

/** Outcome of a batch: results and errors in input order. */
export interface BatchOutcome {
  results: ImageResult[];
  /** The input index of each result (parallel to `results`). */
  resultIndex: number[];
  errors: RunError[];
  /** The input index of each error (parallel to `errors`). */
  errorIndex: number[];
  /** Images never started (fail-fast, interruption or a fatal error). */
  skipped: number;
  interrupted: boolean;
  /** The failure that stopped the batch early, if any (see the module comment). */
  fatal?: Error;
}

type Settled =
  | { kind: 'ok'; result: ImageResult; seconds: number; file: FileIdentity; timing: ImageTiming }
  | { kind: 'error'; error: RunError; fatal?: Error }
  | { kind: 'skipped' };

/** errno codes after which no later write can succeed either. */
const DISK_FATAL = new Set(['ENOSPC', 'EDQUOT', 'EROFS']);

/** Runs every item through the segmenter. */
export async function runBatch(opts: BatchOptions): Promise<BatchOutcome> {
  const { items, segmenter, events = {} } = opts;
  const limit = pLimit(Math.max(1, opts.concurrency ?? 1));
  const settled: (Settled | undefined)[] = new Array(items.length);
  let stop = false;
  let fatal: Error | undefined;
  let flushed = 0;
  const outcome: BatchOutcome = { results: [], resultIndex: [], errors: [], errorIndex: [], skipped: 0, interrupted: false };
  const setFatal = (err: unknown): void => {
    stop = true;
    fatal ??= asError(err);
  };
  // Emit finished images strictly in input order so streamed output is deterministic.
  let flushing: Promise<void> = Promise.resolve();
  const flush = (): Promise<void> => {
    flushing = flushing.then(async () => {
      while (flushed < items.length && settled[flushed] !== undefined) {
        const index = flushed;
        const s = settled[index] as Settled;
        flushed++;
        if (s.kind === 'ok') {
          outcome.results.push(s.result);
          outcome.resultIndex.push(index);
          // After a fatal error, results are still collected (the final output may yet be writable) but no longer
          // streamed: the handler is what failed.
          if (fatal === undefined) {
            try {
              await events.onResult?.(s.result, index, s.seconds, s.file, s.timing);
            } catch (err) {
              setFatal(err);
            }
          }
        } else if (s.kind === 'error') {
          outcome.errors.push(s.error);
          outcome.errorIndex.push(index);
          if (s.fatal) setFatal(s.fatal);
          try {
            await events.onError?.(s.error, index);
          } catch (err) {
            setFatal(err);
          }
        } else {
          outcome.skipped++;
        }
      }
    });
    return flushing;
  };
  const tasks = items.map((item, index) =>
    limit(async () => {
      if (stop || opts.signal?.aborted) {
        settled[index] = { kind: 'skipped' };
        void flush();
        return;
      }
      events.onStart?.(item, index);
      const t0 = performance.now();
      const s = await processOne(item, index, segmenter, opts);
      if (s.kind === 'ok') s.seconds = (performance.now() - t0) / 1000;
      if (s.kind === 'error' && (opts.failFast || s.fatal)) stop = true;
      settled[index] = s;
      // Not awaited: the next image starts while this one's result is written (journal fsync, streamed line).
      // The flush chain never rejects (handler errors become `fatal`), and it is awaited once all tasks are done.
      void flush();
    }),
  );
  await Promise.all(tasks);
  await flush();
  outcome.interrupted = opts.signal?.aborted ?? false;
  if (fatal) outcome.fatal = fatal;
  return outcome;
}

async function processOne(item: InputItem, index: number, segmenter: ImageSegmenter, opts: BatchOptions): Promise<Settled> {
  let stage = 'decode';
  let tilesKept = false;
  try {
    const file = await identify(item.path);
    const timing: ImageTiming = { encoderMs: 0, decoderMs: 0, postprocessMs: 0, prompts: 0 };
    const onProgress = (p: GenerateProgress): void => {
      timing.encoderMs = p.encoderMs;
      timing.decoderMs = p.decoderMs;
      timing.postprocessMs = p.postprocessMs;
      timing.prompts = p.promptsDone;
      opts.events?.onProgress?.(item, index, p);
    };
    let result: ImageResult;
    let image: RgbImage | null;
    if (segmenter.tiled !== undefined) {
      stage = 'generate';
      ({ result, image } = await processTiled(item, index, segmenter.tiled, opts, file, onProgress, () => (tilesKept = true)));
    } else {
      const whole = await decodeImage(item.path, { maxPixels: opts.maxPixels });
      const { geo, problem } = await readGeoReference(item.path);
      if (problem !== null) opts.events?.onWarning?.(item, index, geoWarning(problem));
      stage = 'generate';
      const { records, imageId } = await segmenter.segment(item, whole, onProgress);
      result = { relPath: item.relPath, width: whole.width, height: whole.height, ...geoOf(geo), records, ...(imageId !== undefined ? { imageId } : {}) };
      image = whole;
    }
    if (opts.afterImage) {
      stage = 'output';
      await opts.afterImage(item, image, result, index);
    }
    return { kind: 'ok', result, seconds: 0, file, timing };
  } catch (err) {
    if (err instanceof GenerationStopped) return { kind: 'skipped' };
    if (err instanceof StageError) stage = err.stage;
    // Opening a tiled image, or a tile that cannot be read, is decoding.
    if (stage === 'generate' && (err instanceof ImageDecodeError || err instanceof TileReadError)) stage = 'decode';
    let message = errorMessage(err);
    if (err instanceof TileReadError && err.finished > 0) {
      message += tilesKept
        ? `; the ${err.finished} tiles before it are kept in the journal (--resume continues from there)`
        : `; the ${err.finished} tiles before it were finished`;
    }
    const error: RunError = { file: item.relPath, stage, message: oneLine(message) };
    const code = causeCode(err);
    if (stage !== 'decode' && code !== undefined && DISK_FATAL.has(code)) {
      return { kind: 'error', error, fatal: asError(err) };
    }
    return { kind: 'error', error };
  }
}

/**
 * One image of a tiled run: opened as a region source (src/node/image-source.ts), generated tile by tile with its
 * finished tiles kept where `opts.tileJournal` says (`kept()` is called when they are), closed (a temporary copy
 * removed). A stop request (SIGINT) ends the image after its tile in progress (GenerationStopped).
 */
async function processTiled(
  item: InputItem,
  index: number,
  segmenter: TiledSegmenter,
  opts: BatchOptions,
  file: FileIdentity,
  onProgress: (p: GenerateProgress) => void,
  kept: () => void,
): Promise<{ result: ImageResult; image: RgbImage | null }> {
  const t = opts.tiled ?? {};
  const source = await openImageSource(item.path, {
    maxPixels: t.maxPixels ?? MAX_TILED_IMAGE_PIXELS,
    overLimit: t.overLimit ?? ((w, h) => `image is ${w}x${h} = ${w * h} pixels, more than an output can hold (${MAX_TILED_IMAGE_PIXELS} pixels: 32-bit RLE counts)`),
    ...(t.tempDir !== undefined ? { tempDir: t.tempDir } : {}),
    ...(t.wholeMaxPixels !== undefined ? { wholeMaxPixels: t.wholeMaxPixels } : {}),
  });
  if (source.geoProblem !== undefined) opts.events?.onWarning?.(item, index, geoWarning(source.geoProblem));
  try {
    const tiles = opts.tileJournal?.(item, index, { file, width: source.width, height: source.height });
    if (tiles !== undefined) kept();
    const records = await segmenter.segmentSource(source, { onProgress, ...(tiles ? { tiles } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
    const result: ImageResult = { relPath: item.relPath, width: source.width, height: source.height, ...geoOf(source.geo), records };
    return { result, image: source.image ?? null };
  } finally {
    await source.close();
  }
}

/** `{ geo }` when there is georeferencing. */
function geoOf(geo: GeoReference | null): { geo?: GeoReference } {
  return geo === null ? {} : { geo };
}

/**
 * A TIFF input's georeferencing (GeoTIFF tags), null for other files and for TIFFs without it; `problem` says why
 * georeferencing the file has cannot be used.
 */
async function readGeoReference(file: string): Promise<{ geo: GeoReference | null; problem: string | null }> {
  if (!/^\.tiff?$/iu.test(path.extname(file))) return { geo: null, problem: null };
  return readTiffInfo(file).then(
    (t) => ({ geo: t.geo, problem: t.geoProblem }),
    (err: unknown) => ({ geo: null, problem: `its TIFF directory cannot be read for georeferencing (${errorMessage(err)})` }),
  );
}

async function identify(file: string): Promise<FileIdentity> {
  try {
    const st = await fsp.stat(file);
    return { size: st.size, mtimeMs: st.mtimeMs };
  } catch (err) {
    // decodeImage reports the same problem with its own wording; stat is only the journal's bookkeeping.
    throw new ImageDecodeError(`cannot read file (${errorCode(err) ?? 'stat failed'})`, { cause: err });
  }
}

/** The first errno code along the error's `cause` chain. */
function causeCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 8; depth++) {
    const code = errorCode(e);
    if (code !== undefined) return code;
    e = e instanceof Error ? e.cause : undefined;
  }
  return undefined;
}

function oneLine(s: string): string {
  return s.split('\n')[0].trim();
}
