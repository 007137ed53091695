/**
 * The batch part of the main command: journal and resume, output formats, overlays, signals, the final write and
 * the exit code. run-command.ts does the checks, loads the model and lists the inputs, then hands over here.
 *
 * Order of writes for one image (each step durable before the next):
 *   1. per-image files (sa1b JSON, amg-png folder, overlay PNG), each written atomically;
 *   2. the streamed line (jsonl);
 *   3. the journal line.
 * A crash between steps leaves an image that is not journaled: a resumed run recomputes it and overwrites what
 * steps 1–2 left, so nothing is duplicated or half-used.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { MaskGenerator } from '../amg/generator.js';
import { decodeImage, ImageDecodeError } from '../node/decode.js';
import { AMG_PNG_METADATA, amgPngFolderFor, writeAmgPngFolder } from '../output/amg-png.js';
import { writeFileAtomic } from '../output/atomic.js';
import { cocoChunks, cocoDocument, type ImageResult, type RunError, type RunInfo } from '../output/coco.js';
import { describeFsError, errorCode } from '../output/errno.js';
import { jsonlLine, JsonlWriter } from '../output/jsonl.js';
import { overlayPathFor, overlayPng, type OverlayStyle } from '../output/overlay.js';
import { sa1bDocument, sa1bPathFor, serializeSa1b } from '../output/sa1b.js';
import { StreamLineWriter, type LineSink } from '../output/stream-writer.js';
import { runBatch, StageError, type BatchOutcome, type FileIdentity } from '../run/batch.js';
import type { InputItem } from '../run/inputs.js';
import {
  fingerprintDifferences,
  Journal,
  journalPathFor,
  JournalError,
  readJournal,
  type JournalEntry,
  type JournalFingerprint,
} from '../run/journal.js';
import { count, formatSummary, plural, type Progress } from './progress.js';
import { EXIT_SIGNAL, type SignalGuard, type StopSignal } from './signals.js';
import { say } from './streams.js';

export { EXIT_SIGNAL } from './signals.js';

/** The output formats. */
export type OutputFormat = 'coco' | 'sa1b' | 'jsonl' | 'amg-png';

/** Formats whose --out is a folder of per-image files. */
export function isFolderFormat(format: OutputFormat): boolean {
  return format === 'sa1b' || format === 'amg-png';
}

/** Everything the batch part needs. */
export interface BatchRunParams {
  /** Images to process, sorted (listInputs order). */
  items: InputItem[];
  /** Problems found while listing (stage 'input'); they go into the output's error list first. */
  inputErrors: RunError[];
  generator: MaskGenerator;
  format: OutputFormat;
  /** Absolute output file (coco, jsonl) or folder (sa1b); ignored when `stdout` is set. */
  out: string;
  /** Write the output (coco or jsonl) to this stream instead (`--out -`); no journal, no error list file. */
  stdout?: NodeJS.WritableStream;
  /** The output as the user wrote it, for messages. */
  outLabel: string;
  /** The info block without errors (version, date, model, sha, options, shard). */
  info: Omit<RunInfo, 'errors'>;
  /** Execution provider (part of the journal fingerprint). */
  device: string;
  concurrency: number;
  maxPixels: number;
  failFast: boolean;
  /** Reuse the journal of an earlier run of the same output. */
  resume: boolean;
  /** Write a journal (default on; `--no-journal` turns it off). */
  journal: boolean;
  overlay?: { dir: string; style: OverlayStyle };
  progress: Progress;
  /** SIGINT/SIGTERM handling of the run: the first signal stops the batch gracefully. */
  signals?: SignalGuard;
}

/** The sidecar error list of the sa1b and jsonl formats. */
export function errorsPathFor(format: OutputFormat, out: string): string {
  return isFolderFormat(format) ? path.join(out, 'errors.json') : `${out}.errors.json`;
}

