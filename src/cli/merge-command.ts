/**
 * `sam-amg merge OUT INPUTS...`: combines shard outputs (or outputs of disjoint runs) into one COCO file, SA-1B
 * folder or JSONL file. Exit codes: 0 merged, 1 the output could not be written, 2 unreadable inputs or inputs
 * that do not belong together (different model or options, overlapping images, a missing shard).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { readMaskSet } from '../compare/read.js';
import { cocoChunks } from '../output/coco.js';
import { writeFileAtomic } from '../output/atomic.js';
import { MergeError, mergedCocoDocument, mergedJsonlLine, mergedSa1bDocument, mergeSets } from '../output/merge.js';
import { sa1bPathFor, serializeSa1b } from '../output/sa1b.js';
import { runDate } from './run-command.js';

interface MergeFlags {
  format: 'coco' | 'sa1b' | 'jsonl';
  date?: string;
  quiet?: boolean;
}

/** The `merge` command; `setCode` receives its exit code. */
export function buildMergeCommand(setCode: (code: number) => void): Command {
  return new Command('merge')
    .description('combine shard outputs into one output, byte-identical to a single run with the same options')
    .argument('<out>', 'output file (COCO or JSONL) or folder (SA-1B)')
    .argument('<inputs...>', 'shard outputs: COCO files, SA-1B folders or JSONL files')
    .addOption(new Option('--format <name>', 'output format').choices(['coco', 'sa1b', 'jsonl']).default('coco'))
    .option('--date <iso|none>', "set info.date_created (ISO 8601) or omit it ('none'); default: the inputs' common date, else the latest")
    .option('-q, --quiet', 'print errors only')
    .addHelpText(
      'after',
      `
Refuses inputs made with different models, options or sam-amg versions, inputs sharing an image, and an
incomplete set of shards (naming the missing shard indexes). Image and annotation ids are renumbered from 1 in
file_name order.

Exit codes: 0 merged, 1 the output could not be written, 2 unreadable or mismatched inputs.`,
    )
    .action(async (out: string, inputs: string[], f: MergeFlags) => {
      const fail = (code: number, msg: string): void => {
        process.stderr.write(`sam-amg merge: ${msg}\n`);
        setCode(code);
      };
      let merged;
      let date: string | null | undefined;
      try {
        date = f.date === undefined ? undefined : runDate(f.date);
        const sets = [];
        for (const p of inputs) sets.push(await readMaskSet(p));
        merged = mergeSets(sets, { date });
        if (f.format === 'coco') mergedCocoDocument(merged); // refuses info-less inputs before anything is written
      } catch (err) {
        fail(2, err instanceof Error ? err.message : String(err));
        return;
      }
      try {
        if (f.format === 'coco') {
          await writeFileAtomic(out, cocoChunks(mergedCocoDocument(merged)));
        } else if (f.format === 'jsonl') {
          await writeFileAtomic(out, merged.images.map(mergedJsonlLine));
        } else {
          await fsp.mkdir(out, { recursive: true });
          for (const [i, im] of merged.images.entries()) {
            const target = sa1bPathFor(out, im.file_name);
            await fsp.mkdir(path.dirname(target), { recursive: true });
            await writeFileAtomic(target, serializeSa1b(mergedSa1bDocument(im, i)));
          }
        }
      } catch (err) {
        fail(err instanceof MergeError ? 2 : 1, err instanceof Error ? err.message : String(err));
        return;
      }
      const masks = merged.images.reduce((n, im) => n + im.annotations.length, 0);
      if (!f.quiet) {
        const from = merged.shards === undefined ? `${inputs.length} inputs` : `${merged.shards} shards`;
        process.stderr.write(`merged ${from}: ${merged.images.length} images, ${masks} masks → ${out}\n`);
      }
      setCode(0);
    });
}
