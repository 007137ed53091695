/**
 * `sam-amg compare EXPECTED ACTUAL`: CI fixture comparison of two outputs (COCO file, SA-1B folder or JSONL file,
 * in any mix). Exit codes: 0 within the limits, 1 not, 2 unreadable input, not a sam-amg output, or bad flags.
 */
import { Command } from 'commander';
import { checkLimits, compareSets, DEFAULT_LIMITS, formatReport, type CompareLimits } from '../compare/compare.js';
import { readMaskSet } from '../output/read.js';
import { parseNumber } from './numbers.js';
import { safeWrite, say } from './streams.js';
import { cliMessage } from './usage.js';

/** Flags of `compare`. */
interface CompareFlags {
  minIou: number;
  minRecall: number;
  maxExtra: number;
  scoreTol: number;
  json?: boolean;
  failOnImageMismatch?: boolean;
}

/** The `compare` command; `setCode` receives its exit code. */
export function buildCompareCommand(setCode: (code: number) => void): Command {
  return new Command('compare')
    .description('compare two outputs mask by mask (IoU on RLE, one-to-one greedy matching); exit 0 within limits, 1 not, 2 unreadable')
    .argument('<expected>', 'COCO JSON file, SA-1B folder, JSONL file, YOLO dataset or GeoJSON folder')
    .argument('<actual>', 'COCO JSON file, SA-1B folder, JSONL file, YOLO dataset or GeoJSON folder')
    .option('--min-iou <x>', 'a pair counts as a match at IoU ≥ x, 0 < x ≤ 1', parseNumber, DEFAULT_LIMITS.minIou)
    .option('--min-recall <x>', 'fail when matched / expected masks < x, 0 ≤ x ≤ 1', parseNumber, DEFAULT_LIMITS.minRecall)
    .option('--max-extra <n>', 'fail when more than n actual masks are unmatched', parseNumber, DEFAULT_LIMITS.maxExtra)
    .option('--score-tol <x>', 'fail when predicted_iou or stability_score of a match differ by more than x, 0 ≤ x ≤ 1', parseNumber, DEFAULT_LIMITS.scoreTol)
    .option('--fail-on-image-mismatch', 'fail when an image is in the actual output only or differs in size')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Masks of each image (matched by file_name) are paired one-to-one, greedily by descending IoU (not an optimal
assignment); IoU is computed on the RLE runs, never on decoded bitmaps. Polygon outputs (COCO polygon lists,
YOLO, GeoJSON) are rasterised with the COCO API's polygon rule first. Area and bbox differences of matched masks
are reported but do not fail by themselves; scores are not compared against a YOLO dataset, which holds none. An image missing from the actual output counts all its
expected masks as missing (recall falls); an empty file or one that is not a sam-amg output is exit 2.

Exit codes: 0 within limits, 1 not, 2 unreadable input, not a sam-amg output, or bad flags.`,
    )
    .action(async (expectedPath: string, actualPath: string, f: CompareFlags) => {
      const limits: CompareLimits = {
        minIou: f.minIou,
        minRecall: f.minRecall,
        maxExtra: f.maxExtra,
        scoreTol: f.scoreTol,
        failOnImageMismatch: Boolean(f.failOnImageMismatch),
      };
      try {
        // Before any file is read; compareSets uses the same check.
        checkLimits(limits);
      } catch (err) {
        say(cliMessage(err));
        setCode(2);
        return;
      }
      let report;
      try {
        const [expected, actual] = await Promise.all([readMaskSet(expectedPath), readMaskSet(actualPath)]);
        report = compareSets(expected, actual, limits);
      } catch (err) {
        say(cliMessage(err));
        setCode(2);
        return;
      }
      safeWrite(process.stdout, f.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
      setCode(report.pass ? 0 : 1);
    });
}
