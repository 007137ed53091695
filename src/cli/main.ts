/**
 * The `sam-amg` command line: the mask generator as the default command, plus `models`.
 */
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { buildModelsCommand } from './models-command.js';
import { addRunOptions, runCommand, type RunFlags } from './run-command.js';

const EXAMPLES = `
Examples:
  sam-amg ./images --out masks.json
  sam-amg photo.jpg --model ./models/sam-vit-base --dtype q8 --out masks.json
  sam-amg ./images --model onnx-community/sam2.1-hiera-tiny-ONNX --crop-n-layers 1 --out masks.json
  sam-amg ./images --points-per-side 16 --min-mask-region-area 100 --date none --out fixture.json
  sam-amg models list

Exit codes: 0 every image succeeded, 1 some images failed, 2 usage or model error.`;

/** Parses argv and runs; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = new Command('sam-amg')
    .description('Segment Anything automatic mask generation over images with ONNX Runtime; writes COCO RLE JSON')
    .version(VERSION, '-V, --version')
    .argument('[inputs...]', 'image files, folders (recursive) or glob patterns')
    .addHelpText('after', EXAMPLES)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  addRunOptions(program);
  program.action(async (inputs: string[], flags: RunFlags) => {
    code = await runCommand(inputs, flags);
  });
  program.addCommand(buildModelsCommand((c) => (code = c)));
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; usage errors exit 2.
      return err.exitCode === 0 ? 0 : 2;
    }
    throw err;
  }
  return code;
}
