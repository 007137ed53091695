#!/usr/bin/env node
import { main } from '../dist/cli/main.js';
import { errorMessage } from '../dist/base/errors.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`sam-amg: ${errorMessage(err)}\n`);
    process.exitCode = 2;
  },
);
