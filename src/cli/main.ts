/**
 * The `sam-amg` command line: the mask generator as the default command, plus `segment` (box prompts), `models`,
 * `compare`, `merge`, `report` and `help`. Every command follows the same conventions: usage errors exit 2 with one
 * `sam-amg: …` line, `--help` and `help <command>` print usage, and a bare `sam-amg` prints usage (exit 2: nothing
 * was done).
 */
import { Command, CommanderError } from 'commander';
import { VERSION } from '../base/version.js';
import { buildCompareCommand } from './compare-command.js';
import { buildMergeCommand } from './merge-command.js';
import { buildModelsCommand } from './models-command.js';
import { buildReportCommand } from './report-command.js';
import { addRunOptions, runCommand, type RunFlags } from './run-command.js';
import { buildSegmentCommand } from './segment-command.js';
import { guardStdStreams, safeWrite } from './streams.js';

const EXAMPLES = `
Examples:
  sam-amg ./images --out masks.json
  sam-amg photo.jpg --model ./models/sam-vit-base --dtype q8 --out masks.json
  sam-amg ./images --model onnx-community/sam2.1-hiera-tiny-ONNX --crop-n-layers 1 --out masks.json
  sam-amg ./images --points-per-side 16 --min-mask-region-area 100 --date none --out fixture.json
  sam-amg ./images --format jsonl --out - | jq .file_name
  sam-amg segment ./images --boxes detections.json --out masks.json   (masks for a COCO detection file's boxes)
  sam-amg models list
  sam-amg ./images --shard 0/4 --date none --out shard-0.json   (then: sam-amg merge all.json shard-*.json)
  sam-amg compare expected.json actual.json --min-iou 0.9
  sam-amg help compare

Exit codes: 0 every image succeeded, 1 some images failed or were skipped (or the output could not be
written), 2 usage or model error (nothing was processed), 130 / 143 interrupted by SIGINT / SIGTERM
(rerun with --resume to continue).`;

/** Commander's own errors ("error: unknown option …\n(Did you mean …?)") as one line in sam-amg's form. */
function outputError(text: string, write: (s: string) => void): void {
  const line = text.trimEnd().replace(/^error: /u, 'sam-amg: ').replace(/\n+/gu, ' ');
  write(`${line}\n`);
}

/** The same conventions on a command and every subcommand below it (addCommand does not pass them on). */
function configure(cmd: Command, path: string): void {
  cmd
    .exitOverride()
    .configureOutput({
      writeOut: (s) => safeWrite(process.stdout, s),
      writeErr: (s) => safeWrite(process.stderr, s),
      outputError,
    })
    .showHelpAfterError(`(run 'sam-amg help${path === '' ? '' : ` ${path}`}' for usage)`);
  for (const sub of cmd.commands) configure(sub, path === '' ? sub.name() : `${path} ${sub.name()}`);
}

/** Parses argv and runs; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  guardStdStreams();
  let code = 0;
  const program = new Command('sam-amg')
    .description('Segment Anything automatic mask generation over images with ONNX Runtime; writes COCO RLE JSON')
    .version(VERSION, '-V, --version')
    .argument('[inputs...]', 'image files, folders (recursive) or glob patterns')
    .addHelpText('after', EXAMPLES)
    // Subcommands (merge, models) have flags of their own with the same names (--format, --date, --dtype).
    .enablePositionalOptions()
    .helpCommand('help [command]', 'show help for a command');
  addRunOptions(program);
  program.action(async (inputs: string[], flags: RunFlags) => {
    code = await runCommand(inputs, flags);
  });
  program.addCommand(buildSegmentCommand((c) => (code = c)));
  program.addCommand(buildModelsCommand((c) => (code = c)));
  program.addCommand(buildCompareCommand((c) => (code = c)));
  program.addCommand(buildMergeCommand((c) => (code = c)));
  program.addCommand(buildReportCommand((c) => (code = c)));
  configure(program, '');
  if (argv.length <= 2) {
    // A bare `sam-amg`: show how to use it rather than complain about missing inputs.
    program.outputHelp({ error: true });
    return 2;
  }
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help, --version and `help` exit 0; usage errors exit 2.
      return err.exitCode === 0 ? 0 : 2;
    }
    throw err;
  }
  return code;
}
