/**
 * The list of failed images beside a JSONL file or inside a per-image folder (`errors.json`); COCO keeps its list
 * in info.errors instead.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../fs/atomic.js';
import type { RunError } from '../coco.js';
import { describeFsError, errorCode } from '../../fs/errno.js';
import { asError } from '../../base/errors.js';
import { isFolderFormat, type FinishReport, type OutputFormat } from '../sink.js';

/** The error list's name inside the output folder of a folder format. */
export const ERRORS_FILE_NAME = 'errors.json';

/** How every error list starts: how a file is recognised as one. */
export const ERROR_LIST_PREFIX = '{"errors":[';

/** Where the error list of the sa1b, amg-png and jsonl formats lives. */
export function errorsPathFor(format: OutputFormat, out: string): string {
  return isFolderFormat(format) ? path.join(out, ERRORS_FILE_NAME) : `${out}.errors.json`;
}

/** `{"errors":[…]}` (one error per line) when there are errors; otherwise a stale file from an earlier run is removed. */
export async function writeErrorList(file: string, errors: readonly RunError[]): Promise<void> {
  if (errors.length === 0) {
    try {
      await fsp.rm(file);
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') throw new Error(`cannot remove ${file}: ${describeFsError(err)}`, { cause: err });
    }
    return;
  }
  const rows = errors.map((e) => JSON.stringify({ file: e.file, stage: e.stage, message: e.message }));
  await writeFileAtomic(file, `${ERROR_LIST_PREFIX}\n${rows.join(',\n')}\n]}\n`);
}

/** The error-list part of a sink's finish: nothing without a list file (merge), else the list or why it failed. */
export async function finishErrorList(file: string | undefined, errors: readonly RunError[]): Promise<FinishReport> {
  if (file === undefined) return {};
  try {
    await writeErrorList(file, errors);
    return { errorsListed: file };
  } catch (err) {
    return { listError: asError(err) };
  }
}
