/**
 * The output plan of a run: every path it writes, each with its role, decided once from the inputs and the flags.
 * The CLI checks these paths before any work (src/cli/output-checks.ts: not an input, the right kind, writable,
 * nothing of the user's replaced) and takes the lock; the session (src/run/session.ts) writes through them. Nothing
 * else names an output path of a run.
 *
 * Per-image names are checked here too: a name that would leave its folder, or that two inputs (or an input and
 * one of the run's own files) would share, fails that image up front instead of overwriting.
 */
import path from 'node:path';
import { errorMessage } from '../base/errors.js';
import type { RunError } from '../output/coco.js';
import { overlayPathFor } from '../output/overlay.js';
import { isFolderFormat, type OutputFormat } from '../output/sink.js';
import { errorsPathFor, imagePathFor } from '../output/sinks/index.js';
import { yoloImageLinkFor } from '../output/yolo.js';
import type { InputItem } from './inputs.js';
import { journalPathFor } from './journal.js';
import { lockPathFor } from './lock.js';

/** What a path of the run is for. */
export type OutputRole =
  /** The output file (coco, jsonl) or folder (sa1b, amg-png). */
  | 'output'
  /** One image's file or folder inside a per-image output folder (sa1b, amg-png, yolo's label, geojson). */
  | 'image'
  /** yolo: the link to an input image under the dataset's images/ folder (the input itself when it is there already). */
  | 'link'
  /** The journal that makes the run resumable. */
  | 'journal'
  /** The list of failed images (jsonl, sa1b, amg-png; COCO keeps its list in info.errors). */
  | 'errors'
  /** The lock that keeps a second run off the same output. */
  | 'lock'
  /** The `--overlay` folder, and one overlay PNG per image in it. */
  | 'overlays'
  | 'overlay'
  /** The `--report` folder. */
  | 'report';

/** One path a run writes. */
export interface PlannedPath {
  role: OutputRole;
  /** Absolute. */
  path: string;
  kind: 'file' | 'folder';
  /** Inside a folder the run creates (the output folder of a per-image format, the overlay folder). */
  inFolder?: 'output' | 'overlays';
  /** For per-image paths: the input they belong to. */
  item?: { index: number; relPath: string };
}

/** What {@link planRun} needs. */
export interface RunPlanOptions {
  /** The images of this run, in output order (a shard's part when sharded). */
  items: readonly InputItem[];
  format: OutputFormat;
  /** Absolute output file or folder; null when the output goes to stdout (no journal, lock or error list then). */
  out: string | null;
  /** Keep a journal (off with --no-journal). */
  journal: boolean;
  /** Absolute `--overlay` folder. */
  overlayDir?: string;
  /** Absolute `--report` folder. */
  reportDir?: string;
}

/** Every path of a run. */
export interface RunPlan {
  format: OutputFormat;
  /** The output file or folder; null for stdout. */
  out: string | null;
  journal?: string;
  errors?: string;
  lock?: string;
  /** Per-image output files or folders (sa1b, amg-png, yolo, geojson) by input index; empty for the one-file formats. */
  images: ReadonlyMap<number, string>;
  /** yolo: each image's link under images/ by input index (the inputs whose label has a planned name). */
  links: ReadonlyMap<number, string>;
  overlays?: { dir: string; files: ReadonlyMap<number, string> };
  report?: string;
  /** Inputs whose output or overlay name is unusable, by index: they fail before any work. */
  failures: ReadonlyMap<number, RunError>;
  /** Every path with its role: the output, its images, journal, error list, lock, overlays, report. */
  paths: readonly PlannedPath[];
}

