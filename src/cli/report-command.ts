/**
 * `sam-amg report OUTPUT [OUTPUT2] --images ROOT --out DIR`, and `--report DIR` at the end of a run: the static
 * HTML report of src/report. Exit codes: 0 built (every photo found), 1 built but some photos were missing or
 * unusable, or the folder could not be written, 2 unreadable output, refused --out or bad flags.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { MAX_IMAGE_PIXELS } from '../amg/options.js';
import { checkLimits, LimitError } from '../compare/compare.js';
import { DEFAULT_MAX_PIXELS } from '../node/decode.js';
import { describeFsError } from '../fs/errno.js';
import { buildReport, DEFAULT_PAGE_SIZE, ReadError, type BuildReportOptions } from '../report/build.js';
import type { ReportProblem } from '../report/data.js';
import { checkReportTarget, ReportTargetError } from '../report/folder.js';
import type { OutputFormat } from '../output/sink.js';
import type { InputItem } from '../run/inputs.js';
import { CLI_BOUNDS, checkBound, parseNumber } from './numbers.js';
import { fmtDuration, plural } from '../output/text.js';
import { say as sayLine } from './streams.js';
import { cliMessage, UsageError } from './usage.js';
import { errorMessage } from '../base/errors.js';

/** Problem lines printed before the rest are only counted (the index page lists them all). */
const MAX_PROBLEM_LINES = 20;

/** Flags of `report`. */
interface ReportFlags {
  out: string;
  images?: string;
  minIou: number;
  pageSize: number;
  maxPixels: number;
  quiet?: boolean;
}

/** The `report` command; `setCode` receives its exit code. */
export function buildReportCommand(setCode: (code: number) => void): Command {
  return new Command('report')
    .description('a static HTML report (opens from file://, no network) to browse the masks of an output, or of two outputs side by side')
    .argument('<outputs...>', 'one output (COCO JSON file, SA-1B folder, JSONL file, YOLO dataset or GeoJSON folder), or two (A B) to show with compare\'s matching')
    .requiredOption('--out <dir>', 'report folder (created; an earlier report there is replaced, any other non-empty folder refused)')
    .option('--images <dir>', "the folder the outputs' file names are relative to (the run's input folder); without it, masks are shown without photos")
    .option('--min-iou <x>', 'two outputs: the IoU a pair of masks needs to match', parseNumber, 0.9)
    .option('--page-size <n>', `thumbnails per index page (at most ${CLI_BOUNDS.pageSize.max})`, parseNumber, DEFAULT_PAGE_SIZE)
    .option('--max-pixels <n>', `photos above this many pixels or 16.8 MP are read by region and shrunk, never decoded whole (at most ${MAX_IMAGE_PIXELS})`, parseNumber, DEFAULT_MAX_PIXELS)
    .option('-q, --quiet', 'print errors only')
    .addHelpText(
      'after',
      `
Open DIR/index.html in a browser. Two outputs: masks of A without a match in B (missed) and masks of B without
a match in A (extra) are coloured, as \`sam-amg compare A B\` counts them.

Exit codes: 0 built, 1 built but some photos were missing or unusable (or DIR could not be written),
2 unreadable output, refused --out or bad flags.`,
    )
    .action(async (outputs: string[], f: ReportFlags) => {
      setCode(await reportCommand(outputs, f));
    });
}

/** One line about the report, the same from `sam-amg report` and from `--report DIR` at the end of a run. */
function say(msg: string): void {
  sayLine(`report: ${msg}`);
}

async function reportCommand(outputs: string[], f: ReportFlags): Promise<number> {
  if (outputs.length > 2) return usage(`give one output, or two to compare; got ${outputs.length}`);
  try {
    checkLimits({ minIou: f.minIou });
    checkBound('--page-size', f.pageSize, CLI_BOUNDS.pageSize);
    checkBound('--max-pixels', f.maxPixels, CLI_BOUNDS.maxPixels);
  } catch (err) {
    if (err instanceof UsageError || err instanceof LimitError) return usage(cliMessage(err));
    throw err;
  }
  if (f.images !== undefined) {
    try {
      if (!(await fsp.stat(f.images)).isDirectory()) return usage(`--images ${f.images}: not a folder`);
    } catch (err) {
      return usage(`--images ${f.images}: ${describeFsError(err)}`);
    }
  } else if (!f.quiet) {
    say('no --images: the report shows the masks without photos');
  }
  return runReport({ outputs, out: f.out, images: f.images, minIou: f.minIou, pageSize: f.pageSize, maxPixels: f.maxPixels }, Boolean(f.quiet));
}

/** Builds one report, printing problems and a summary; resolves to the exit code. */
async function runReport(opts: BuildReportOptions, quiet: boolean): Promise<number> {
  let shown = 0;
  const onProblem = (p: ReportProblem): void => {
    if (shown++ < MAX_PROBLEM_LINES) say(`${p.file}: ${p.message}`);
  };
  const t0 = performance.now();
  try {
    const r = await buildReport({ ...opts, onProblem });
    if (shown > MAX_PROBLEM_LINES) say(`… ${shown - MAX_PROBLEM_LINES} more problems, listed on the report's index page`);
    if (!quiet) say(`${plural(r.images, 'image')}, ${plural(r.masks, 'mask')} → ${path.join(r.dir, 'index.html')} (${fmtDuration((performance.now() - t0) / 1000)})`);
    return r.problems.length > 0 ? 1 : 0;
  } catch (err) {
    say(errorMessage(err));
    return err instanceof ReadError || err instanceof ReportTargetError ? 2 : 1;
  }
}

function usage(msg: string): number {
  say(msg);
  return 2;
}

/** `--report DIR` on a run: refuses an unreadable format or a folder that is not free, before any work. */
export async function checkRunReport(dir: string, format: string): Promise<void> {
  if (format === 'amg-png') throw new Error('--report reads coco, sa1b or jsonl output (or yolo, geojson); amg-png holds no RLE (run report on a coco output instead)');
  await checkReportTarget(path.resolve(dir), '--report');
}

/** What {@link reportAfterRun} needs of the run. */
export interface FinishedRun {
  /** The output as written (file or folder). */
  out: string;
  format: OutputFormat;
  /** The run's inputs: photos are read from exactly these files. */
  items: InputItem[];
  /** The run's exit code. */
  code: number;
  maxPixels: number;
  quiet: boolean;
}

/**
 * `--report DIR` at the end of a run: the report of the output just written. Runs only when the run finished
 * (exit 0 or 1); resolves to the run's exit code, or 1 when the run succeeded but the report did not.
 */
export async function reportAfterRun(dir: string, run: FinishedRun): Promise<number> {
  if (run.code !== 0 && run.code !== 1) {
    say(`not written: the run did not finish (exit ${run.code})`);
    return run.code;
  }
  const photos = new Map(run.items.map((item) => [item.relPath, item.path]));
  const code = await runReport({ outputs: [run.out], out: dir, photos, maxPixels: run.maxPixels }, run.quiet);
  return run.code === 0 && code !== 0 ? 1 : run.code;
}
