/**
 * The files of a folder tree with a given ending, for the readers of per-image outputs (SA-1B JSON, GeoJSON).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describeFsError } from './errno.js';

/**
 * The files under `dir` (any depth) whose names end in `suffix` (case-insensitive; `.json`, `.geojson`), depth
 * first in the order the folders list them. Hidden names are skipped, folders included: the temp files of atomic
 * writes, the journal and lock, `.DS_Store` and the like.
 * @param fail makes the error for a folder that cannot be read, from a message naming it and the reason
 */
export async function findFiles(dir: string, suffix: string, fail: (message: string) => Error): Promise<string[]> {
  const files: string[] = [];
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await fsp.readdir(d, { withFileTypes: true });
    } catch (err) {
      throw fail(`cannot read ${d}: ${describeFsError(err)}`);
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const full = path.join(d, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile() && e.name.toLowerCase().endsWith(suffix)) files.push(full);
    }
  };
  await walk(dir);
  return files;
}
