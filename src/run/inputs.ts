/**
 * Turns command-line arguments (files, folders, glob patterns, `--files-from` lists) into the sorted list of
 * images a run processes. Problems with single paths are values (warnings, errors), never exceptions, so one
 * bad argument does not stop a batch.
 */
import { constants, open, promises as fsp } from 'node:fs';
import type { Dirent, Stats } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { InputFileError, readRegularFile } from '../node/read-input.js';
import { describeFsError } from '../fs/errno.js';
import { compileGlob, hasGlobMagic, matchName, type GlobSegment } from './glob.js';

/** One image to process. */
export interface InputItem {
  /** Absolute path as reached (symbolic links in it are kept, not resolved). */
  path: string;
  /** Path relative to the input root, POSIX separators; unique within a listing. */
  relPath: string;
  /** The file's real path (symbolic links resolved), when listInputs found it. */
  realPath?: string;
}

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

/** A file found, before de-duplication and naming. */
interface Candidate {
  abs: string;
  real: string;
  rel: string;
  /** Absolute folder that `rel` is relative to; its trailing segments name the file when two collide. */
  root: string;
}

interface Sink {
  candidates: Candidate[];
  folders: string[];
  warnings: string[];
  errors: { path: string; reason: string }[];
  extensions: ReadonlySet<string>;
}

type EntryKind = 'file' | 'dir' | 'other';

interface Entry {
  name: string;
  abs: string;
  kind: EntryKind;
  /** A symbolic link; its real path needs resolving, other entries' real path is the folder's plus the name. */
  link: boolean;
}

/** Where a walk stands: the real path of the current folder and of every folder above it in this walk. */
interface Trail {
  real: string;
  seen: ReadonlySet<string>;
}

/**
 * Lists the images named by `args` and by `opts.filesFrom`.
 *
 * - A file is taken whatever its extension (naming it explicitly wins; the decoder reports what it cannot read);
 *   its relPath is its basename.
 * - A folder is walked recursively, relPath relative to the folder. Names starting with '.' are skipped, files
 *   with other extensions are skipped with a warning, symbolic links to folders are followed, and a link back to
 *   a folder being walked is a warning, not followed. Unreadable folders are errors; the walk goes on.
 * - An argument that does not exist but holds glob magic is a pattern (see glob.ts); it matches files only, with
 *   relPath relative to the pattern's static base folder, and applies the extension filter like a folder walk.
 * - A missing path, or a pattern matching nothing, is an error. Errors about an argument carry it as given;
 *   errors found while walking carry absolute paths.
 *
 * The same file (by real path) reached twice is listed once, under the relPath that sorts first (ties: absolute
 * path). When different files share a relPath (two folder arguments each holding `x.jpg`), each of them gets the
 * basename of its root folder prefixed (`a/x.jpg`, `b/x.jpg`), then more of the root's trailing segments until
 * the names are unique. Items are sorted by relPath (code-unit order), ties by absolute path.
 *
 * Throws only when the `--files-from` list itself cannot be read (a usage error).
 */
export async function listInputs(args: string[], opts: ListInputsOptions): Promise<InputListing> {
  const cwd = opts.cwd ?? process.cwd();
  const sink: Sink = { candidates: [], folders: [], warnings: [], errors: [], extensions: normaliseExtensions(opts.extensions) };
  const all = [...args];
  if (opts.filesFrom !== undefined) all.push(...(await readFilesFrom(opts.filesFrom, opts.stdin, cwd)));
  for (const arg of all) await addArgument(arg, cwd, sink);
  const items = nameUniquely(dedupe(sink.candidates));
  items.sort((a, b) => compare(a.relPath, b.relPath) || compare(a.path, b.path));
  return { items, folders: unique(sink.folders), warnings: unique(sink.warnings), errors: uniqueErrors(sink.errors) };
}

/**
 * Reads a `--files-from` list: one path per line, exactly as written (only the line ending, `\n` or `\r\n`, is
 * removed: names may begin or end with spaces); blank lines and lines whose first non-blank character is '#'
 * are ignored. The list is read as a stream, so a pipe (`-`, `<(find …)`) is read as its writer writes.
 */
async function readFilesFrom(source: string, stdin: NodeJS.ReadableStream | undefined, cwd: string): Promise<string[]> {
  let text: string;
  try {
    text = source === '-' ? await readStream(stdin ?? process.stdin) : await readListFile(path.resolve(cwd, source));
  } catch (err) {
    const why = err instanceof InputFileError ? err.message : describeFsError(err);
    throw new Error(`cannot read --files-from ${source === '-' ? 'stdin' : source}: ${why}`, { cause: err });
  }
  return text
    .split('\n')
    .map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line))
    .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
}

/** The largest `--files-from` list read (about ten million paths). */
export const MAX_LIST_BYTES = 2 ** 30;

