/**
 * `sam-amg segment IMAGES --boxes detections.json --out masks.json`: the masks of a COCO detection file's boxes, as
 * the reference predictors make them (../../shared/spec/prompted.md): one record per detection, in the file's order.
 *
 * A subcommand rather than a flag of the main command: none of the main command's AMG options (points, thresholds,
 * crops, NMS, small regions) applies to box prompts, and its own help lists only what does. Everything else is the
 * main command's (run-command.ts): the same inputs, output formats, output plan and checks, lock, journal and
 * --resume, shards, overlays, report, progress, error handling and exit codes; only the choice of images
 * (src/run/box-images.ts) and what segments them differ.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { Command } from 'commander';
import { errorMessage } from '../base/errors.js';
import type { OptionBound } from '../amg/options.js';
import { BoxSegmenter } from '../prompt/box-segmenter.js';
import { DetectionFileError, parseDetectionsText, type DetectionFile, type DetectionImage } from '../prompt/detections.js';
import type { RunError } from '../output/coco.js';
import { PROMPTED_DESCRIPTION, promptedOptionsRecord } from '../output/run-info.js';
import { readRegularFile } from '../node/read-input.js';
import { createCandidateEvaluator } from '../node/postprocess-pool.js';
import { BoxImageSegmenter, matchDetections, promptedCategories, promptedYoloClasses } from '../run/box-images.js';
import { checkBound, parseNumber } from './numbers.js';
import { plural, type Progress } from './progress.js';
import { addBatchOptions, addWorkerOption, loadRunModel, runBatchCommand, type BatchFlags, type RunMode } from './run-command.js';
import { UsageError } from './usage.js';

/** Flags of `segment`, as commander hands them over. */
export interface SegmentFlags extends BatchFlags {
  boxes: string;
  boxesPerBatch?: number;
  /** false with --no-multimask. */
  multimask: boolean;
}

/** `--boxes-per-batch`: as `--points-per-batch`. */
const BOXES_PER_BATCH: OptionBound = { min: 1, max: 1024, integer: true };

/** The largest detection file read (V8 cannot hold a much longer string; COCO's largest annotation files fit). */
const MAX_DETECTION_BYTES = 512 * 2 ** 20;

const HELP = `
IMAGES is the folder the detection file's file_name values are relative to (or image files, glob patterns,
--files-from). An image named in the detection file but not among the inputs is an error of that image; a listed
image the file does not name is not segmented; an image entry without detections is written with no masks.

Records: one per detection, in the detection file's order (images in file_name order, as the main command writes
them): image_id (the detection file's), category_id, segmentation, area, bbox, predicted_iou, stability_score,
prompt_box, detection_id, score. Masks are not filtered: drop poor ones by predicted_iou or stability_score.
Problems in the detection file are printed one line each; skipped annotations are recorded as errors (exit 1).

Example (from the repository root, offline):
  sam-amg segment ../shared/images --boxes ../shared/conformance/prompts/detections.json \\
    --model ../shared/conformance/sam1-toy-prompts --date none --out masks.json

Exit codes: as the main command's (0 every image succeeded, 1 some failed or detections were skipped,
2 usage, detection-file or model error, 130 / 143 interrupted).`;

/** The `segment` command; `setCode` receives its exit code. */
export function buildSegmentCommand(setCode: (code: number) => void): Command {
  const cmd = new Command('segment')
    .description('masks for the boxes of a COCO detection file (box prompts, as SamPredictor / SAM2ImagePredictor): one record per detection')
    .argument('[images...]', "the image folder the detection file's file names are relative to (or image files, glob patterns)")
    .requiredOption('--boxes <file>', 'COCO detection file: images (id, file_name), annotations (image_id, bbox [x, y, w, h], category_id, optional score, id), optional categories');
  addBatchOptions(cmd)
    .option('--boxes-per-batch <n>', 'boxes per decoder call, 1–1024 (speed only; default 64)', parseNumber)
    .option('--no-multimask', 'use the single-mask output (exports that have one) instead of the best of three by predicted IoU');
  addWorkerOption(cmd)
    .addHelpText('after', HELP)
    .action(async (images: string[], f: SegmentFlags) => {
      setCode(await runBatchCommand(images, f, (progress) => boxMode(f, progress)));
    });
  return cmd;
}

/** The detection file, read and parsed (a file that cannot be used at all is a usage error). */
async function readDetections(file: string): Promise<{ detections: DetectionFile; sha256: string }> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(file, MAX_DETECTION_BYTES, ' (--boxes)');
  } catch (err) {
    throw new UsageError(`--boxes: cannot read ${file}: ${errorMessage(err)}`);
  }
  try {
    return { detections: parseDetectionsText(bytes.toString('utf8'), file), sha256: createHash('sha256').update(bytes).digest('hex') };
  } catch (err) {
    if (err instanceof DetectionFileError) throw new UsageError(`--boxes: ${err.message}`);
    throw err;
  }
}

/** `segment`'s mode of the batch command: the detection file's images, each prompted with its boxes. */
async function boxMode(f: SegmentFlags, progress: Progress): Promise<RunMode> {
  checkBound('--boxes-per-batch', f.boxesPerBatch, BOXES_PER_BATCH);
  const source = f.boxes;
  const { detections, sha256 } = await readDetections(source);
  // Every problem of the file, one line each: warnings now; errors (skipped entries) become errors of the run.
  const fileErrors: RunError[] = [];
  for (const p of detections.problems) {
    if (p.level === 'warning') progress.warn(p.message);
    else fileErrors.push({ file: source, stage: 'input', message: p.message.startsWith(`${source}: `) ? p.message.slice(source.length + 2) : p.message });
  }
  if (detections.images.length === 0) throw new UsageError(`--boxes: ${source} names no usable image (see the lines above)`);
  // Each run image's entry, by relative name, once select() has matched them.
  let entries = new Map<string, DetectionImage>();
  return {
    select: (listing) => {
      const m = matchDetections(listing.items, detections, source);
      entries = m.entries;
      if (m.items.length === 0) {
        const first = detections.images[0].fileName;
        throw new UsageError(
          `none of the ${plural(detections.images.length, 'image')} named in ${source} is among the inputs (first: ${first}); file_name is relative to the image folder given`,
        );
      }
      if (m.unnamed > 0) progress.info(`${plural(m.unnamed, 'input image')} not named in ${source}: not segmented`);
      return { items: m.items, errors: [...fileErrors, ...m.missing] };
    },
    load: async (flags, s, p) => {
      const { loaded, model, sha256: modelSha } = await loadRunModel(flags, p);
      const options = { multimask: f.multimask !== false, ...(f.boxesPerBatch !== undefined ? { boxesPerBatch: f.boxesPerBatch } : {}) };
      const segmenter = await BoxSegmenter.fromModel(loaded, options, createCandidateEvaluator(s.postprocessWorkers));
      return {
        segmenter: new BoxImageSegmenter(segmenter, entries, source, (m) => p.warn(m)),
        info: {
          description: PROMPTED_DESCRIPTION,
          model,
          modelSha256: modelSha,
          options: promptedOptionsRecord({ detections: path.basename(source), detectionsSha256: sha256, multimask: segmenter.options.multimask }),
        },
        categories: promptedCategories(detections),
        yoloClasses: promptedYoloClasses(detections),
        release: () => segmenter.release(),
      };
    },
  };
}
