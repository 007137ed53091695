/**
 * The output plan of a run (src/run/output-plan.ts): every path it writes with its role, for each kind of output,
 * and the per-image names it refuses before any work. Pure: nothing is written.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planRun } from '../src/run/output-plan.js';

const items = ['a.jpg', 'a.png', 'sub/b.jpg', '.sam-amg.journal.jsonl.jpg', '../up.jpg'].map((relPath) => ({ path: `/in/${relPath}`, relPath }));
const rows = (plan: ReturnType<typeof planRun>): [string, string, string][] => plan.paths.map((p) => [p.role, p.path, p.kind]);

describe('planRun', () => {
  it('coco to a file: the output, its journal and its lock; no error list (COCO keeps it in info.errors)', () => {
    const plan = planRun({ items, format: 'coco', out: '/o/masks.json', journal: true });
    expect(rows(plan)).toEqual([
      ['output', '/o/masks.json', 'file'],
      ['journal', '/o/masks.json.journal.jsonl', 'file'],
      ['lock', '/o/masks.json.lock', 'file'],
    ]);
    expect([plan.journal, plan.errors, plan.lock]).toEqual(['/o/masks.json.journal.jsonl', undefined, '/o/masks.json.lock']);
    expect(plan.images.size).toBe(0);
    expect(plan.failures.size).toBe(0);
  });

  it('jsonl without a journal: the output, its error list and its lock', () => {
    const plan = planRun({ items, format: 'jsonl', out: '/o/m.jsonl', journal: false });
    expect(rows(plan)).toEqual([
      ['output', '/o/m.jsonl', 'file'],
      ['errors', '/o/m.jsonl.errors.json', 'file'],
      ['lock', '/o/m.jsonl.lock', 'file'],
    ]);
  });

  it('amg-png, overlays and a report: per-image folders, the run files inside the output folder, reserved names refused', () => {
    const plan = planRun({ items, format: 'amg-png', out: '/o/amg', journal: true, overlayDir: '/o/ov', reportDir: '/o/rep' });
    expect(rows(plan)).toEqual([
      ['output', '/o/amg', 'folder'],
      ['image', '/o/amg/a', 'folder'],
      ['image', '/o/amg/sub/b', 'folder'],
      ['journal', '/o/amg/.sam-amg.journal.jsonl', 'file'],
      ['errors', '/o/amg/errors.json', 'file'],
      ['lock', '/o/amg/.sam-amg.lock', 'file'],
      ['overlays', '/o/ov', 'folder'],
      ['overlay', '/o/ov/a.png', 'file'],
      ['overlay', '/o/ov/sub/b.png', 'file'],
      ['overlay', '/o/ov/.sam-amg.journal.jsonl.png', 'file'],
      ['report', '/o/rep', 'folder'],
    ]);
    expect(plan.paths.filter((p) => p.item).map((p) => [p.role, p.item?.index, p.item?.relPath, p.inFolder])).toEqual([
      ['image', 0, 'a.jpg', 'output'],
      ['image', 2, 'sub/b.jpg', 'output'],
      ['overlay', 0, 'a.jpg', 'overlays'],
      ['overlay', 2, 'sub/b.jpg', 'overlays'],
      ['overlay', 3, '.sam-amg.journal.jsonl.jpg', 'overlays'],
    ]);
    // An image fails once, for its output name, even when its overlay name is refused too.
    expect([...plan.failures].map(([i, e]) => [i, e.stage, e.message])).toEqual([
      [1, 'output', 'output name a is already used by a.jpg'],
      [3, 'output', "output name .sam-amg.journal.jsonl is already used by the run's journal"],
      [4, 'output', `refusing output name for "../up.jpg": '..' segment`],
    ]);
    expect([...plan.images]).toEqual([
      [0, path.join('/o/amg', 'a')],
      [2, path.join('/o/amg', 'sub/b')],
    ]);
    expect(plan.overlays?.files.get(3)).toBe('/o/ov/.sam-amg.journal.jsonl.png');
  });

  it('reserves the run files even when the run keeps no journal, and the lock too', () => {
    const lockItems = [{ path: '/in/.sam-amg.lock.png', relPath: '.sam-amg.lock.png' }, { path: '/in/errors.png', relPath: 'errors.png' }];
    const plan = planRun({ items: lockItems, format: 'amg-png', out: '/o/amg', journal: false });
    expect([...plan.failures].map(([i, e]) => [i, e.message])).toEqual([
      [0, "output name .sam-amg.lock is already used by the run's lock"],
    ]);
    // errors.png becomes the folder errors/, not errors.json: no clash.
    expect([...plan.images]).toEqual([[1, '/o/amg/errors']]);
    expect(plan.journal).toBeUndefined();
  });

  it('stdout: no output path, journal, error list or lock; overlays still planned', () => {
    const plan = planRun({ items: items.slice(0, 1), format: 'jsonl', out: null, journal: false, overlayDir: '/o/ov' });
    expect(rows(plan)).toEqual([
      ['overlays', '/o/ov', 'folder'],
      ['overlay', '/o/ov/a.png', 'file'],
    ]);
    expect([plan.out, plan.journal, plan.errors, plan.lock]).toEqual([null, undefined, undefined, undefined]);
  });
});