/**
 * A list file: a regular file is read whole (bounded); a named pipe (`<(find …)`, /dev/stdin, a FIFO) is opened
 * as a reader (which waits, off the event loop, until a writer has it open — as `cat` would) and then read from
 * the event loop as its writer writes, so a signal still ends the process while it waits.
 */
async function readListFile(file: string): Promise<string> {
  const st = await fsp.stat(file);
  if (!st.isFIFO()) return (await readRegularFile(file, MAX_LIST_BYTES)).toString('utf8');
  // A plain descriptor (not a FileHandle): the socket owns it and closes it.
  const fd = await new Promise<number>((resolve, reject) => open(file, constants.O_RDONLY, (err, n) => (err ? reject(err) : resolve(n))));
  const socket = new net.Socket({ fd, readable: true, writable: false });
  try {
    return await readStream(socket);
  } finally {
    socket.destroy();
  }
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = Buffer.from(chunk);
    size += buf.length;
    if (size > MAX_LIST_BYTES) throw new InputFileError(`the list is longer than ${MAX_LIST_BYTES} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function addArgument(arg: string, cwd: string, sink: Sink): Promise<void> {
  const abs = path.resolve(cwd, arg);
  let stat: Stats;
  try {
    stat = await fsp.stat(abs);
  } catch (err) {
    // A name that exists literally is a path even if it looks like a pattern (`photo[1].jpg`).
    if (hasGlobMagic(arg) && !(await exists(abs))) {
      await addGlob(arg, cwd, sink);
      return;
    }
    sink.errors.push({ path: arg, reason: describeFsError(err) });
    return;
  }
  if (stat.isDirectory()) {
    const real = await fsp.realpath(abs);
    sink.folders.push(real);
    await walkFolder(abs, '', abs, { real, seen: new Set([real]) }, sink);
  } else {
    const real = await fsp.realpath(abs);
    sink.candidates.push({ abs, real, rel: path.basename(abs), root: path.dirname(abs) });
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

/** Walks `dir`, reached as `root`/`rel`. */
async function walkFolder(dir: string, rel: string, root: string, trail: Trail, sink: Sink): Promise<void> {
  const entries = await readEntries(dir, sink);
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const entryRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.kind === 'dir') {
      const next = await descend(entry, trail, sink);
      if (next) await walkFolder(entry.abs, entryRel, root, next, sink);
    } else if (entry.kind === 'file') {
      if (!hasImageExtension(entry.name, sink.extensions)) {
        sink.warnings.push(`skipped ${entry.abs}: not an image file extension`);
        continue;
      }
      await addFound(entry, entryRel, root, trail, sink);
    } else {
      sink.warnings.push(`skipped ${entry.abs}: not a regular file`);
    }
  }
}

async function addFound(entry: Entry, rel: string, root: string, trail: Trail, sink: Sink): Promise<void> {
  const real = await realOf(entry, trail, sink);
  if (real !== undefined) sink.candidates.push({ abs: entry.abs, real, rel, root });
}

/** The entry's real path; a realpath call only for links, which matters in folders of 100k images. */
async function realOf(entry: Entry, trail: Trail, sink: Sink): Promise<string | undefined> {
  if (!entry.link) return path.join(trail.real, entry.name);
  try {
    return await fsp.realpath(entry.abs);
  } catch (err) {
    sink.errors.push({ path: entry.abs, reason: describeFsError(err) });
    return undefined;
  }
}

/** The trail for walking into folder `entry`, or undefined (with a warning) when it loops back. */
async function descend(entry: Entry, trail: Trail, sink: Sink): Promise<Trail | undefined> {
  const real = await realOf(entry, trail, sink);
  if (real === undefined) return undefined;
  if (trail.seen.has(real)) {
    sink.warnings.push(`skipped ${entry.abs}: symbolic link loop back to ${real}`);
    return undefined;
  }
  return { real, seen: new Set([...trail.seen, real]) };
}

/** The entries of `dir`, sorted by name, symbolic links resolved to what they point at. */
async function readEntries(dir: string, sink: Sink): Promise<Entry[]> {
  let dirents: Dirent[];
  try {
    dirents = await fsp.readdir(dir, { withFileTypes: true });
  } catch (err) {
    sink.errors.push({ path: dir, reason: describeFsError(err) });
    return [];
  }
  dirents.sort((a, b) => compare(a.name, b.name));
  const entries: Entry[] = [];
  for (const d of dirents) {
    const abs = path.join(dir, d.name);
    let kind: EntryKind = d.isDirectory() ? 'dir' : d.isFile() ? 'file' : 'other';
    if (d.isSymbolicLink()) {
      try {
        const s = await fsp.stat(abs);
        kind = s.isDirectory() ? 'dir' : s.isFile() ? 'file' : 'other';
      } catch (err) {
        if (!d.name.startsWith('.')) sink.warnings.push(`skipped ${abs}: broken symbolic link (${describeFsError(err)})`);
        continue;
      }
    }
    entries.push({ name: d.name, abs, kind, link: d.isSymbolicLink() });
  }
  return entries;
}

async function addGlob(pattern: string, cwd: string, sink: Sink): Promise<void> {
  const glob = compileGlob(pattern.split(path.sep).join('/'));
  const base = glob.absolute ? path.resolve('/', glob.base) : path.resolve(cwd, glob.base);
  const before = sink.candidates.length;
  let real: string;
  try {
    real = await fsp.realpath(base);
  } catch {
    sink.errors.push({ path: pattern, reason: 'no matching files' });
    return;
  }
  sink.folders.push(real);
  await walkGlob(base, '', 0, glob.segments, base, { real, seen: new Set([real]) }, sink);
  if (sink.candidates.length === before) sink.errors.push({ path: pattern, reason: 'no matching files' });
}

/** Matches `segments[i..]` below `dir` (reached as `root`/`rel`). */
async function walkGlob(
  dir: string,
  rel: string,
  i: number,
  segments: GlobSegment[],
  root: string,
  trail: Trail,
  sink: Sink,
): Promise<void> {
  const seg = segments[i];
  const entries = await readEntries(dir, sink);
  if (seg.kind === 'globstar') {
    // Zero folders for `**`, then one more folder and `**` again.
    await walkGlobEntries(entries, rel, i + 1, segments, root, trail, sink);
    for (const entry of entries) {
      if (entry.kind !== 'dir' || entry.name.startsWith('.')) continue;
      const next = await descend(entry, trail, sink);
      if (next) await walkGlob(entry.abs, join(rel, entry.name), i, segments, root, next, sink);
    }
    return;
  }
  await walkGlobEntries(entries, rel, i, segments, root, trail, sink);
}

/** Matches name segment `segments[i]` against already listed entries. */
async function walkGlobEntries(
  entries: Entry[],
  rel: string,
  i: number,
  segments: GlobSegment[],
  root: string,
  trail: Trail,
  sink: Sink,
): Promise<void> {
  const seg = segments[i];
  if (seg.kind !== 'name') return;
  const last = i === segments.length - 1;
  for (const entry of entries) {
    if (!matchName(seg, entry.name)) continue;
    const entryRel = join(rel, entry.name);
    if (last) {
      if (entry.kind !== 'file') continue;
      if (!hasImageExtension(entry.name, sink.extensions)) {
        sink.warnings.push(`skipped ${entry.abs}: not an image file extension`);
        continue;
      }
      await addFound(entry, entryRel, root, trail, sink);
    } else if (entry.kind === 'dir') {
      const next = await descend(entry, trail, sink);
      if (next) await walkGlob(entry.abs, entryRel, i + 1, segments, root, next, sink);
    }
  }
}

function join(rel: string, name: string): string {
  return rel === '' ? name : `${rel}/${name}`;
}

function normaliseExtensions(exts: ReadonlySet<string>): Set<string> {
  return new Set([...exts].map((e) => (e.startsWith('.') ? e : `.${e}`).toLowerCase()));
}

function hasImageExtension(name: string, exts: ReadonlySet<string>): boolean {
  return exts.has(path.extname(name).toLowerCase());
}

/** Keeps one candidate per real path: the one whose relPath sorts first, then by absolute path. */
function dedupe(candidates: Candidate[]): Candidate[] {
  const byReal = new Map<string, Candidate>();
  for (const c of candidates) {
    const seen = byReal.get(c.real);
    if (!seen || compare(c.rel, seen.rel) < 0 || (c.rel === seen.rel && compare(c.abs, seen.abs) < 0)) {
      byReal.set(c.real, c);
    }
  }
  return [...byReal.values()];
}

/** Prefixes trailing segments of each colliding file's root folder until every relPath is unique. */
function nameUniquely(candidates: Candidate[]): InputItem[] {
  const rootParts = candidates.map((c) => c.root.split(path.sep).filter((p) => p !== ''));
  const depth = candidates.map(() => 0);
  const nameOf = (k: number): string => {
    const parts = rootParts[k];
    const prefix = parts.slice(parts.length - depth[k]);
    return [...prefix, candidates[k].rel].join('/');
  };
  for (;;) {
    const groups = new Map<string, number[]>();
    candidates.forEach((_, k) => {
      const name = nameOf(k);
      const group = groups.get(name);
      if (group) group.push(k);
      else groups.set(name, [k]);
    });
    let changed = false;
    for (const group of groups.values()) {
      if (group.length < 2) continue;
      for (const k of group) {
        // A file whose whole root is already used cannot grow; the others in its group still can, and do.
        if (depth[k] < rootParts[k].length) {
          depth[k]++;
          changed = true;
        }
      }
    }
    // Two distinct files cannot share root and relPath, so growing always ends in unique names.
    if (!changed) break;
  }
  return candidates.map((c, k) => ({ path: c.abs, relPath: nameOf(k), realPath: c.real }));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
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