/** Per-image output file names, with the items whose name is unusable (escapes the folder, or collides). */
export interface OutputPlan {
  paths: Map<number, string>;
  errors: { index: number; error: RunError }[];
}

/**
 * Plans `pathFor(dir, relPath)` for every item: a name that would leave `dir` is refused, and when two items map
 * to the same file (`a.jpg` and `a.png` → `a.json`), or an item would overwrite one of the run's own files
 * (`reserved`), the later item fails with stage `stage`. Never throws.
 */
export function planOutputPaths(
  items: InputItem[],
  dir: string,
  pathFor: (dir: string, relPath: string) => string,
  stage: string,
  reserved: ReadonlyMap<string, string> = new Map(),
): OutputPlan {
  const plan: OutputPlan = { paths: new Map(), errors: [] };
  const used = new Map<string, string>();
  items.forEach((item, index) => {
    let target: string;
    try {
      target = pathFor(dir, item.relPath);
    } catch (err) {
      plan.errors.push({ index, error: { file: item.relPath, stage, message: err instanceof Error ? err.message : String(err) } });
      return;
    }
    const key = process.platform === 'win32' || process.platform === 'darwin' ? target.toLowerCase() : target;
    const clash = used.get(key) ?? reserved.get(key);
    if (clash !== undefined) {
      const name = path.relative(dir, target);
      plan.errors.push({ index, error: { file: item.relPath, stage, message: `output name ${name} is already used by ${clash}` } });
      return;
    }
    used.set(key, item.relPath);
    plan.paths.set(index, target);
  });
  return plan;
}

