/**
 * `sam-amg <inputs...>`: flags → options, checks before any work, model resolution, the batch, the output file.
 * No algorithm here.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { MaskGenerator } from '../amg/generator.js';
import { MAX_IMAGE_PIXELS, optionsRecord, resolveOptions, type AmgOptions } from '../amg/options.js';
import { DEFAULT_MODEL_ID, formatProgress, resolveModel } from '../node/hub/index.js';
import { IMAGE_EXTENSIONS } from '../node/decode.js';
import { readRegularFile } from '../node/read-input.js';
import { parseDtype } from '../model/dtype.js';
import { loadModel, modelSha256 } from '../node/model-folder.js';
import { createCandidateEvaluator, parseWorkersFlag, postprocessWorkerCount } from '../node/postprocess-pool.js';
import type { RunError } from '../output/index.js';
import { DEFAULT_OVERLAY_STYLE, overlayPathFor, parseOverlayStyle, type OverlayStyle } from '../output/overlay.js';
import { amgPngFolderFor } from '../output/amg-png.js';
import { sa1bPathFor } from '../output/sa1b.js';
import { isFolderFormat, type OutputFormat } from '../output/sink.js';
import { errorsPathFor } from '../output/sinks/index.js';
import { listInputs, type InputItem, type InputListing } from '../run/inputs.js';
import { journalPathFor } from '../run/journal.js';
import { LockError, lockPathFor, OutputLock } from '../run/lock.js';
import { planOutputPaths } from '../run/output-plan.js';
import { resolveShard, shardItems, type ResolvedShard } from '../run/shard.js';
import { VERSION } from '../base/version.js';
import { runBatchFlow } from './batch-run.js';
import { CLI_BOUNDS, checkBound, parseNumber } from './numbers.js';
import {
  checkDirNotInput,
  checkNotInput,
  checkOutputDir,
  checkOutputFile,
  type FileRole,
  type InputPaths,
  type WrittenPath,
} from './output-checks.js';
import { createProgress, plural, type Progress } from './progress.js';
import { SignalGuard } from './signals.js';
import { say } from './streams.js';
import { cliMessage, UsageError } from './usage.js';
import { checkRunReport, reportAfterRun } from './report-command.js';
import { errorMessage } from '../base/errors.js';

/** Exit codes: every image succeeded, some failed, usage or model error. */
export const EXIT = { ok: 0, someFailed: 1, usage: 2 } as const;

/** Flags of the main command, as commander hands them over. */
export interface RunFlags {
  out?: string;
  model?: string;
  revision?: string;
  dtype: string;
  device: string;
  threads?: number;
  /** false with --no-optimise. */
  optimise?: boolean;
  concurrency: number;
  format: string;
  date?: string;
  quiet?: boolean;
  filesFrom?: string;
  shard?: string;
  shardCount?: number;
  maxPixels: number;
  failFast?: boolean;
  resume?: boolean;
  force?: boolean;
  /** false with --no-journal. */
  journal: boolean;
  overlay?: string;
  overlayStyle?: string;
  report?: string;
  pointsPerSide?: number;
  pointGrids?: string;
  pointsPerBatch?: number;
  predIouThresh?: number;
  stabilityScoreThresh?: number;
  stabilityScoreOffset?: number;
  maskThreshold?: number;
  boxNmsThresh?: number;
  cropNLayers?: number;
  cropNmsThresh?: number;
  cropOverlapRatio?: number;
  cropNPointsDownscaleFactor?: number;
  minMaskRegionArea?: number;
  multimask: boolean;
  useM2m?: boolean;
  postprocessWorkers?: string;
}

