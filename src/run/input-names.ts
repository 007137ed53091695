/**
 * Naming the listed images: one item per file (a file reached twice is listed once), a relative name for each that
 * no other item shares, and the listing's order. No file-system access.
 */
import path from 'node:path';

/** One image to process. */
export interface InputItem {
  /** Absolute path as reached (symbolic links in it are kept, not resolved). */
  path: string;
  /** Path relative to the input root, POSIX separators; unique within a listing. */
  relPath: string;
  /** The file's real path (symbolic links resolved), when listInputs found it. */
  realPath?: string;
}

/** A file found, before de-duplication and naming. */
export interface Candidate {
  abs: string;
  real: string;
  /** Its name relative to `root`, POSIX separators. */
  rel: string;
  /** Absolute folder that `rel` is relative to; its trailing segments name the file when two collide. */
  root: string;
}

/**
 * The items of `candidates`: the same file (by real path) reached twice is kept once, under the relPath that sorts
 * first (ties: absolute path); different files sharing a relPath each get the basename of their root folder
 * prefixed (`a/x.jpg`, `b/x.jpg`), then more of the root's trailing segments until the names are unique. Items are
 * sorted by relPath (code-unit order), ties by absolute path.
 */
export function nameInputs(candidates: readonly Candidate[]): InputItem[] {
  const items = nameUniquely(dedupe(candidates));
  items.sort((a, b) => compare(a.relPath, b.relPath) || compare(a.path, b.path));
  return items;
}

/** Keeps one candidate per real path: the one whose relPath sorts first, then by absolute path. */
function dedupe(candidates: readonly Candidate[]): Candidate[] {
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

/** Code-unit order, the listing's one order (locale-independent, so every machine lists the same). */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
