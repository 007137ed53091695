/**
 * `sam-amg <inputs...>`: flags → options, checks before any work, model resolution, the batch, the output file.
 * No algorithm here.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import { MaskGenerator } from '../amg/generator.js';
import { optionsRecord, OptionsError, resolveOptions, type AmgOptions } from '../amg/options.js';
import { DEFAULT_MODEL_ID, formatProgress, HubError, resolveModel } from '../hub/index.js';
import { IMAGE_EXTENSIONS } from '../image/decode.js';
import { parseDtype } from '../model/dtype.js';
import { loadModel, modelSha256 } from '../model/load.js';
import { ModelError } from '../model/session.js';
import { createCandidateEvaluator, parseWorkersFlag, postprocessWorkerCount } from '../node/postprocess-pool.js';
import { checkWritableDir, type RunError } from '../output/index.js';
import { DEFAULT_OVERLAY_STYLE, parseOverlayStyle, type OverlayStyle } from '../output/overlay.js';
import { listInputs } from '../run/inputs.js';
import { resolveShard, shardItems, type ResolvedShard } from '../run/shard.js';
import { VERSION } from '../version.js';
import { parseNumber } from './numbers.js';
import { isFolderFormat, runBatchFlow, type OutputFormat } from './batch-run.js';
import { createProgress } from './progress.js';
import { checkRunReport, reportAfterRun } from './report-command.js';

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
    .option('-o, --out <file|dir>', 'output file (coco, jsonl) or folder (sa1b, amg-png)')
    .option('-m, --model <folder|id>', `model folder or hub id[@revision] (default ${DEFAULT_MODEL_ID})`)
    .option('--revision <rev>', 'hub revision (branch, tag or commit)')
    .option('--dtype <name>', 'ONNX dtype: fp32, fp16, q8, int8, uint8, q4, q4f16, bnb4, or encoder,decoder', 'fp32')
    .option('--device <name>', 'execution provider: cpu, cuda, tensorrt, coreml, dml, webgpu', 'cpu')
    .option('--threads <n>', 'ONNX Runtime intra-op threads (default: number of cores)', parseNumber)
    .option('--concurrency <n>', 'images in flight at once', parseNumber, 1)
    .addOption(new Option('--format <name>', 'output format').choices(['coco', 'sa1b', 'jsonl', 'amg-png']).default('coco'))
    .option('--date <iso|none>', 'pin info.date_created (ISO 8601) or omit it with "none" (default: now, or SOURCE_DATE_EPOCH)')
    .option('-q, --quiet', 'print errors only')
    .option('--files-from <file>', 'read input paths from a file, one per line ("-" for stdin)')
    .option('--shard <K/N|auto|none>', 'process only shard K of N (0-based) of the sorted inputs; auto: from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX', 'auto')
    .option('--shard-count <n>', 'the shard count N when the index comes from the environment (SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX)', parseNumber)
    .option('--max-pixels <n>', 'refuse images above this many pixels before decoding', parseNumber, 100_000_000)
    .option('--fail-fast', 'stop at the first failing image')
    .option('--resume', 'continue an interrupted run of the same output from its journal (finished images are not recomputed)')
    .option('--no-journal', 'do not write the journal that makes a run resumable')
    .option('--overlay <dir>', 'also write one PNG per image with its masks drawn over it, mirroring the input tree')
    .option('--report <dir>', 'also write a static HTML report of the output (see: sam-amg report --help)')
    .option('--overlay-style <list>', 'what overlays draw: fill, outline, box, points, labels, alpha=X, width=N (default fill,outline,alpha=0.45)')
    .option('--points-per-side <n>', 'n×n prompt grid on the full image (default 32)', parseNumber)
    .option('--point-grids <file>', 'JSON file with explicit normalised [x, y] grids, one per crop layer')
    .option('--points-per-batch <n>', 'prompts per decoder call (speed only; default 64)', parseNumber)
    .option('--pred-iou-thresh <x>', 'keep masks with predicted IoU > x (default 0.88 SAM 1, 0.8 SAM 2)', parseNumber)
    .option('--stability-score-thresh <x>', 'keep masks with stability ≥ x (default 0.95)', parseNumber)
    .option('--stability-score-offset <x>', 'logit offset of the stability score (default 1)', parseNumber)
    .option('--mask-threshold <x>', 'logit cut-off that binarises masks (default 0)', parseNumber)
    .option('--box-nms-thresh <x>', 'box IoU cut-off for NMS inside a crop (default 0.7)', parseNumber)
    .option('--crop-n-layers <n>', 'extra crop layers (default 0)', parseNumber)
    .option('--crop-nms-thresh <x>', 'box IoU cut-off for NMS across crops (default 0.7)', parseNumber)
    .option('--crop-overlap-ratio <x>', 'crop overlap as a fraction of the short side (default 512/1500)', parseNumber)
    .option('--crop-n-points-downscale-factor <x>', 'layer i uses points-per-side / x^i points (default 1)', parseNumber)
    .option('--min-mask-region-area <n>', 'remove holes and islands smaller than n pixels (default 0)', parseNumber)
    .option('--no-multimask', 'use the single-mask output (layouts that have one)')
    .option('--use-m2m', "SAM 2's mask-to-mask refinement (layouts with a mask input)")
    .option('--postprocess-workers <n|auto>', 'threads for mask post-processing (speed only; auto: the cores ONNX Runtime leaves idle, at most 4)', 'auto');
}

/** The AMG options the user gave (unset ones stay undefined and take the family's defaults). */
export async function amgOptionsFromFlags(f: RunFlags): Promise<Partial<AmgOptions>> {
  let pointGrids: number[][][] | undefined;
  if (f.pointGrids) {
    let text: string;
    try {
      text = await readFile(f.pointGrids, 'utf8');
    } catch {
      throw new OptionsError(`--point-grids: cannot read ${f.pointGrids}`);
    }
    try {
      pointGrids = JSON.parse(text) as number[][][];
    } catch {
      throw new OptionsError(`--point-grids: ${f.pointGrids} is not valid JSON`);
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
    if (Number.isNaN(d.getTime())) throw new OptionsError(`--date: '${flag}' is not an ISO 8601 date (or 'none')`);
    return d.toISOString();
  }
  if (env.SOURCE_DATE_EPOCH && /^\d+$/.test(env.SOURCE_DATE_EPOCH)) return new Date(Number(env.SOURCE_DATE_EPOCH) * 1000).toISOString();
  return new Date().toISOString();
}

/** Runs the main command; returns the exit code. */
export async function runCommand(inputs: string[], f: RunFlags): Promise<number> {
  const progress = createProgress({ quiet: Boolean(f.quiet) });
  const fail = (msg: string): number => {
    process.stderr.write(`sam-amg: ${msg}\n`);
    return EXIT.usage;
  };
  // Everything that can be checked without the model or an image, first.
  let given: Partial<AmgOptions>;
  let date: string | null;
  let shard: ResolvedShard | undefined;
  let overlayStyle: OverlayStyle = DEFAULT_OVERLAY_STYLE;
  let postprocessWorkers = 0;
  try {
    given = await amgOptionsFromFlags(f);
    resolveOptions(given, 'sam');
    date = runDate(f.date);
    shard = resolveShard(f.shard, f.shardCount);
    if (!f.out) throw new OptionsError('--out <file> is required');
    if (f.resume && f.journal === false) throw new OptionsError('--resume needs the journal; drop --no-journal');
    if (f.overlayStyle !== undefined) {
      if (!f.overlay) throw new OptionsError('--overlay-style needs --overlay <dir>');
      overlayStyle = parseOverlayStyle(f.overlayStyle);
    }
    if (f.report !== undefined) await checkRunReport(f.report, f.format);
    if (inputs.length === 0 && !f.filesFrom) throw new OptionsError('no inputs: give image files, folders or --files-from');
    for (const [flag, v, min] of [
      ['--threads', f.threads, 1],
      ['--concurrency', f.concurrency, 1],
      ['--max-pixels', f.maxPixels, 1],
    ] as const) {
      if (v !== undefined && (!Number.isInteger(v) || v < min)) throw new OptionsError(`${flag} must be an integer ≥ ${min}, got ${v}`);
    }
    postprocessWorkers = postprocessWorkerCount(parseWorkersFlag(f.postprocessWorkers), f.threads, f.concurrency);
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err));
  }
  const out = path.resolve(f.out as string);
  const format = f.format as OutputFormat;
  try {
    // sa1b and amg-png write into the folder --out (created if missing); coco and jsonl write the file --out.
    if (isFolderFormat(format)) {
      await mkdir(out, { recursive: true });
      await checkWritableDir(out);
    } else {
      await checkWritableDir(path.dirname(out));
    }
    if (f.overlay) {
      await mkdir(path.resolve(f.overlay), { recursive: true });
      await checkWritableDir(path.resolve(f.overlay));
    }
  } catch (err) {
    return fail(`--out ${f.out}: ${err instanceof Error ? err.message : String(err)}`);
  }
  // The model, before any image is read.
  let generator: MaskGenerator;
  let modelName: string;
  let sha: string;
  try {
    const dtype = parseDtype(f.dtype);
    modelName = f.model ?? DEFAULT_MODEL_ID;
    const resolved = await resolveModel(modelName, {
      dtype,
      revision: f.revision,
      onProgress: (p) => progress.info(formatProgress(p)),
    });
    const loaded = await loadModel(resolved.dir, { dtype, threads: f.threads, device: f.device });
    sha = await modelSha256([loaded.files.encoder, loaded.files.decoder]);
    generator = new MaskGenerator(loaded.adapter, given, loaded, createCandidateEvaluator(postprocessWorkers));
  } catch (err) {
    if (err instanceof ModelError || err instanceof HubError || err instanceof OptionsError || err instanceof Error) {
      return fail(err.message);
    }
    return fail(String(err));
  }
  try {
    const listing = await listInputs(inputs, { filesFrom: f.filesFrom, extensions: IMAGE_EXTENSIONS });
    for (const w of listing.warnings) progress.warn(w);
    // Listing errors belong to shard 0 only, so that merged shards record each once, where a single run does.
    const errors: RunError[] = (shard && shard.index > 0 ? [] : listing.errors).map((e) => ({ file: e.path, stage: 'input', message: e.reason }));
    for (const e of errors) progress.imageFailed(e.file, e.stage, e.message);
    if (listing.items.length === 0 && listing.errors.length === 0) return fail('no images found in the inputs');
    const items = shard ? shardItems(listing.items, shard) : listing.items;
    if (shard) progress.info(`shard ${shard.index}/${shard.count} (${shard.source}): ${items.length} of ${listing.items.length} images`);
    const code = await runBatchFlow({
      items,
      inputErrors: errors,
      generator,
      format,
      out,
      outLabel: f.out as string,
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
      journal: f.journal !== false,
      overlay: f.overlay ? { dir: path.resolve(f.overlay), style: overlayStyle } : undefined,
      progress,
    });
    // --report: the HTML report of the output just written (src/cli/report-command.ts).
    if (f.report === undefined) return code;
    return await reportAfterRun(f.report, { out, format, items, code, maxPixels: f.maxPixels, quiet: Boolean(f.quiet) });
  } finally {
    await generator.release();
  }
}
