/**
 * `sam-amg merge OUT INPUTS...`: combines shard outputs (or outputs of disjoint runs) into one COCO file, SA-1B
 * folder or JSONL file. Exit codes: 0 merged, 1 the output could not be written, 2 unreadable inputs, inputs that
 * do not belong together (different model or options, overlapping images, a missing shard), or an output that
 * cannot or must not be written (one of the inputs, another run's, not a sam-amg output without --force).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import type { RunInfo } from '../output/coco.js';
import { MergeError, mergedEncoding, mergedResults, mergedRunInfo, mergeSets, type MergedSet } from '../output/merge.js';
import { readMaskSet } from '../output/read.js';
import { createSink } from '../output/sinks/index.js';
import { lockPathFor, OutputLock } from '../run/lock.js';
import { isInsideDir } from '../fs/paths.js';
import { checkOutputDir, checkOutputFile, realPathOf } from './output-checks.js';
import { plural } from './progress.js';
import { runDate } from './run-command.js';
import { say } from './streams.js';
import { cliMessage, UsageError } from './usage.js';

interface MergeFlags {
  format: 'coco' | 'sa1b' | 'jsonl';
  date?: string;
  quiet?: boolean;
  force?: boolean;
}

/** The `merge` command; `setCode` receives its exit code. */
export function buildMergeCommand(setCode: (code: number) => void): Command {
  return new Command('merge')
    .description('combine shard outputs into one output, byte-identical to a single run with the same options')
    .argument('<out>', 'output file (COCO or JSONL) or folder (SA-1B)')
    .argument('<inputs...>', 'shard outputs: COCO files, SA-1B folders or JSONL files (RLE or polygon segmentations)')
    .addOption(new Option('--format <name>', 'output format').choices(['coco', 'sa1b', 'jsonl']).default('coco'))
    .option('--date <iso|none>', "set info.date_created (ISO 8601) or omit it ('none'); default: the inputs' common date, else the latest")
    .option('--force', 'replace an existing OUT even if it is not an earlier sam-amg output')
    .option('-q, --quiet', 'print errors only')
    .addHelpText(
      'after',
      `
Refuses inputs made with different models, options or sam-amg versions, inputs sharing an image, and an
incomplete set of shards (naming the missing shard indexes). Image and annotation ids are renumbered from 1 in
file_name order. OUT may not be one of the inputs, and an existing OUT that is not a sam-amg output is only
replaced with --force.

Exit codes: 0 merged, 1 the output could not be written, 2 unreadable or mismatched inputs, or an OUT that
cannot be written.`,
    )
    .action(async (outArg: string, inputs: string[], f: MergeFlags) => {
      const fail = (code: number, err: unknown): void => {
        say(cliMessage(err));
        setCode(code);
      };
      const out = path.resolve(outArg);
      const target = { flag: `merge ${outArg}`, path: out, what: 'the merged output' };
      let lock: OutputLock | undefined;
      let merged: MergedSet;
      let info: Omit<RunInfo, 'errors'> | undefined;
      try {
        const date = f.date === undefined ? undefined : runDate(f.date);
        // The output, before any input is read: not an input, the right kind, writable, nothing of the user's.
        const outReal = await realPathOf(out);
        for (const p of inputs) {
          const inReal = await realPathOf(p);
          if (inReal === outReal) throw new UsageError(`merge: the output ${outArg} is also an input; write the merge to a new file or folder`);
          if (isInsideDir(outReal, inReal)) throw new UsageError(`merge: the output ${outArg} is inside the input ${p}`);
          if (f.format === 'sa1b' && isInsideDir(inReal, outReal)) throw new UsageError(`merge: the input ${p} is inside the output folder ${outArg}`);
        }
        if (f.format === 'sa1b') await checkOutputDir(target, Boolean(f.force), 'output');
        else await checkOutputFile(target, 'output', Boolean(f.force));
        const sets = [];
        for (const p of inputs) sets.push(await readMaskSet(p));
        merged = mergeSets(sets, { date });
        if (f.format === 'coco') info = mergedRunInfo(merged); // refuses info-less inputs before anything is written
        if (f.format === 'sa1b') await fsp.mkdir(out, { recursive: true });
        lock = await OutputLock.acquire(lockPathFor(f.format, out), outArg, (m) => say(`warning: ${m}`));
      } catch (err) {
        fail(2, err);
        return;
      }
      try {
        // The same sinks as a run writes with; a merge knows every image up front, so JSONL is one atomic write.
        // Each record's segmentation as its input held it (RLE or polygons).
        const sink = createSink({
          format: f.format,
          out,
          label: outArg,
          info,
          streamed: false,
          segmentation: mergedEncoding(merged),
          ...(merged.categories ? { categories: merged.categories } : {}),
        });
        const results = mergedResults(merged);
        await sink.begin([]);
        for (const [i, r] of results.entries()) await sink.add(r, i);
        const finished = await sink.finish(results, merged.info?.errors ?? []);
        if (finished.outputError) throw finished.outputError;
      } catch (err) {
        fail(err instanceof MergeError ? 2 : 1, err);
        return;
      } finally {
        await lock.release().catch(() => undefined);
      }
      const masks = merged.images.reduce((n, im) => n + im.annotations.length, 0);
      if (!f.quiet) {
        const from = merged.shards === undefined ? plural(inputs.length, 'input') : plural(merged.shards, 'shard');
        say(`merged ${from}: ${plural(merged.images.length, 'image')}, ${plural(masks, 'mask')} → ${outArg}`);
      }
      setCode(0);
    });
}
