/**
 * Names of per-image output files, checked before any work: a name that would leave its folder, or that two inputs
 * (or an input and one of the run's own files) would share, fails that image up front instead of overwriting.
 */
import path from 'node:path';
import type { RunError } from '../output/coco.js';
import type { InputItem } from './inputs.js';
import { errorMessage } from '../base/errors.js';

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
  items: InputItem[],
  dir: string,
  pathFor: (dir: string, relPath: string) => string,
  stage: string,
  reserved: ReadonlyMap<string, string> = new Map(),
): OutputPlan {
  const plan: OutputPlan = { paths: new Map(), errors: [] };
  const used = new Map<string, string>();
  items.forEach((item, index) => {
    let target: string;
    try {
      target = pathFor(dir, item.relPath);
    } catch (err) {
      plan.errors.push({ index, error: { file: item.relPath, stage, message: errorMessage(err) } });
      return;
    }
    const key = process.platform === 'win32' || process.platform === 'darwin' ? target.toLowerCase() : target;
    const clash = used.get(key) ?? reserved.get(key);
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
