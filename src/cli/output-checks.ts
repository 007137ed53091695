/**
 * Checks of every path a run (or a merge) will write, made before any work, so that a run never replaces a user's
 * file and never finds out after hours of work that it cannot write its output:
 *
 * - the kind: a file output that is a folder, a folder output that is a file, a missing parent folder, a folder
 *   that does not accept new files (permissions, a read-only file system) — found with a probe file;
 * - what is there: an existing output that is not recognisably an earlier sam-amg output is not replaced without
 *   `--force`;
 * - the inputs: no written path is an input file, and no output folder is an input folder or inside one.
 *
 * Every refusal is a UsageError (exit 2) naming the flag and the reason. A run checks the paths of its output plan
 * ({@link checkRunPlan}); `sam-amg merge` checks its one output with the same functions.
 */
import { promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { AMG_PNG_HEADER, AMG_PNG_METADATA } from '../output/amg-png.js';
import { checkWritableDir } from '../fs/atomic.js';
import { describeFsError, errorCode } from '../fs/errno.js';
import { pathExists } from '../fs/exists.js';
import { isInsideDir } from '../fs/paths.js';
import { sniffOutput } from '../output/read.js';
import { YOLO_DATA_YAML, YOLO_INFO, YOLO_INFO_PREFIX, YOLO_LABELS, YOLO_YAML_HEADER } from '../output/yolo.js';
import { ERROR_LIST_PREFIX, ERRORS_FILE_NAME } from '../output/sinks/error-list.js';
import { JOURNAL_FILE_NAME, JOURNAL_HEADER_PREFIX } from '../run/journal.js';
import { LOCK_FILE_NAME } from '../run/lock.js';
import type { PlannedPath, RunPlan } from '../run/output-plan.js';
import { UsageError } from './usage.js';

/** A path the run writes, with the flag that named it. */
export interface WrittenPath {
  /** The flag as the user typed it, e.g. `--out masks.json` (for messages). */
  flag: string;
  /** Absolute path. */
  path: string;
  /** What it is, for messages: 'the output', 'the journal', 'the error list'. */
  what: string;
}

/** What a recognisable existing file must look like before it is replaced. */
export type FileRole = 'output' | 'journal' | 'errors';

/** How many bytes of an existing file are read to recognise it. */
const SNIFF_BYTES = 64 * 1024;

/**
 * A file the run will create or replace: refused if it exists as something other than a file, if its folder
 * is missing or not writable, or (unless `force`) if it holds something sam-amg did not write.
 */
export async function checkOutputFile(w: WrittenPath, role: FileRole, force: boolean): Promise<void> {
  const st = await statOrNull(w.path, w);
  if (st) {
    if (st.isDirectory()) throw new UsageError(`${w.flag}: ${w.what} ${w.path} is a folder; this format writes one file there`);
    if (!st.isFile()) throw new UsageError(`${w.flag}: ${w.what} ${w.path} exists and is not a regular file`);
  }
  const dir = path.dirname(w.path);
  const parent = await statOrNull(dir, w);
  if (!parent) throw new UsageError(`${w.flag}: the folder ${dir} for ${w.what} does not exist`);
  if (!parent.isDirectory()) throw new UsageError(`${w.flag}: ${dir} (the folder for ${w.what}) is not a folder`);
  await probe(dir, w);
  if (st && st.size > 0 && !force && !(await recognised(w.path, role))) {
    throw new UsageError(
      `${w.flag}: ${w.what} ${w.path} exists and is not ${ROLE_TEXT[role]}; refusing to replace it (choose another name, or add --force)`,
    );
  }
}

const ROLE_TEXT: Record<FileRole, string> = {
  output: 'an earlier sam-amg output (COCO or JSONL)',
  journal: 'a sam-amg journal',
  errors: 'a sam-amg error list',
};

/**
 * A folder the run writes files into (created if missing): refused if it or the nearest existing folder above it
 * is a file or does not accept new files. With `role` 'output' (sa1b), an existing folder that holds files but
 * nothing of sam-amg's is not written into without `force`.
 */
export async function checkOutputDir(w: WrittenPath, force: boolean, role?: 'output'): Promise<void> {
  const st = await statOrNull(w.path, w);
  if (st) {
    if (!st.isDirectory()) throw new UsageError(`${w.flag}: ${w.path} is a file, but ${w.what} is a folder`);
    await probe(w.path, w);
    if (role === 'output' && !force && !(await looksLikeOutputFolder(w.path))) {
      throw new UsageError(
        `${w.flag}: ${w.path} holds files and none of them is an SA-1B output of sam-amg; refusing to write into it (choose an empty or new folder, or add --force)`,
      );
    }
    return;
  }
  // Missing: it will be created, so the nearest existing folder above must accept it.
  let above = path.dirname(w.path);
  for (;;) {
    const a = await statOrNull(above, w);
    if (a) {
      if (!a.isDirectory()) throw new UsageError(`${w.flag}: cannot create ${w.path}: ${above} is a file`);
      await probe(above, w);
      return;
    }
    const next = path.dirname(above);
    if (next === above) throw new UsageError(`${w.flag}: cannot create ${w.path}: no existing folder above it`);
    above = next;
  }
}

/** The inputs a run reads, by real path. */
export interface InputPaths {
  /** Real path of every input file → how to name it. */
  files: Map<string, string>;
  /** Real paths of input folders → how to name them. */
  folders: Map<string, string>;
}

/** Refuses a written file that is an input file or an input folder. */
export async function checkNotInput(w: WrittenPath, inputs: InputPaths): Promise<void> {
  const real = await realPathOf(w.path);
  const file = inputs.files.get(real);
  if (file !== undefined) throw new UsageError(`${w.flag}: ${w.what} ${w.path} would overwrite the input ${file}`);
  const folder = inputs.folders.get(real);
  if (folder !== undefined) throw new UsageError(`${w.flag}: ${w.what} ${w.path} is the input folder ${folder}`);
}

/**
 * Refuses an output folder that is an input folder or inside one (its files would replace inputs or become inputs
 * of the next run), and per-image files (`files`, by the input they belong to) that would replace an input file.
 */
export async function checkDirNotInput(w: WrittenPath, inputs: InputPaths, files: Iterable<[string, string]> = []): Promise<void> {
  const real = await realPathOf(w.path);
  for (const [folder, label] of inputs.folders) {
    if (real === folder) throw new UsageError(`${w.flag}: ${w.what} ${w.path} is the input folder ${label}; choose a folder outside the inputs`);
    if (isInsideDir(real, folder)) {
      throw new UsageError(`${w.flag}: ${w.what} ${w.path} is inside the input folder ${label}; its files would be read as inputs by the next run — choose a folder outside the inputs`);
    }
  }
  for (const [target, from] of files) {
    const t = await realPathOf(target);
    const hit = inputs.files.get(t);
    if (hit !== undefined) throw new UsageError(`${w.flag}: the file for ${from}, ${target}, would overwrite the input ${hit}`);
  }
}

/** The flags that named a run's paths, as the user typed their values (for messages). */
export interface PlanFlags {
  out?: string;
  overlay?: string;
  report?: string;
}

/** How messages name each path of a run. */
const ROLE_WHAT: Readonly<Record<PlannedPath['role'], string>> = {
  output: 'the output',
  image: "an image's output",
  link: "an image's link",
  journal: 'the journal',
  errors: 'the error list',
  lock: 'the lock',
  overlays: 'the overlay folder',
  overlay: 'an overlay',
  report: 'the report folder',
};

/** A planned path with the flag that named it and how messages call it. */
function written(p: PlannedPath, plan: RunPlan, flags: PlanFlags): WrittenPath {
  const flag =
    p.role === 'overlays' || p.role === 'overlay' ? `--overlay ${flags.overlay}` : p.role === 'report' ? `--report ${flags.report}` : `--out ${flags.out}`;
  let what = ROLE_WHAT[p.role];
  if (p.role === 'output' && plan.format === 'sa1b') what = 'the SA-1B output folder';
  if (p.role === 'output' && plan.format === 'amg-png') what = 'the amg-png output folder';
  if (p.role === 'output' && plan.format === 'yolo') what = 'the YOLO dataset folder';
  if (p.role === 'output' && plan.format === 'geojson') what = 'the GeoJSON output folder';
  return { flag, path: p.path, what };
}

/**
 * Checks every path of a run's output plan before any work, in the plan's order (the output and its images, the
 * journal, the error list, the lock, the overlays, the report):
 *
 * 1. none is an input: no written file is an input file, no output folder is an input folder or inside one, and
 *    no per-image file replaces an input file;
 * 2. each is of the right kind and writable, and nothing of the user's is replaced (unless `force`; the overlay
 *    folder only ever receives overlays). Files inside a folder the run creates are checked when that folder
 *    exists already. The lock is taken later (src/run/lock.ts); the report folder is checked with the flags
 *    (src/report/folder.ts).
 */
export async function checkRunPlan(plan: RunPlan, inputs: InputPaths, flags: PlanFlags, force: boolean): Promise<void> {
  for (const p of plan.paths) {
    if (p.item !== undefined) continue; // with its folder, below
    const w = written(p, plan, flags);
    if (p.kind === 'file') {
      await checkNotInput(w, inputs);
      continue;
    }
    const inside = p.role === 'output' ? 'output' : p.role === 'overlays' ? 'overlays' : undefined;
    // A YOLO link may be the input itself (the dataset's images/ folder is the input folder): ensureLink keeps it.
    const files = plan.paths.filter((q) => q.item !== undefined && inside !== undefined && q.inFolder === inside && q.role !== 'link');
    await checkDirNotInput(w, inputs, files.map((q): [string, string] => [q.path, q.item?.relPath ?? q.path]));
  }
  for (const p of plan.paths) {
    const w = written(p, plan, flags);
    if (p.role === 'output') {
      if (plan.format === 'yolo') await checkYoloFolder(w, force);
      else if (p.kind === 'folder') await checkOutputDir(w, force, 'output');
      else await checkOutputFile(w, 'output', force);
    } else if (p.role === 'journal' || p.role === 'errors') {
      if (p.inFolder === undefined || (await pathExists(path.dirname(p.path)))) await checkOutputFile(w, p.role, force);
    } else if (p.role === 'overlays') {
      await checkOutputDir(w, true);
    }
  }
}

/**
 * The YOLO dataset folder: it may hold anything of the user's (its images/ folder is often the input folder), but
 * what the run replaces — data.yaml, info.json, the label files — must be sam-amg's unless `force`: data.yaml and
 * info.json are recognised by how they start, and a non-empty labels/ folder only counts as sam-amg's beside one of
 * them or the run's journal, error list or lock.
 */
async function checkYoloFolder(w: WrittenPath, force: boolean): Promise<void> {
  await checkOutputDir(w, true);
  if (force || !(await pathExists(w.path))) return;
  const refuse = (what: string): never => {
    throw new UsageError(`${w.flag}: ${path.join(w.path, what)} exists and is not sam-amg's; refusing to replace it (choose another folder, or add --force)`);
  };
  const ours = async (name: string, prefix: string): Promise<boolean | null> => {
    const file = path.join(w.path, name);
    if (!(await pathExists(file))) return null;
    try {
      return (await head(file)).startsWith(prefix);
    } catch {
      return false;
    }
  };
  const yaml = await ours(YOLO_DATA_YAML, YOLO_YAML_HEADER);
  if (yaml === false) refuse(YOLO_DATA_YAML);
  const info = await ours(YOLO_INFO, YOLO_INFO_PREFIX);
  if (info === false) refuse(YOLO_INFO);
  const labels = path.join(w.path, YOLO_LABELS);
  let entries: string[] = [];
  try {
    entries = (await fsp.readdir(labels)).filter((n) => !n.startsWith('.'));
  } catch {
    // missing (or unreadable: the write reports why)
  }
  if (entries.length === 0 || yaml === true || info === true) return;
  for (const name of [JOURNAL_FILE_NAME, ERRORS_FILE_NAME, LOCK_FILE_NAME]) if (await pathExists(path.join(w.path, name))) return;
  refuse(YOLO_LABELS);
}

/** The real path of `p`, resolving the existing part and keeping the rest (which does not exist yet). */
export async function realPathOf(p: string): Promise<string> {
  const abs = path.resolve(p);
  try {
    return await fsp.realpath(abs);
  } catch {
    const parent = path.dirname(abs);
    if (parent === abs) return abs;
    return path.join(await realPathOf(parent), path.basename(abs));
  }
}

async function statOrNull(p: string, w: WrittenPath): Promise<Stats | null> {
  try {
    return await fsp.stat(p);
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENOENT') return null;
    if (code === 'ENOTDIR') throw new UsageError(`${w.flag}: ${p}: a part of the path is a file, not a folder`);
    throw new UsageError(`${w.flag}: cannot check ${p}: ${describeFsError(err)}`);
  }
}

async function probe(dir: string, w: WrittenPath): Promise<void> {
  try {
    await checkWritableDir(dir);
  } catch (err) {
    const cause = err instanceof Error ? err.cause : undefined;
    throw new UsageError(`${w.flag}: cannot write ${w.what} into ${dir}: ${describeFsError(cause ?? err)}`);
  }
}

async function head(file: string): Promise<string> {
  const fh = await fsp.open(file, 'r');
  try {
    const buf = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}

async function recognised(file: string, role: FileRole): Promise<boolean> {
  let text: string;
  try {
    text = await head(file);
  } catch {
    return false;
  }
  if (role === 'journal') return text.startsWith(JOURNAL_HEADER_PREFIX);
  if (role === 'errors') return text.startsWith(ERROR_LIST_PREFIX);
  const kind = sniffOutput(text);
  return kind === 'coco' || kind === 'jsonl';
}

/**
 * Whether a folder holds nothing but hidden files or shows sam-amg's hand: its journal, its error list, its lock or
 * an SA-1B file or an amg-png metadata.csv among the first entries of a breadth-first walk (a bounded look, not a
 * full scan of a large folder).
 */
async function looksLikeOutputFolder(dir: string): Promise<boolean> {
  const queue = [dir];
  let seen = 0;
  let any = false;
  while (queue.length > 0 && seen < 200) {
    const d = queue.shift() as string;
    let entries;
    try {
      entries = await fsp.readdir(d, { withFileTypes: true });
    } catch {
      return false;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      seen++;
      const full = path.join(d, e.name);
      if (d === dir && (e.name === JOURNAL_FILE_NAME || e.name === ERRORS_FILE_NAME || e.name === LOCK_FILE_NAME)) return true;
      // Hidden names (.DS_Store, temp files of atomic writes) are neither a user's work nor a sign of sam-amg.
      if (e.name.startsWith('.')) continue;
      any = true;
      if (e.isDirectory()) queue.push(full);
      else if (e.isFile() && e.name === AMG_PNG_METADATA) {
        try {
          if ((await head(full)).startsWith(AMG_PNG_HEADER)) return true;
        } catch {
          // unreadable: not a sign either way
        }
      } else if (e.isFile() && (e.name.endsWith('.json') || e.name.endsWith('.geojson'))) {
        try {
          const kind = sniffOutput(await head(full));
          if (kind === 'sa1b' || kind === 'geojson') return true;
        } catch {
          // unreadable: not a sign either way
        }
      }
    }
  }
  return !any;
}