/** Runs the batch and writes the output; resolves to the exit code. */
export async function runBatchFlow(p: BatchRunParams): Promise<number> {
  const { progress, items, format, out } = p;
  const t0 = performance.now();
  const errorsFile = errorsPathFor(format, out);
  const journalFile = journalPathFor(format, out);

  // Per-image errors known before any work, by item index.
  const early = new Map<number, RunError>();
  let sa1bPaths = new Map<number, string>();
  if (format === 'sa1b') {
    const reserved = new Map([[errorsFile, 'the run\'s error list (errors.json)']]);
    const plan = planOutputPaths(items, out, sa1bPathFor, 'output', reserved);
    sa1bPaths = plan.paths;
    for (const e of plan.errors) early.set(e.index, e.error);
  }
  // amg-png: one folder per image (the reference scripts/amg.py layout).
  let amgPngFolders = new Map<number, string>();
  if (format === 'amg-png') {
    const reserved = new Map([
      [errorsFile, "the run's error list (errors.json)"],
      [journalFile, "the run's journal"],
    ]);
    const plan = planOutputPaths(items, out, amgPngFolderFor, 'output', reserved);
    amgPngFolders = plan.paths;
    for (const e of plan.errors) early.set(e.index, e.error);
  }
  let overlayPaths = new Map<number, string>();
  if (p.overlay) {
    const plan = planOutputPaths(items, p.overlay.dir, overlayPathFor, 'overlay');
    overlayPaths = plan.paths;
    for (const e of plan.errors) if (!early.has(e.index)) early.set(e.index, e.error);
  }

  // The journal: reuse what an earlier run finished, or start a new one.
  const fingerprint: JournalFingerprint = {
    version: p.info.version,
    model: p.info.model,
    model_sha256: p.info.modelSha256,
    format,
    device: p.device,
    options: p.info.options,
  };
  const restored = new Map<number, JournalEntry>();
  let journal: Journal | undefined;
  try {
    const existing = await readJournal(journalFile).catch((err: unknown) => {
      // Without --resume a file we cannot read as a journal is simply replaced.
      if (p.resume) throw err;
      return null;
    });
    if (p.resume) {
      if (existing === null) {
        progress.info(`no journal at ${journalFile}: starting from the beginning`);
      } else {
        const diff = fingerprintDifferences(existing.fingerprint, fingerprint);
        if (diff.length > 0) {
          say(
            `cannot resume: the journal ${journalFile} was written by a different run (${diff.join('; ')}). ` +
              `Rerun with the same model and options, or delete the journal (or drop --resume) to start over.`,
          );
          return 2;
        }
        for (const w of existing.warnings) progress.warn(w);
        await matchJournal(items, existing.entries, early, restored);
      }
    } else if (existing !== null && existing.entries.size > 0 && p.journal) {
      progress.warn(`starting over: the journal ${journalFile} of an earlier run (${plural(existing.entries.size, 'image')} done) is replaced; use --resume to continue it`);
    }
    if (p.journal) {
      journal = p.resume && existing !== null ? await Journal.reopen(journalFile) : await Journal.create(journalFile, fingerprint);
      if (journal.truncatedBytes > 0) progress.info(`journal: cut a partly written last line (${journal.truncatedBytes} bytes); that image is recomputed`);
    }
  } catch (err) {
    say(err instanceof JournalError ? err.message : `journal ${journalFile}: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  }
  if (restored.size > 0) progress.info(`resuming: ${count(restored.size)} of ${plural(items.length, 'image')} already done (journal ${journalFile})`);

  // Restored images whose per-image files are missing (deleted, or an earlier run without --overlay) get them back.
  const regenErrors = new Map<number, RunError>();
  for (const [index, entry] of restored) {
    try {
      const sa1b = sa1bPaths.get(index);
      if (sa1b !== undefined && !(await exists(sa1b))) await writeSa1b(sa1b, entry.result, index);
      const folder = amgPngFolders.get(index);
      if (folder !== undefined && !(await exists(path.join(folder, AMG_PNG_METADATA)))) await writeAmgPng(folder, entry.result);
      const png = overlayPaths.get(index);
      if (png !== undefined && p.overlay && !(await exists(png))) {
        const image = await decodeImage(items[index].path, { maxPixels: p.maxPixels });
        await writeOverlay(png, image, entry.result, p.overlay.style, format);
      }
    } catch (err) {
      const stage = err instanceof StageError ? err.stage : err instanceof ImageDecodeError ? 'decode' : 'output';
      regenErrors.set(index, { file: items[index].relPath, stage, message: err instanceof Error ? err.message : String(err) });
    }
  }
  for (const [index, e] of regenErrors) {
    restored.delete(index);
    early.set(index, e);
  }

  // The streamed output starts as what the journal restored (one atomic replacement), then grows line by line.
  let jsonl: LineSink | undefined;
  const stdout = p.stdout ? new StreamLineWriter(p.stdout, 'stdout') : undefined;
  try {
    if (format === 'jsonl' && stdout) {
      jsonl = stdout;
    } else if (format === 'jsonl') {
      const lines = [...restored.keys()].sort((a, b) => a - b).map((i) => jsonlLine((restored.get(i) as JournalEntry).result));
      await writeFileAtomic(out, lines);
      jsonl = await JsonlWriter.open(out, { append: true });
    } else if (isFolderFormat(format)) {
      await fsp.mkdir(out, { recursive: true });
    }
    if (p.overlay) await fsp.mkdir(p.overlay.dir, { recursive: true });
  } catch (err) {
    say(`${err instanceof Error ? err.message : String(err)}`);
    await journal?.close().catch(() => undefined);
    return 2;
  }

  const pendingIndex: number[] = [];
  items.forEach((_, i) => {
    if (!restored.has(i) && !early.has(i)) pendingIndex.push(i);
  });
  const pending = pendingIndex.map((i) => items[i]);

  // Signals: the first one stops new images and lets the ones in flight finish; a second one exits at once
  // (signals.ts), and the journal is then usable as it is.
  const abort = new AbortController();
  let caught: StopSignal | undefined;
  p.signals?.onStop((sig) => {
    caught = sig;
    abort.abort();
    const hint = journal ? '; the journal keeps every finished image' : '';
    progress.warn(`${sig}: finishing the images in flight, then writing the output${hint} (${sig === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again to stop at once)`);
  });

  progress.start(items.length, restored.size, p.generator.promptsPerImage);
  for (const [, e] of [...early].sort((a, b) => a[0] - b[0])) progress.imageFailed(e.file, e.stage, e.message);
  const outcome: BatchOutcome = await runBatch({
    items: pending,
    generator: p.generator,
    concurrency: p.concurrency,
    maxPixels: p.maxPixels,
    failFast: p.failFast,
    signal: abort.signal,
    afterImage: async (_item, image, result, i) => {
      const index = pendingIndex[i];
      const sa1b = sa1bPaths.get(index);
      if (sa1b !== undefined) await writeSa1b(sa1b, result, index);
      const folder = amgPngFolders.get(index);
      if (folder !== undefined) await writeAmgPng(folder, result);
      const png = overlayPaths.get(index);
      if (png !== undefined && p.overlay) await writeOverlay(png, image, result, p.overlay.style, format);
    },
    events: {
      onStart: (item) => progress.imageStarted(item.relPath),
      onProgress: (item, _i, pr) => progress.imageProgress(item.relPath, pr),
      onResult: async (r, _i, s, file: FileIdentity, timing) => {
        progress.imageDone(r.relPath, r.records.length, s, { width: r.width, height: r.height, timing });
        if (jsonl) await jsonl.append(jsonlLine(r));
        if (journal) await journal.append(r, file);
      },
      onError: (e) => progress.imageFailed(e.file, e.stage, e.message),
    },
  });
  if (outcome.fatal) say(`stopping: ${outcome.fatal.message}`);

  // Everything in input order: restored and new results, early and batch errors.
  const resultAt = new Map<number, ImageResult>();
  for (const [i, e] of restored) resultAt.set(i, e.result);
  outcome.results.forEach((r, k) => resultAt.set(pendingIndex[outcome.resultIndex[k]], r));
  const errorAt = new Map<number, RunError>(early);
  outcome.errors.forEach((e, k) => errorAt.set(pendingIndex[outcome.errorIndex[k]], e));
  const results = [...resultAt.keys()].sort((a, b) => a - b).map((i) => resultAt.get(i) as ImageResult);
  const errors = [...p.inputErrors, ...[...errorAt.keys()].sort((a, b) => a - b).map((i) => errorAt.get(i) as RunError)];

  // The output. A failure here leaves the previous file in place (atomic replacement) and the journal as it was.
  let outputFailed = false;
  let listFailed = false;
  /** Where the failures are listed, once that list is written. */
  let errorsListed: string | undefined;
  try {
    if (format === 'coco') {
      const chunks = cocoChunks(cocoDocument(results, { ...p.info, errors }));
      if (stdout) await stdout.writeAll(chunks);
      else await writeFileAtomic(out, chunks);
      errorsListed = `info.errors of ${p.outLabel}`;
    } else {
      await jsonl?.close();
    }
    if (stdout) await stdout.close();
  } catch (err) {
    outputFailed = true;
    errorsListed = undefined;
    const keep = format === 'coco' && !stdout ? '; the previous output is unchanged' : '';
    say(`${err instanceof Error ? err.message : String(err)}${keep}`);
  }
  if (format !== 'coco') {
    if (stdout) errorsListed = 'the error lines above';
    else {
      try {
        await writeErrorsSidecar(errorsFile, errors);
        errorsListed = errorsFile;
      } catch (err) {
        listFailed = true;
        say(err instanceof Error ? err.message : String(err));
      }
    }
  }
  const writeFailed = outputFailed || listFailed;
  const complete = !caught && !outcome.fatal && !writeFailed && outcome.skipped === 0;
  const allOk = complete && errors.length === 0;
  try {
    if (journal && allOk) await journal.remove();
    else await journal?.close();
  } catch (err) {
    say(`journal ${journalFile}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (journal && !allOk) {
    const why = complete ? 'rerun with --resume to retry only the failed images' : 'rerun with --resume to continue';
    progress.info(`journal kept at ${journalFile}: ${why}`);
  }

  const masks = results.reduce((s, r) => s + r.records.length, 0);
  progress.finish(
    formatSummary({
      ok: results.length,
      restored: restored.size,
      failed: errors.length,
      skipped: outcome.skipped,
      masks,
      seconds: (performance.now() - t0) / 1000,
      out: p.outLabel,
      written: !outputFailed,
      interrupted: caught,
    }),
  );
  if (errors.length > 0) {
    const byStage = new Map<string, number>();
    for (const e of errors) byStage.set(e.stage, (byStage.get(e.stage) ?? 0) + 1);
    const stages = [...byStage].map(([s, n]) => `${n} ${s}`).join(', ');
    // Only a list that was actually written is pointed to.
    const where = errorsListed !== undefined ? `listed in ${errorsListed}` : 'the list could not be written: see the error lines above';
    progress.warn(`${plural(errors.length, 'image')} failed (${stages}); ${where}`);
  }
  if (caught) return EXIT_SIGNAL[caught];
  return writeFailed || outcome.fatal || errors.length > 0 || outcome.skipped > 0 ? 1 : 0;
}

/** Moves journal entries whose file is unchanged (same size and mtime) into `restored`. */
async function matchJournal(
  items: InputItem[],
  entries: Map<string, JournalEntry>,
  early: Map<number, RunError>,
  restored: Map<number, JournalEntry>,
): Promise<void> {
  for (const [index, item] of items.entries()) {
    if (early.has(index)) continue;
    const entry = entries.get(item.relPath);
    if (entry === undefined) continue;
    try {
      const st = await fsp.stat(item.path);
      if (st.size === entry.file.size && st.mtimeMs === entry.file.mtimeMs) restored.set(index, entry);
    } catch {
      // Gone or unreadable: processing reports it.
    }
  }
}

async function writeSa1b(file: string, result: ImageResult, index: number): Promise<void> {
  try {
    await fsp.mkdir(path.dirname(file), { recursive: true });
    await writeFileAtomic(file, serializeSa1b(sa1bDocument(result, index + 1)));
  } catch (err) {
    throw new StageError('output', err instanceof Error ? err.message : String(err), { cause: err });
  }
}

async function writeAmgPng(folder: string, result: ImageResult): Promise<void> {
  try {
    await writeAmgPngFolder(folder, result);
  } catch (err) {
    throw new StageError('output', err instanceof Error ? err.message : String(err), { cause: err });
  }
}

async function writeOverlay(file: string, image: Parameters<typeof overlayPng>[0], result: ImageResult, style: OverlayStyle, format: OutputFormat): Promise<void> {
  try {
    await fsp.mkdir(path.dirname(file), { recursive: true });
    // Labels show the ids of the output: 0-based file names in amg-png, 1-based ids otherwise.
    await writeFileAtomic(file, await overlayPng(image, result.records, style, format === 'amg-png' ? 0 : 1));
  } catch (err) {
    throw new StageError('overlay', err instanceof Error ? err.message : String(err), { cause: err });
  }
}

/** `{"errors":[…]}` (one error per line) when there are errors; otherwise a stale file from an earlier run is removed. */
async function writeErrorsSidecar(file: string, errors: RunError[]): Promise<void> {
  if (errors.length === 0) {
    try {
      await fsp.rm(file);
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') throw new Error(`cannot remove ${file}: ${describeFsError(err)}`, { cause: err });
    }
    return;
  }
  const rows = errors.map((e) => JSON.stringify({ file: e.file, stage: e.stage, message: e.message }));
  await writeFileAtomic(file, `{"errors":[\n${rows.join(',\n')}\n]}\n`);
}

async function exists(file: string): Promise<boolean> {
  try {
    await fsp.access(file);
    return true;
  } catch {
    return false;
  }
}
