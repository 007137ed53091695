/**
 * `sam-amg <inputs...>`: flags → settings, the inputs, the output plan and its checks before any work, the model,
 * the batch (src/cli/batch-run.ts), the report.
 * No algorithm here. `sam-amg segment` (segment-command.ts) runs the same steps with another {@link RunMode}: its
 * own choice of images and its own segmenter.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { MaskGenerator } from '../amg/generator.js';
import { MAX_IMAGE_PIXELS, MAX_TILED_IMAGE_PIXELS, optionsRecord, resolveOptions, type AmgOptions } from '../amg/options.js';
import { VERSION } from '../base/version.js';
import type { LoadedModel } from '../model/load.js';
import { DEFAULT_MODEL_ID, formatProgress, resolveModel } from '../node/hub/index.js';
import { IMAGE_EXTENSIONS, overLimitReason } from '../node/decode.js';
import { readRegularFile } from '../node/read-input.js';
import { parseDtype } from '../model/dtype.js';
import { loadModel, modelSha256 } from '../node/model-folder.js';
import { createCandidateEvaluator, parseWorkersFlag, postprocessWorkerCount } from '../node/postprocess-pool.js';
import type { CocoCategory, RunError, RunInfo } from '../output/coco.js';
import type { YoloClasses } from '../output/yolo.js';
import { DEFAULT_OVERLAY_STYLE, parseOverlayStyle, type OverlayStyle } from '../output/overlay.js';
import { isFolderFormat, isPolygonFormat, type OutputFormat } from '../output/sink.js';
import { DEFAULT_POLYGON_TOLERANCE, type PolygonOptions } from '../output/segmentation.js';
import { listInputs, type InputItem, type InputListing } from '../run/inputs.js';
import { LockError, OutputLock } from '../run/lock.js';
import { planRun, type RunPlan } from '../run/output-plan.js';
import type { TiledReads } from '../run/batch.js';
import { amgSegmenter, type ImageSegmenter } from '../run/segmenter.js';
import { resolveShard, shardItems, type ResolvedShard } from '../run/shard.js';
import { runBatchFlow } from './batch-run.js';
import { CLI_BOUNDS, checkBound, parseNumber } from './numbers.js';
import { checkRunPlan, type InputPaths } from './output-checks.js';
import { createProgress, plural, type Progress } from './progress.js';
import { SignalGuard } from './signals.js';
import { say } from './streams.js';
import { cliMessage, UsageError } from './usage.js';
import { checkRunReport, reportAfterRun } from './report-command.js';
import { errorMessage } from '../base/errors.js';

/** Exit codes: every image succeeded, some failed, usage or model error. */
export const EXIT = { ok: 0, someFailed: 1, usage: 2 } as const;

/** Flags every batch command has (the main command and `segment`), as commander hands them over. */
export interface BatchFlags {
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
  postprocessWorkers?: string;
  segmentation?: string;
  polygonTolerance?: number;
  polygonHoles?: string;
}

/** Flags of the main command, as commander hands them over. */
export interface RunFlags extends BatchFlags {
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
  tile?: number;
  tileOverlap?: number;
}

/** Adds the main command's flags to a commander command. */
export function addRunOptions(cmd: Command): Command {
  addBatchOptions(cmd)
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
    .option('--tile <px>', `tiled mode for very large images: process tiles of px×px (64–16384) instead of the whole image (no --crop-n-layers); images up to ${MAX_TILED_IMAGE_PIXELS} pixels, read tile by tile`, parseNumber)
    .option('--tile-overlap <px>', 'overlap of neighbouring tiles in pixels, 0 ≤ px < --tile (default: --tile / 8)', parseNumber);
  return addWorkerOption(cmd);
}

/** The post-processing threads flag (last in every batch command's help). */
export function addWorkerOption(cmd: Command): Command {
  return cmd.option(
    '--postprocess-workers <n|auto>',
    'threads for mask post-processing (speed only; auto: the cores ONNX Runtime leaves idle, at most 4)',
    'auto',
  );
}