/** Plans every path of a run; never throws (an unusable per-image name is a failure of that image). */
export function planRun(o: RunPlanOptions): RunPlan {
  const { items, format, out } = o;
  const folder = isFolderFormat(format);
  const journal = out !== null && o.journal ? journalPathFor(format, out) : undefined;
  const errors = out !== null && format !== 'coco' ? errorsPathFor(format, out) : undefined;
  const lock = out !== null ? lockPathFor(format, out) : undefined;
  const failures = new Map<number, RunError>();

  let images = new Map<number, string>();
  const pathFor = imagePathFor(format);
  if (out !== null && pathFor) {
    // The run keeps its own files in the folder; no image may be named like them (only amg-png folder names,
    // which have no extension, can meet them), whether or not this run writes its journal.
    const reserved = new Map([
      [errorsPathFor(format, out), "the run's error list (errors.json)"],
      [journalPathFor(format, out), "the run's journal"],
      [lockPathFor(format, out), "the run's lock"],
    ]);
    const plan = planOutputPaths(items, out, pathFor, 'output', reserved);
    images = plan.paths;
    for (const e of plan.errors) failures.set(e.index, e.error);
  }
  // An image's link has the image's own relative path, so it is as unique as the label's name (and as safe).
  const links = new Map<number, string>();
  if (out !== null && format === 'yolo') for (const index of images.keys()) links.set(index, yoloImageLinkFor(out, items[index].relPath));
  let overlays: RunPlan['overlays'];
  if (o.overlayDir !== undefined) {
    const plan = planOutputPaths(items, o.overlayDir, overlayPathFor, 'overlay');
    overlays = { dir: o.overlayDir, files: plan.paths };
    // An image whose output name already failed is reported once, for its output.
    for (const e of plan.errors) if (!failures.has(e.index)) failures.set(e.index, e.error);
  }

  const paths: PlannedPath[] = [];
  const inOut = folder ? { inFolder: 'output' as const } : {};
  if (out !== null) {
    paths.push({ role: 'output', path: out, kind: folder ? 'folder' : 'file' });
    for (const [index, p] of images) {
      paths.push({ role: 'image', path: p, kind: format === 'amg-png' ? 'folder' : 'file', inFolder: 'output', item: { index, relPath: items[index].relPath } });
    }
    for (const [index, p] of links) {
      paths.push({ role: 'link', path: p, kind: 'file', inFolder: 'output', item: { index, relPath: items[index].relPath } });
    }
    if (journal !== undefined) paths.push({ role: 'journal', path: journal, kind: 'file', ...inOut });
    if (errors !== undefined) paths.push({ role: 'errors', path: errors, kind: 'file', ...inOut });
    if (lock !== undefined) paths.push({ role: 'lock', path: lock, kind: 'file', ...inOut });
  }
  if (overlays) {
    paths.push({ role: 'overlays', path: overlays.dir, kind: 'folder' });
    for (const [index, p] of overlays.files) {
      paths.push({ role: 'overlay', path: p, kind: 'file', inFolder: 'overlays', item: { index, relPath: items[index].relPath } });
    }
  }
  if (o.reportDir !== undefined) paths.push({ role: 'report', path: o.reportDir, kind: 'folder' });

  return {
    format,
    out,
    ...(journal !== undefined ? { journal } : {}),
    ...(errors !== undefined ? { errors } : {}),
    ...(lock !== undefined ? { lock } : {}),
    images,
    links,
    ...(overlays ? { overlays } : {}),
    ...(o.reportDir !== undefined ? { report: o.reportDir } : {}),
    failures,
    paths,
  };
}

/** Per-image output file names, with the items whose name is unusable (escapes the folder, or collides). */
export interface OutputPlan {
  paths: Map<number, string>;
  errors: { index: number; error: RunError }[];
}

/**
 * Plans `pathFor(dir, relPath)` for every item: a name that would leave `dir` is refused, and when two items map
 * to the same file (`a.jpg` and `a.png` → `a.json`), or an item would overwrite one of the run's own files
 * (`reserved`), the later item fails with stage `stage`. Never throws.
 */
export function planOutputPaths(
  items: readonly InputItem[],
  dir: string,
  pathFor: (dir: string, relPath: string) => string,
  stage: string,
  reserved: ReadonlyMap<string, string> = new Map(),
): OutputPlan {
  const plan: OutputPlan = { paths: new Map(), errors: [] };
  const used = new Map<string, string>();
  const reservedKeys = new Map([...reserved].map(([p, what]) => [nameKey(p), what]));
  items.forEach((item, index) => {
    let target: string;
    try {
      target = pathFor(dir, item.relPath);
    } catch (err) {
      plan.errors.push({ index, error: { file: item.relPath, stage, message: errorMessage(err) } });
      return;
    }
    const key = nameKey(target);
    const clash = used.get(key) ?? reservedKeys.get(key);
    if (clash !== undefined) {
      const name = path.relative(dir, target);
      plan.errors.push({ index, error: { file: item.relPath, stage, message: `output name ${name} is already used by ${clash}` } });
      return;
    }
    used.set(key, item.relPath);
    plan.paths.set(index, target);
  });
  return plan;
}

/** How the file system compares names: case-insensitively on Windows and macOS (their default volumes). */
function nameKey(p: string): string {
  return process.platform === 'win32' || process.platform === 'darwin' ? p.toLowerCase() : p;
}