/** Adds the main command's flags to a commander command. */
export function addRunOptions(cmd: Command): Command {
  return cmd
    .option('-o, --out <file|dir>', 'output file (coco, jsonl), folder (sa1b, amg-png), or - for stdout (coco, jsonl)')
    .option('-m, --model <folder|id>', `model folder or hub id[@revision] (default ${DEFAULT_MODEL_ID})`)
    .option('--revision <rev>', 'hub revision (branch, tag or commit)')
    .option('--dtype <name>', 'ONNX dtype: fp32, fp16, q8, int8, uint8, q4, q4f16, bnb4, or encoder,decoder', 'fp32')
    .option('--device <name>', 'execution provider: cpu, cuda, tensorrt, coreml, dml, webgpu', 'cpu')
    .option('--threads <n>', 'ONNX Runtime intra-op threads, 1–256 (default: number of cores)', parseNumber)
    .option('--no-optimise', 'run the decoder graph as exported (no load-time graph optimiser)')
    .option('--concurrency <n>', 'images in flight at once, 1–32', parseNumber, 1)
    .addOption(new Option('--format <name>', 'output format').choices(['coco', 'sa1b', 'jsonl', 'amg-png']).default('coco'))
    .option('--date <iso|none>', 'pin info.date_created (ISO 8601) or omit it with "none" (default: now, or SOURCE_DATE_EPOCH)')
    .option('-q, --quiet', 'print errors only')
    .option('--files-from <file>', 'read input paths from a file, one per line ("-" for stdin)')
    .option('--shard <K/N|auto|none>', 'process only shard K of N (0-based) of the sorted inputs; auto: from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX', 'auto')
    .option('--shard-count <n>', 'the shard count N when the index comes from the environment (SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX)', parseNumber)
    .option('--max-pixels <n>', `refuse images above this many pixels before decoding (at most ${MAX_IMAGE_PIXELS})`, parseNumber, 100_000_000)
    .option('--fail-fast', 'stop at the first failing image')
    .option('--resume', 'continue an interrupted run of the same output from its journal (finished images are not recomputed)')
    .option('--no-journal', 'do not write the journal that makes a run resumable')
    .option('--force', 'replace an existing --out even if it is not an earlier sam-amg output')
    .option('--overlay <dir>', 'also write one PNG per image with its masks drawn over it, mirroring the input tree')
    .option('--report <dir>', 'also write a static HTML report of the output (see: sam-amg report --help)')
    .option('--overlay-style <list>', 'what overlays draw: fill, outline, box, points, labels, alpha=X, width=N (default fill,outline,alpha=0.45)')
    .option('--points-per-side <n>', 'n×n prompt grid on the full image, 1–256 (default 32)', parseNumber)
    .option('--point-grids <file>', 'JSON file with explicit normalised [x, y] grids, one per crop layer')
    .option('--points-per-batch <n>', 'prompts per decoder call, 1–1024 (speed only; default 64)', parseNumber)
    .option('--pred-iou-thresh <x>', 'keep masks with predicted IoU > x (default 0.88 SAM 1, 0.8 SAM 2)', parseNumber)
    .option('--stability-score-thresh <x>', 'keep masks with stability ≥ x (default 0.95)', parseNumber)
    .option('--stability-score-offset <x>', 'logit offset of the stability score (default 1)', parseNumber)
    .option('--mask-threshold <x>', 'logit cut-off that binarises masks (default 0)', parseNumber)
    .option('--box-nms-thresh <x>', 'box IoU cut-off for NMS inside a crop (default 0.7)', parseNumber)
    .option('--crop-n-layers <n>', 'extra crop layers, 0–4 (default 0)', parseNumber)
    .option('--crop-nms-thresh <x>', 'box IoU cut-off for NMS across crops (default 0.7)', parseNumber)
    .option('--crop-overlap-ratio <x>', 'crop overlap as a fraction of the short side (default 512/1500)', parseNumber)
    .option('--crop-n-points-downscale-factor <x>', 'layer i uses points-per-side / x^i points (default 1)', parseNumber)
    .option('--min-mask-region-area <n>', 'remove holes and islands smaller than n pixels (default 0)', parseNumber)
    .option('--no-multimask', 'use the single-mask output (layouts that have one)')
    .option('--use-m2m', "SAM 2's mask-to-mask refinement (layouts with a mask input)")
    .option('--postprocess-workers <n|auto>', 'threads for mask post-processing (speed only; auto: the cores ONNX Runtime leaves idle, at most 4)', 'auto');
}

/** The largest --point-grids file read. */
const MAX_GRID_FILE_BYTES = 64 * 2 ** 20;

