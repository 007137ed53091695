/**
 * The batch: schedules images through the generator, turns every per-image failure into an error record (never an
 * exception that ends the batch), and hands finished images to the writer in input order.
 */
import pLimit from 'p-limit';
import type { MaskGenerator } from '../amg/generator.js';
import { decodeImage, ImageDecodeError } from '../image/decode.js';
import type { ImageResult, RunError } from '../output/coco.js';
import type { InputItem } from './inputs.js';

/** What the batch reports as it goes (progress display, journal, streaming writers). */
export interface BatchEvents {
  /** An image is about to start. */
  onStart?(item: InputItem, index: number): void;
  /** An image finished; called in input order (results are held back until their predecessors finish). */
  onResult?(result: ImageResult, index: number, seconds: number): Promise<void> | void;
  /** An image failed; called in input order. */
  onError?(error: RunError, index: number): Promise<void> | void;
}

/** Options of {@link runBatch}. */
export interface BatchOptions {
  items: InputItem[];
  generator: MaskGenerator;
  /** Images in flight at once (default 1). */
  concurrency?: number;
  /** Refuse images above this many pixels before decoding. */
  maxPixels?: number;
  /** Stop after the first failure. */
  failFast?: boolean;
  /** When aborted, no new image starts; images in flight finish. */
  signal?: AbortSignal;
  events?: BatchEvents;
}

/** Outcome of a batch: results and errors in input order. */
export interface BatchOutcome {
  results: ImageResult[];
  errors: RunError[];
  /** Images never started (fail-fast or interruption). */
  skipped: number;
  interrupted: boolean;
}

type Settled = { kind: 'ok'; result: ImageResult; seconds: number } | { kind: 'error'; error: RunError } | { kind: 'skipped' };

/** Runs every item through the generator. */
export async function runBatch(opts: BatchOptions): Promise<BatchOutcome> {
  const { items, generator, events = {} } = opts;
  const limit = pLimit(Math.max(1, opts.concurrency ?? 1));
  const settled: (Settled | undefined)[] = new Array(items.length);
  let stop = false;
  let flushed = 0;
  const results: ImageResult[] = [];
  const errors: RunError[] = [];
  let skipped = 0;
  // Emit finished images strictly in input order so streamed output is deterministic.
  let flushing: Promise<void> = Promise.resolve();
  const flush = (): Promise<void> => {
    flushing = flushing.then(async () => {
      while (flushed < items.length && settled[flushed] !== undefined) {
        const s = settled[flushed] as Settled;
        if (s.kind === 'ok') {
          results.push(s.result);
          await events.onResult?.(s.result, flushed, s.seconds);
        } else if (s.kind === 'error') {
          errors.push(s.error);
          await events.onError?.(s.error, flushed);
        } else {
          skipped++;
        }
        flushed++;
      }
    });
    return flushing;
  };
  const tasks = items.map((item, index) =>
    limit(async () => {
      if (stop || opts.signal?.aborted) {
        settled[index] = { kind: 'skipped' };
        return flush();
      }
      events.onStart?.(item, index);
      const t0 = performance.now();
      const s = await processOne(item, generator, opts.maxPixels);
      if (s.kind === 'ok') s.seconds = (performance.now() - t0) / 1000;
      if (s.kind === 'error' && opts.failFast) stop = true;
      settled[index] = s;
      return flush();
    }),
  );
  await Promise.all(tasks);
  await flush();
  return { results, errors, skipped, interrupted: opts.signal?.aborted ?? false };
}

async function processOne(item: InputItem, generator: MaskGenerator, maxPixels?: number): Promise<Settled> {
  let stage = 'decode';
  try {
    const image = await decodeImage(item.path, { maxPixels });
    stage = 'generate';
    const records = await generator.generate(image);
    return { kind: 'ok', result: { relPath: item.relPath, width: image.width, height: image.height, records }, seconds: 0 };
  } catch (err) {
    const message = err instanceof ImageDecodeError ? err.message : err instanceof Error ? err.message : String(err);
    return { kind: 'error', error: { file: item.relPath, stage, message: oneLine(message) } };
  }
}

function oneLine(s: string): string {
  return s.split('\n')[0].trim();
}