/**
 * Adds the flags every batch command has (model, output, inputs, batch control, overlays, report) to a commander
 * command; the main command adds its AMG options after them, `segment` its own.
 */
export function addBatchOptions(cmd: Command): Command {
  return cmd
    .option('-o, --out <file|dir>', 'output file (coco, jsonl), folder (sa1b, amg-png, yolo, geojson), or - for stdout (coco, jsonl)')
    .option('-m, --model <folder|id>', `model folder or hub id[@revision] (default ${DEFAULT_MODEL_ID})`)
    .option('--revision <rev>', 'hub revision (branch, tag or commit)')
    .option('--dtype <name>', 'ONNX dtype: fp32, fp16, q8, int8, uint8, q4, q4f16, bnb4, or encoder,decoder', 'fp32')
    .option('--device <name>', 'execution provider: cpu, cuda, tensorrt, coreml, dml, webgpu', 'cpu')
    .option('--threads <n>', 'ONNX Runtime intra-op threads, 1–256 (default: number of cores)', parseNumber)
    .option('--no-optimise', 'run the encoder and decoder graphs as exported (no load-time graph optimisers)')
    .option('--concurrency <n>', 'images in flight at once, 1–32', parseNumber, 1)
    .addOption(new Option('--format <name>', 'output format').choices(['coco', 'sa1b', 'jsonl', 'amg-png', 'yolo', 'geojson']).default('coco'))
    .addOption(
      new Option('--segmentation <kind>', 'how coco, sa1b and jsonl write masks: rle (exact) or polygon (COCO polygon lists) (default rle)').choices([
        'rle',
        'polygon',
      ]),
    )
    .option(
      '--polygon-tolerance <px>',
      `simplify polygons (--segmentation polygon, yolo, geojson) by up to px pixels, ${CLI_BOUNDS.polygonTolerance.min}–${CLI_BOUNDS.polygonTolerance.max}; 0 keeps the exact pixel boundary (default ${DEFAULT_POLYGON_TOLERANCE})`,
      parseNumber,
    )
    .addOption(
      new Option('--polygon-holes <how>', 'COCO polygons cannot hold holes: fill writes outer boundaries, rle keeps RLE for masks with holes (default fill)').choices([
        'fill',
        'rle',
      ]),
    )
    .option('--date <iso|none>', 'pin info.date_created (ISO 8601) or omit it with "none" (default: now, or SOURCE_DATE_EPOCH)')
    .option('-q, --quiet', 'print errors only')
    .option('--files-from <file>', 'read input paths from a file, one per line ("-" for stdin)')
    .option('--shard <K/N|auto|none>', 'process only shard K of N (0-based) of the sorted inputs; auto: from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX', 'auto')
    .option('--shard-count <n>', 'the shard count N when the index comes from the environment (SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX)', parseNumber)
    .option('--max-pixels <n>', `refuse images above this many pixels before decoding (at most ${MAX_IMAGE_PIXELS}); with --tile, only what needs a whole image in memory: overlays, amg-png, WebP/GIF/AVIF and progressive JPEG/PNG`, parseNumber, 100_000_000)
    .option('--fail-fast', 'stop at the first failing image')
    .option('--resume', 'continue an interrupted run of the same output from its journal (finished images are not recomputed)')
    .option('--no-journal', 'do not write the journal that makes a run resumable')
    .option('--force', 'replace an existing --out even if it is not an earlier sam-amg output')
    .option('--overlay <dir>', 'also write one PNG per image with its masks drawn over it, mirroring the input tree')
    .option('--report <dir>', 'also write a static HTML report of the output (see: sam-amg report --help)')
    .option('--overlay-style <list>', 'what overlays draw: fill, outline, box, points, labels, alpha=X, width=N (default fill,outline,alpha=0.45)');
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
    tile: f.tile,
    tileOverlap: f.tileOverlap,
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

/** Everything the flags decide, checked before any input is listed. */
export interface RunSettings {
  date: string | null;
  shard?: ResolvedShard;
  format: OutputFormat;
  /** Absolute output file or folder; null for `--out -` (stdout). */
  out: string | null;
  journal: boolean;
  force: boolean;
  overlayDir?: string;
  overlayStyle: OverlayStyle;
  reportDir?: string;
  postprocessWorkers: number;
  /** Set when the output writes polygons (--segmentation polygon, yolo, geojson). */
  polygons?: PolygonOptions;
}

/** The images a run chose from the listing, and the problems found choosing them (each is one of the run's errors). */
export interface SelectedInputs {
  items: InputItem[];
  /** Per-image problems found while choosing (stage 'input'): recorded with the listing's errors, by shard 0 only. */
  errors: RunError[];
}

/** The images of the run: the whole listing, what the mode chose from it, and this shard's part of that. */
interface RunInputs {
  listing: InputListing;
  selected: SelectedInputs;
  items: InputItem[];
}

/** The model, loaded into what segments each image, and what the info block says about the run. */
export interface LoadedSegmenter {
  segmenter: ImageSegmenter;
  /** The info block's description (default: the automatic masks'), model, sha256 and options. */
  info: Pick<RunInfo, 'description' | 'model' | 'modelSha256' | 'options'>;
  /** COCO categories (default: the one automatic-mask category). */
  categories?: readonly CocoCategory[];
  /** YOLO classes (default: the one class `object`). */
  yoloClasses?: YoloClasses;
  /** Tiled runs (`--tile`): how images are opened and the pixel limit they have. */
  tiled?: TiledReads;
  /** Frees the model's sessions and the post-processing threads. */
  release(): Promise<void>;
}

/**
 * What differs between the main command and `sam-amg segment`: which of the listed images the run takes, and what
 * segments them. Every other step (settings, output plan and checks, lock, journal, shards, batch, report) is shared.
 */
export interface RunMode {
  /** The run's images from the listing (before sharding); may throw a UsageError when nothing can be done. */
  select(listing: InputListing, progress: Progress): SelectedInputs;
  /** Loads the model (before any image is read). */
  load(f: BatchFlags, s: RunSettings, progress: Progress): Promise<LoadedSegmenter>;
}

/** Runs the main command; returns the exit code. */
export async function runCommand(inputs: string[], f: RunFlags): Promise<number> {
  return runBatchCommand(inputs, f, () => amgMode(f));
}

/** Makes a command's mode from its own flags; may print (warnings) and throw (a usage error). */
export type PrepareMode = (progress: Progress) => Promise<RunMode>;

/**
 * Runs a batch command (the main command, `segment`) with the mode `prepare` makes from its own flags (a refusal
 * there is a usage error, exit 2, like any flag's); returns the exit code.
 */
export async function runBatchCommand(inputs: string[], f: BatchFlags, prepare: PrepareMode): Promise<number> {
  const progress = createProgress({ quiet: Boolean(f.quiet) });
  const signals = new SignalGuard((m) => say(m));
  try {
    return await run(inputs, f, prepare, progress, signals);
  } finally {
    signals.uninstall();
  }
}

/**
 * The batch command in its steps: flags → settings; the inputs; the output plan and its checks; the output claimed
 * (its folder and lock); the model; the batch; the report. Each step's refusal is one `sam-amg: …` line, exit 2.
 */
async function run(inputs: string[], f: BatchFlags, prepare: PrepareMode, progress: Progress, signals: SignalGuard): Promise<number> {
  const fail = (err: unknown): number => {
    say(cliMessage(err));
    return EXIT.usage;
  };
  let mode: RunMode;
  let settings: RunSettings;
  let listed: RunInputs;
  let plan: RunPlan;
  try {
    mode = await prepare(progress);
    settings = await settingsFromFlags(inputs, f);
    listed = await listRunInputs(inputs, f, settings.shard, mode, progress);
    plan = planRun({ items: listed.items, format: settings.format, out: settings.out, journal: settings.journal, overlayDir: settings.overlayDir, reportDir: settings.reportDir });
    await checkRunPlan(plan, inputPathsOf(listed.listing), { out: f.out, overlay: f.overlay, report: f.report }, settings.force);
  } catch (err) {
    return fail(err);
  }
  let claim: OutputClaim;
  try {
    claim = await claimOutput(plan, f.out as string, progress);
  } catch (err) {
    return fail(err);
  }
  if (claim.lock) {
    const held = claim.lock;
    signals.onExit(() => held.releaseSync());
  }
  try {
    let loaded: LoadedSegmenter;
    try {
      loaded = await mode.load(f, settings, progress);
    } catch (err) {
      // The lock lives in a folder output: it goes first, so that a folder this run created can go too.
      await claim.lock?.release().catch(() => undefined);
      await claim.undo();
      return fail(err);
    }
    try {
      const code = await runBatch(f, settings, listed, plan, loaded, progress, signals);
      // --report: the HTML report of the output just written (src/cli/report-command.ts).
      if (plan.report === undefined || plan.out === null) return code;
      return await reportAfterRun(plan.report, { out: plan.out, format: plan.format, items: listed.items, code, maxPixels: f.maxPixels, quiet: Boolean(f.quiet) });
    } finally {
      await loaded.release();
    }
  } finally {
    await claim.lock?.release().catch(() => undefined);
  }
}

/** The main command's mode: every listed image, through the automatic mask generator with the flags' options. */
async function amgMode(f: RunFlags): Promise<RunMode> {
  const given = await amgOptionsFromFlags(f);
  resolveOptions(given, 'sam');
  return {
    select: (listing) => ({ items: listing.items, errors: [] }),
    load: async (flags, s, progress) => {
      const { loaded, model, sha256 } = await loadRunModel(flags, progress);
      const generator = new MaskGenerator(loaded.adapter, given, loaded, createCandidateEvaluator(s.postprocessWorkers));
      return {
        segmenter: amgSegmenter(generator),
        info: { model, modelSha256: sha256, options: optionsRecord(generator.options) },
        ...(given.tile !== undefined ? { tiled: tiledReads(s.format, f.maxPixels) } : {}),
        release: () => generator.release(),
      };
    },
  };
}

/** Step 1: everything that can be checked from the flags alone. Throws a UsageError (or the options' error). */
async function settingsFromFlags(inputs: string[], f: BatchFlags): Promise<RunSettings> {
  const format = f.format as OutputFormat;
  const toStdout = f.out === '-';
  const date = runDate(f.date);
  const shard = resolveShard(f.shard, f.shardCount);
  if (!f.out) throw new UsageError('--out <file> is required (or --out - for stdout)');
  if (f.resume && f.journal === false) throw new UsageError('--resume needs the journal; drop --no-journal');
  if (toStdout && format === 'yolo') {
    throw new UsageError('--format yolo writes a dataset folder (labels/, images/, data.yaml) that training reads from disk: give --out a folder, not - (stdout)');
  }
  if (toStdout && isFolderFormat(format)) throw new UsageError(`--out - writes one document to stdout: use --format coco or jsonl there (${format} writes a folder of files)`);
  const polygons = polygonSettings(f, format);
  if (toStdout && f.resume) throw new UsageError('--resume needs a journal, which --out - (stdout) does not keep: give --out a file');
  let overlayStyle: OverlayStyle = DEFAULT_OVERLAY_STYLE;
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
  const postprocessWorkers = postprocessWorkerCount(parseWorkersFlag(f.postprocessWorkers), f.threads, f.concurrency);
  return {
    date,
    ...(shard ? { shard } : {}),
    format,
    out: toStdout ? null : path.resolve(f.out),
    journal: f.journal !== false && !toStdout,
    force: Boolean(f.force),
    ...(f.overlay ? { overlayDir: path.resolve(f.overlay) } : {}),
    overlayStyle,
    ...(f.report !== undefined ? { reportDir: path.resolve(f.report) } : {}),
    postprocessWorkers,
    ...(polygons ? { polygons } : {}),
  };
}

/**
 * The pixel limit of a tiled run's images: what the output can hold ({@link MAX_TILED_IMAGE_PIXELS}), except for
 * amg-png, which writes one full-size PNG per mask and so keeps --max-pixels.
 */
function tiledReads(format: OutputFormat, maxPixels: number): TiledReads {
  if (format === 'amg-png') {
    return {
      maxPixels,
      wholeMaxPixels: maxPixels,
      overLimit: (w, h) => `${overLimitReason(w, h, maxPixels)}: --format amg-png writes one full-size PNG per mask, so --tile does not lift that limit for it (use coco, jsonl or sa1b)`,
    };
  }
  return {
    maxPixels: MAX_TILED_IMAGE_PIXELS,
    wholeMaxPixels: maxPixels,
    overLimit: (w, h) => `image is ${w}x${h} = ${w * h} pixels, more than an output can hold with --tile (${MAX_TILED_IMAGE_PIXELS} pixels: masks are RLE with 32-bit counts)`,
  };
}

/**
 * The polygon flags: `--segmentation` chooses for coco, sa1b and jsonl (yolo and geojson are polygons, amg-png
 * masks), `--polygon-tolerance` needs polygons and lies within its bound, `--polygon-holes` is a choice only COCO
 * polygon lists have. Undefined when the output writes no polygons.
 */
function polygonSettings(f: BatchFlags, format: OutputFormat): PolygonOptions | undefined {
  const lists = format === 'coco' || format === 'sa1b' || format === 'jsonl';
  if (f.segmentation !== undefined && !lists) {
    throw new UsageError(
      format === 'amg-png'
        ? '--segmentation: amg-png writes each mask as a PNG; use --format coco, sa1b or jsonl for RLE or polygons'
        : `--segmentation applies to coco, sa1b and jsonl; --format ${format} always writes polygons (drop --segmentation)`,
    );
  }
  const polygons = isPolygonFormat(format) || (lists && f.segmentation === 'polygon');
  if (!polygons) {
    if (f.polygonTolerance !== undefined) throw new UsageError('--polygon-tolerance applies to polygon output: add --segmentation polygon, or use --format yolo or geojson');
    if (f.polygonHoles !== undefined) throw new UsageError('--polygon-holes applies to COCO polygon lists: add --segmentation polygon');
    return undefined;
  }
  if (f.polygonHoles !== undefined && format === 'yolo') {
    throw new UsageError('--polygon-holes: YOLO segments hold neither holes nor RLE, so a YOLO dataset always has its masks\' holes filled (drop --polygon-holes)');
  }
  if (f.polygonHoles !== undefined && format === 'geojson') {
    throw new UsageError('--polygon-holes: GeoJSON keeps holes as interior rings (drop --polygon-holes)');
  }
  checkBound('--polygon-tolerance', f.polygonTolerance, CLI_BOUNDS.polygonTolerance);
  return { tolerance: f.polygonTolerance ?? DEFAULT_POLYGON_TOLERANCE, holes: f.polygonHoles === 'rle' ? 'rle' : 'fill' };
}

/** Step 2: the inputs (listing reads folders only: no image is opened), the mode's choice, and this shard's part. */
async function listRunInputs(inputs: string[], f: BatchFlags, shard: ResolvedShard | undefined, mode: RunMode, progress: Progress): Promise<RunInputs> {
  const listing = await listInputs(inputs, { filesFrom: f.filesFrom, extensions: IMAGE_EXTENSIONS });
  if (listing.items.length === 0 && listing.errors.length === 0) throw new UsageError('no images found in the inputs');
  const selected = mode.select(listing, progress);
  return { listing, selected, items: shard ? shardItems(selected.items, shard) : selected.items };
}

/** Input files and folders by real path, for the checks that no output lands on them. */
function inputPathsOf(listing: InputListing): InputPaths {
  const files = new Map<string, string>();
  for (const item of listing.items) files.set(item.realPath ?? item.path, item.path);
  return { files, folders: new Map(listing.folders.map((d) => [d, d])) };
}

/** The output held by this run: its lock, and how to take back a folder the run created. */
interface OutputClaim {
  lock?: OutputLock;
  /** Removes the output folder again when this run created it and then could not start. */
  undo(): Promise<void>;
}

/** Step 4: one writer per output: the folder of a folder format is created, then the lock taken. */
async function claimOutput(plan: RunPlan, outArg: string, progress: Progress): Promise<OutputClaim> {
  if (plan.out === null || plan.lock === undefined) return { undo: async () => undefined };
  const out = plan.out;
  let created = false;
  const undo = async (): Promise<void> => {
    if (created) await fsp.rmdir(out).catch(() => undefined);
  };
  try {
    if (isFolderFormat(plan.format)) created = await makeDir(out);
    const lock = await OutputLock.acquire(plan.lock, outArg, (m) => progress.warn(m));
    return { lock, undo };
  } catch (err) {
    await undo();
    throw err instanceof LockError || err instanceof UsageError ? err : new UsageError(`--out ${outArg}: ${cliMessage(err)}`);
  }
}

/**
 * Step 5: the model, resolved (a folder or the hub) and loaded before any image is read, with the name and sha256
 * the info block records.
 */
export async function loadRunModel(f: BatchFlags, progress: Progress): Promise<{ loaded: LoadedModel; model: string; sha256: string }> {
  const dtype = parseDtype(f.dtype);
  const model = f.model ?? DEFAULT_MODEL_ID;
  const resolved = await resolveModel(model, { dtype, revision: f.revision, onProgress: (pr) => progress.info(formatProgress(pr)) });
  const loaded = await loadModel(resolved.dir, {
    dtype,
    threads: f.threads,
    device: f.device,
    optimise: f.optimise !== false,
    onWarning: (m) => progress.warn(m),
  });
  const sha256 = await modelSha256([loaded.files.encoder, loaded.files.decoder]);
  return { loaded, model, sha256 };
}

/** Step 6: the batch over this run's images, written through the plan; resolves to the exit code. */
async function runBatch(
  f: BatchFlags,
  s: RunSettings,
  { listing, selected, items }: RunInputs,
  plan: RunPlan,
  loaded: LoadedSegmenter,
  progress: Progress,
  signals: SignalGuard,
): Promise<number> {
  const { shard } = s;
  for (const w of listing.warnings) progress.warn(w);
  // Listing errors (and the mode's) belong to shard 0 only, so that merged shards record each once, where a single run does.
  const listingErrors: RunError[] = listing.errors.map((e) => ({ file: e.path, stage: 'input', message: e.reason }));
  const errors: RunError[] = shard && shard.index > 0 ? [] : [...listingErrors, ...selected.errors];
  for (const e of errors) progress.imageFailed(e.file, e.stage, e.message);
  if (shard) progress.info(`shard ${shard.index}/${shard.count} (${shard.source}): ${items.length} of ${plural(selected.items.length, 'image')}`);
  return runBatchFlow({
    items,
    inputErrors: errors,
    segmenter: loaded.segmenter,
    plan,
    outLabel: plan.out === null ? 'stdout' : (f.out as string),
    ...(plan.out === null ? { stdout: process.stdout } : {}),
    info: {
      ...(loaded.info.description !== undefined ? { description: loaded.info.description } : {}),
      version: VERSION,
      date: s.date,
      model: loaded.info.model,
      modelSha256: loaded.info.modelSha256,
      options: loaded.info.options,
      ...(shard ? { shard: { index: shard.index, count: shard.count, images: items.length, total: selected.items.length } } : {}),
    },
    ...(loaded.categories ? { categories: loaded.categories } : {}),
    ...(loaded.yoloClasses ? { yoloClasses: loaded.yoloClasses } : {}),
    device: f.device,
    concurrency: f.concurrency,
    maxPixels: f.maxPixels,
    failFast: Boolean(f.failFast),
    resume: Boolean(f.resume),
    overlayStyle: s.overlayStyle,
    ...(s.polygons ? { polygons: s.polygons } : {}),
    ...(loaded.tiled !== undefined ? { tiled: loaded.tiled } : {}),
    progress,
    signals,
  });
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