/** The AMG options the user gave (unset ones stay undefined and take the family's defaults). */
export async function amgOptionsFromFlags(f: RunFlags): Promise<Partial<AmgOptions>> {
  let pointGrids: number[][][] | undefined;
  if (f.pointGrids) {
    let text: string;
    try {
      text = (await readRegularFile(f.pointGrids, MAX_GRID_FILE_BYTES)).toString('utf8');
    } catch (err) {
      throw new UsageError(`--point-grids: cannot read ${f.pointGrids}: ${errorMessage(err)}`);
    }
    try {
      pointGrids = JSON.parse(text) as number[][][];
    } catch {
      throw new UsageError(`--point-grids: ${f.pointGrids} is not valid JSON`);
    }
  }
  return {
    pointsPerSide: f.pointsPerSide,
    pointGrids,
    pointsPerBatch: f.pointsPerBatch,
    predIouThresh: f.predIouThresh,
    stabilityScoreThresh: f.stabilityScoreThresh,
    stabilityScoreOffset: f.stabilityScoreOffset,
    maskThreshold: f.maskThreshold,
    boxNmsThresh: f.boxNmsThresh,
    cropNLayers: f.cropNLayers,
    cropNmsThresh: f.cropNmsThresh,
    cropOverlapRatio: f.cropOverlapRatio,
    cropNPointsDownscaleFactor: f.cropNPointsDownscaleFactor,
    minMaskRegionArea: f.minMaskRegionArea,
    multimaskOutput: f.multimask === false ? false : undefined,
    useM2m: f.useM2m ? true : undefined,
  };
}

