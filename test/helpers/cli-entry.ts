/** Runs the sam-amg CLI from source (for tests that need a separate process): node --import tsx cli-entry.ts ARGS. */
import { main } from '../../src/cli/main.js';
import { errorMessage } from '../../src/base/errors.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`sam-amg: ${errorMessage(err)}\n`);
    process.exitCode = 2;
  },
);
