/**
 * The one walker of input folders and glob patterns: a folder argument is the pattern `**` below it, so both go
 * through the same matching, hidden-name rule, extension filter, symbolic-link handling and loop detection.
 * Problems are collected as values (warnings, errors), never thrown, so one bad folder does not stop a listing.
 */
import { promises as fsp } from 'node:fs';
import type { Dirent } from 'node:fs';
import path from 'node:path';
import { describeFsError } from '../fs/errno.js';
import { compileGlob, matchName, type GlobSegment } from './glob.js';
import { compare, type Candidate } from './input-names.js';

/** What a listing collects while it walks. */
export interface Found {
  candidates: Candidate[];
  /** Real paths of the folders walked (folder arguments, static bases of patterns). */
  folders: string[];
  warnings: string[];
  errors: { path: string; reason: string }[];
  /** Image extensions, lower case, with the dot. */
  extensions: ReadonlySet<string>;
}

/** A folder argument: every image below it, at any depth, named relative to it (`**`). */
const FOLDER_SEGMENTS: readonly GlobSegment[] = compileGlob('**').segments;

/**
 * Walks the folder `dir` (an existing folder, as given): relPaths relative to it; names starting with '.' are
 * skipped, files with other extensions and entries that are not regular files are skipped with a warning.
 */
export async function walkFolder(dir: string, found: Found): Promise<void> {
  const real = await fsp.realpath(dir);
  found.folders.push(real);
  await walkDir({ root: dir, segments: FOLDER_SEGMENTS, found }, dir, '', 0, { real, seen: new Set([real]) });
}

/**
 * Walks a glob pattern (see glob.ts) relative to `cwd`: files only, with relPaths relative to the pattern's static
 * base folder, filtered like a folder walk. A pattern that matches nothing is an error.
 */
export async function walkPattern(pattern: string, cwd: string, found: Found): Promise<void> {
  const glob = compileGlob(pattern.split(path.sep).join('/'));
  const base = glob.absolute ? path.resolve('/', glob.base) : path.resolve(cwd, glob.base);
  const before = found.candidates.length;
  let real: string;
  try {
    real = await fsp.realpath(base);
  } catch {
    found.errors.push({ path: pattern, reason: 'no matching files' });
    return;
  }
  found.folders.push(real);
  await walkDir({ root: base, segments: glob.segments, found }, base, '', 0, { real, seen: new Set([real]) });
  if (found.candidates.length === before) found.errors.push({ path: pattern, reason: 'no matching files' });
}

type EntryKind = 'file' | 'dir' | 'other';

interface Entry {
  name: string;
  abs: string;
  kind: EntryKind;
  /** A symbolic link; its real path needs resolving, other entries' real path is the folder's plus the name. */
  link: boolean;
}

/** One walk: the folder its relPaths are relative to, what it matches, and where findings go. */
interface Walk {
  root: string;
  segments: readonly GlobSegment[];
  found: Found;
}

/** Where a walk stands: the real path of the current folder and of every folder above it in this walk. */
interface Trail {
  real: string;
  seen: ReadonlySet<string>;
}

/**
 * Matches `segments[i..]` against the entries of `dir` (reached as `rel` below the walk's root), in name order.
 * `**` matches zero folders (the entry is tried against the next segment) and one more folder (the walk goes
 * into it with `**` again), so a folder's files and its sub-folders are visited in one sorted pass.
 */
async function walkDir(w: Walk, dir: string, rel: string, i: number, trail: Trail): Promise<void> {
  const seg = w.segments[i];
  if (seg === undefined) return;
  const entries = await readEntries(dir, w.found);
  for (const entry of entries) {
    if (seg.kind === 'globstar') {
      await matchEntry(w, entry, rel, i + 1, trail);
      if (entry.kind !== 'dir' || entry.name.startsWith('.')) continue;
      const next = await descend(entry, trail, w.found);
      if (next) await walkDir(w, entry.abs, join(rel, entry.name), i, next);
    } else {
      await matchEntry(w, entry, rel, i, trail);
    }
  }
}

/** One entry against name segment `segments[i]`: the last segment takes files, an earlier one enters folders. */
async function matchEntry(w: Walk, entry: Entry, rel: string, i: number, trail: Trail): Promise<void> {
  const { found } = w;
  const seg = w.segments[i];
  if (seg?.kind !== 'name' || !matchName(seg, entry.name)) return;
  const entryRel = join(rel, entry.name);
  if (i < w.segments.length - 1) {
    if (entry.kind !== 'dir') return;
    const next = await descend(entry, trail, found);
    if (next) await walkDir(w, entry.abs, entryRel, i + 1, next);
    return;
  }
  // Folders are never matched as files.
  if (entry.kind === 'dir') return;
  if (entry.kind === 'other') {
    found.warnings.push(`skipped ${entry.abs}: not a regular file`);
    return;
  }
  if (!found.extensions.has(path.extname(entry.name).toLowerCase())) {
    found.warnings.push(`skipped ${entry.abs}: not an image file extension`);
    return;
  }
  const real = await realOf(entry, trail, found);
  if (real !== undefined) found.candidates.push({ abs: entry.abs, real, rel: entryRel, root: w.root });
}

function join(rel: string, name: string): string {
  return rel === '' ? name : `${rel}/${name}`;
}

/** The entry's real path; a realpath call only for links, which matters in folders of 100k images. */
async function realOf(entry: Entry, trail: Trail, found: Found): Promise<string | undefined> {
  if (!entry.link) return path.join(trail.real, entry.name);
  try {
    return await fsp.realpath(entry.abs);
  } catch (err) {
    found.errors.push({ path: entry.abs, reason: describeFsError(err) });
    return undefined;
  }
}

/** The trail for walking into folder `entry`, or undefined (with a warning) when it loops back. */
async function descend(entry: Entry, trail: Trail, found: Found): Promise<Trail | undefined> {
  const real = await realOf(entry, trail, found);
  if (real === undefined) return undefined;
  if (trail.seen.has(real)) {
    found.warnings.push(`skipped ${entry.abs}: symbolic link loop back to ${real}`);
    return undefined;
  }
  return { real, seen: new Set([...trail.seen, real]) };
}

/** The entries of `dir`, sorted by name, symbolic links resolved to what they point at. */
async function readEntries(dir: string, found: Found): Promise<Entry[]> {
  let dirents: Dirent[];
  try {
    dirents = await fsp.readdir(dir, { withFileTypes: true });
  } catch (err) {
    found.errors.push({ path: dir, reason: describeFsError(err) });
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
        if (!d.name.startsWith('.')) found.warnings.push(`skipped ${abs}: broken symbolic link (${describeFsError(err)})`);
        continue;
      }
    }
    entries.push({ name: d.name, abs, kind, link: d.isSymbolicLink() });
  }
  return entries;
}
