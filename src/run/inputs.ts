/**
 * Turns command-line arguments (files, folders, glob patterns, `--files-from` lists) into the sorted list of
 * images a run processes. Three parts: the list file (input-list-file.ts), the one walker of folders and patterns
 * (walk.ts: a folder is the pattern `**`) and the naming (input-names.ts). Problems with single paths are values
 * (warnings, errors), never exceptions, so one bad argument does not stop a batch.
 */
import { promises as fsp } from 'node:fs';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { describeFsError } from '../fs/errno.js';
import { hasGlobMagic } from './glob.js';
import { readFilesFrom } from './input-list-file.js';
import { nameInputs, type InputItem } from './input-names.js';
import { walkFolder, walkPattern, type Found } from './walk.js';

export type { InputItem } from './input-names.js';
export { MAX_LIST_BYTES } from './input-list-file.js';

/** The result of {@link listInputs}. */
export interface InputListing {
  items: InputItem[];
  /** Real paths of the folders the listing walked: folder arguments and the static bases of patterns. */
  folders: string[];
  warnings: string[];
  errors: { path: string; reason: string }[];
}

/** Options of {@link listInputs}. */
export interface ListInputsOptions {
  /** A file with one path per line, or '-' for `stdin`. */
  filesFrom?: string;
  /** Image extensions (with or without the dot), compared case-insensitively. */
  extensions: ReadonlySet<string>;
  /** Where '-' reads from; defaults to process.stdin. */
  stdin?: NodeJS.ReadableStream;
  /** Folder that relative arguments and list entries resolve against; defaults to process.cwd(). */
  cwd?: string;
}

/**
 * Lists the images named by `args` and by `opts.filesFrom`.
 *
 * - A file is taken whatever its extension (naming it explicitly wins; the decoder reports what it cannot read);
 *   its relPath is its basename.
 * - A folder is walked recursively, relPath relative to the folder. Names starting with '.' are skipped, files
 *   with other extensions and entries that are not regular files are skipped with a warning, symbolic links to
 *   folders are followed, and a link back to a folder being walked is a warning, not followed. Unreadable folders
 *   are errors; the walk goes on.
 * - An argument that does not exist but holds glob magic is a pattern (see glob.ts); it is walked like a folder
 *   (a folder is the pattern `**`), matching files only, with relPath relative to the pattern's static base folder.
 * - A missing path, or a pattern matching nothing, is an error. Errors about an argument carry it as given;
 *   errors found while walking carry absolute paths.
 *
 * Naming (input-names.ts): the same file (by real path) reached twice is listed once, under the relPath that sorts
 * first; different files sharing a relPath get as much of their root folder prefixed as makes them unique. Items
 * are sorted by relPath (code-unit order), ties by absolute path.
 *
 * Throws only when the `--files-from` list itself cannot be read (a usage error).
 */
export async function listInputs(args: string[], opts: ListInputsOptions): Promise<InputListing> {
  const cwd = opts.cwd ?? process.cwd();
  const found: Found = { candidates: [], folders: [], warnings: [], errors: [], extensions: normaliseExtensions(opts.extensions) };
  const all = [...args];
  if (opts.filesFrom !== undefined) all.push(...(await readFilesFrom(opts.filesFrom, opts.stdin, cwd)));
  for (const arg of all) await addArgument(arg, cwd, found);
  return { items: nameInputs(found.candidates), folders: unique(found.folders), warnings: unique(found.warnings), errors: uniqueErrors(found.errors) };
}

/** One argument: a file, a folder (walked), or a pattern (walked) when no such path exists. */
async function addArgument(arg: string, cwd: string, found: Found): Promise<void> {
  const abs = path.resolve(cwd, arg);
  let stat: Stats;
  try {
    stat = await fsp.stat(abs);
  } catch (err) {
    // A name that exists literally is a path even if it looks like a pattern (`photo[1].jpg`).
    if (hasGlobMagic(arg) && !(await exists(abs))) {
      await walkPattern(arg, cwd, found);
      return;
    }
    found.errors.push({ path: arg, reason: describeFsError(err) });
    return;
  }
  if (stat.isDirectory()) {
    await walkFolder(abs, found);
  } else {
    const real = await fsp.realpath(abs);
    found.candidates.push({ abs, real, rel: path.basename(abs), root: path.dirname(abs) });
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch {
    return false;
  }
}

function normaliseExtensions(exts: ReadonlySet<string>): Set<string> {
  return new Set([...exts].map((e) => (e.startsWith('.') ? e : `.${e}`).toLowerCase()));
}

function unique(list: string[]): string[] {
  return [...new Set(list)];
}

function uniqueErrors(list: { path: string; reason: string }[]): { path: string; reason: string }[] {
  const seen = new Set<string>();
  return list.filter((e) => {
    const key = `${e.path}\0${e.reason}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