/** The date written into info.date_created, or null to omit it. */
export function runDate(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | null {
  if (flag === 'none') return null;
  if (flag !== undefined) {
    const d = new Date(flag);
    if (Number.isNaN(d.getTime())) throw new UsageError(`--date: '${flag}' is not an ISO 8601 date (or 'none')`);
    return d.toISOString();
  }
  if (env.SOURCE_DATE_EPOCH && /^\d+$/.test(env.SOURCE_DATE_EPOCH)) return new Date(Number(env.SOURCE_DATE_EPOCH) * 1000).toISOString();
  return new Date().toISOString();
}

/** How messages name the --out folder of each folder format. */
const FOLDER_WHAT: Readonly<Record<string, string>> = { sa1b: 'the SA-1B output folder', 'amg-png': 'the amg-png output folder' };

/** Runs the main command; returns the exit code. */
export async function runCommand(inputs: string[], f: RunFlags): Promise<number> {
  const progress = createProgress({ quiet: Boolean(f.quiet) });
  const signals = new SignalGuard((m) => say(m));
  try {
    return await run(inputs, f, progress, signals);
  } finally {
    signals.uninstall();
  }
}

async function run(inputs: string[], f: RunFlags, progress: Progress, signals: SignalGuard): Promise<number> {
  const fail = (err: unknown): number => {
    say(cliMessage(err));
    return EXIT.usage;
  };
  // 1. Everything that can be checked from the flags alone.
  let given: Partial<AmgOptions>;
  let date: string | null;
  let shard: ResolvedShard | undefined;
  let overlayStyle: OverlayStyle = DEFAULT_OVERLAY_STYLE;
  const format = f.format as OutputFormat;
  const toStdout = f.out === '-';
  let postprocessWorkers = 0;
  try {
    given = await amgOptionsFromFlags(f);
    resolveOptions(given, 'sam');
    date = runDate(f.date);
    shard = resolveShard(f.shard, f.shardCount);
    if (!f.out) throw new UsageError('--out <file> is required (or --out - for stdout)');
    if (f.resume && f.journal === false) throw new UsageError('--resume needs the journal; drop --no-journal');
    if (toStdout && isFolderFormat(format)) throw new UsageError(`--out - writes one document to stdout: use --format coco or jsonl there (${format} writes a folder of files)`);
    if (toStdout && f.resume) throw new UsageError('--resume needs a journal, which --out - (stdout) does not keep: give --out a file');
    if (f.overlayStyle !== undefined) {
      if (!f.overlay) throw new UsageError('--overlay-style needs --overlay <dir>');
      overlayStyle = parseOverlayStyle(f.overlayStyle);
    }
    if (f.report !== undefined) {
      if (toStdout) throw new UsageError('--report reads the output file, which --out - (stdout) does not keep: give --out a file');
      await checkRunReport(f.report, format);
    }
    if (inputs.length === 0 && !f.filesFrom) throw new UsageError('no inputs: give image files, folders or --files-from');
    checkBound('--threads', f.threads, CLI_BOUNDS.threads);
    checkBound('--concurrency', f.concurrency, CLI_BOUNDS.concurrency);
    checkBound('--max-pixels', f.maxPixels, CLI_BOUNDS.maxPixels);
    postprocessWorkers = postprocessWorkerCount(parseWorkersFlag(f.postprocessWorkers), f.threads, f.concurrency);
  } catch (err) {
    return fail(err);
  }
  const out = toStdout ? '-' : path.resolve(f.out as string);
  const journalOn = f.journal !== false && !toStdout;
  const force = Boolean(f.force);
  const outFlag = `--out ${f.out as string}`;
  const overlayDir = f.overlay ? path.resolve(f.overlay) : undefined;
  const overlayFlag = `--overlay ${f.overlay as string}`;
  const reportDir = f.report !== undefined ? path.resolve(f.report) : undefined;

  // 2. The inputs, and no written path among them (listing reads folders only: no image is opened).
  let listing: InputListing;
  try {
    listing = await listInputs(inputs, { filesFrom: f.filesFrom, extensions: IMAGE_EXTENSIONS });
  } catch (err) {
    return fail(err);
  }
  if (listing.items.length === 0 && listing.errors.length === 0) return fail('no images found in the inputs');
  const items = shard ? shardItems(listing.items, shard) : listing.items;
  try {
    const inputPaths = inputPathsOf(listing);
    if (!toStdout) {
      if (isFolderFormat(format)) {
        const plan = planOutputPaths(items, out, format === 'sa1b' ? sa1bPathFor : amgPngFolderFor, 'output');
        await checkDirNotInput({ flag: outFlag, path: out, what: FOLDER_WHAT[format] }, inputPaths, pathsWithSources(plan.paths, items));
      } else {
        for (const [p, what] of [
          [out, 'the output'],
          [journalPathFor(format, out), 'the journal'],
          [errorsPathFor(format, out), 'the error list'],
          [lockPathFor(format, out), 'the lock'],
        ] as const) {
          await checkNotInput({ flag: outFlag, path: p, what }, inputPaths);
        }
      }
    }
    if (overlayDir) {
      const plan = planOutputPaths(items, overlayDir, overlayPathFor, 'overlay');
      await checkDirNotInput({ flag: overlayFlag, path: overlayDir, what: 'the overlay folder' }, inputPaths, pathsWithSources(plan.paths, items));
    }
    if (reportDir) await checkDirNotInput({ flag: `--report ${f.report as string}`, path: reportDir, what: 'the report folder' }, inputPaths, []);
  } catch (err) {
    return fail(err);
  }

  // 3. Every path the run writes: the right kind, a writable folder, nothing of the user's replaced.
  try {
    if (!toStdout) {
      if (isFolderFormat(format)) {
        await checkOutputDir({ flag: outFlag, path: out, what: FOLDER_WHAT[format] }, force, 'output');
        await checkOutputFileIfPresent({ flag: outFlag, path: journalPathFor(format, out), what: 'the journal' }, 'journal', force);
        await checkOutputFileIfPresent({ flag: outFlag, path: errorsPathFor(format, out), what: 'the error list' }, 'errors', force);
      } else {
        await checkOutputFile({ flag: outFlag, path: out, what: 'the output' }, 'output', force);
        if (journalOn) await checkOutputFile({ flag: outFlag, path: journalPathFor(format, out), what: 'the journal' }, 'journal', force);
        if (format === 'jsonl') await checkOutputFile({ flag: outFlag, path: errorsPathFor(format, out), what: 'the error list' }, 'errors', force);
      }
    }
    if (overlayDir) await checkOutputDir({ flag: overlayFlag, path: overlayDir, what: 'the overlay folder' }, true);
  } catch (err) {
    return fail(err);
  }

  // 4. One writer per output.
  let lock: OutputLock | undefined;
  let createdOut = false;
  if (!toStdout) {
    try {
      if (isFolderFormat(format)) createdOut = await makeDir(out);
      lock = await OutputLock.acquire(lockPathFor(format, out), outFlag.replace(/^--out /u, ''), (m) => progress.warn(m));
    } catch (err) {
      if (createdOut) await fsp.rmdir(out).catch(() => undefined);
      return fail(err instanceof LockError || err instanceof UsageError ? err : new UsageError(`${outFlag}: ${cliMessage(err)}`));
    }
    const held = lock;
    signals.onExit(() => held.releaseSync());
  }
  try {
    return await runLocked();
  } finally {
    await lock?.release().catch(() => undefined);
  }

  async function runLocked(): Promise<number> {
    // 5. The model, before any image is read.
    let generator: MaskGenerator;
    let modelName: string;
    let sha: string;
    try {
      const dtype = parseDtype(f.dtype);
      modelName = f.model ?? DEFAULT_MODEL_ID;
      const resolved = await resolveModel(modelName, {
        dtype,
        revision: f.revision,
        onProgress: (pr) => progress.info(formatProgress(pr)),
      });
      const loaded = await loadModel(resolved.dir, {
        dtype,
        threads: f.threads,
        device: f.device,
        optimise: f.optimise !== false,
        onWarning: (m) => progress.warn(m),
      });
      sha = await modelSha256([loaded.files.encoder, loaded.files.decoder]);
      generator = new MaskGenerator(loaded.adapter, given, loaded, createCandidateEvaluator(postprocessWorkers));
    } catch (err) {
      if (createdOut) await fsp.rmdir(out).catch(() => undefined);
      return fail(err);
    }
    try {
      for (const w of listing.warnings) progress.warn(w);
      // Listing errors belong to shard 0 only, so that merged shards record each once, where a single run does.
      const errors: RunError[] = (shard && shard.index > 0 ? [] : listing.errors).map((e) => ({ file: e.path, stage: 'input', message: e.reason }));
      for (const e of errors) progress.imageFailed(e.file, e.stage, e.message);
      if (shard) progress.info(`shard ${shard.index}/${shard.count} (${shard.source}): ${items.length} of ${plural(listing.items.length, 'image')}`);
      const code = await runBatchFlow({
        items,
        inputErrors: errors,
        generator,
        format,
        out,
        outLabel: toStdout ? 'stdout' : (f.out as string),
        ...(toStdout ? { stdout: process.stdout } : {}),
        info: {
          version: VERSION,
          date,
          model: modelName,
          modelSha256: sha,
          options: optionsRecord(generator.options),
          ...(shard ? { shard: { index: shard.index, count: shard.count, images: items.length, total: listing.items.length } } : {}),
        },
        device: f.device,
        concurrency: f.concurrency,
        maxPixels: f.maxPixels,
        failFast: Boolean(f.failFast),
        resume: Boolean(f.resume),
        journal: journalOn,
        overlay: overlayDir ? { dir: overlayDir, style: overlayStyle } : undefined,
        progress,
        signals,
      });
      // --report: the HTML report of the output just written (src/cli/report-command.ts).
      if (reportDir === undefined) return code;
      return await reportAfterRun(reportDir, { out, format, items, code, maxPixels: f.maxPixels, quiet: Boolean(f.quiet) });
    } finally {
      await generator.release();
    }
  }
}

/** Input files and folders by real path, for the checks that no output lands on them. */
function inputPathsOf(listing: InputListing): InputPaths {
  const files = new Map<string, string>();
  for (const item of listing.items) files.set(item.realPath ?? item.path, item.path);
  return { files, folders: new Map(listing.folders.map((d) => [d, d])) };
}

/** Planned per-image files with the input each belongs to. */
function pathsWithSources(paths: Map<number, string>, items: InputItem[]): [string, string][] {
  return [...paths].map(([i, p]) => [p, items[i].relPath]);
}

/** checkOutputFile for a file inside an output folder that may not exist yet. */
async function checkOutputFileIfPresent(w: WrittenPath, role: FileRole, force: boolean): Promise<void> {
  try {
    await fsp.access(path.dirname(w.path));
  } catch {
    return;
  }
  await checkOutputFile(w, role, force);
}

/** Creates `dir` (and its parents); true when it did not exist before. */
async function makeDir(dir: string): Promise<boolean> {
  try {
    await fsp.access(dir);
    return false;
  } catch {
    await fsp.mkdir(dir, { recursive: true });
    return true;
  }
}
