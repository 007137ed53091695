import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { listInputs, type InputListing } from '../src/run/inputs.js';
import { compileGlob, hasGlobMagic, matchName } from '../src/run/glob.js';

const isRoot = process.getuid?.() === 0;
// Mixed forms on purpose: the caller may give extensions with or without the dot, in any case.
const extensions = new Set(['.jpg', 'JPEG', 'png', '.WebP']);

let root: string;

/**
 * images/
 *   .cache/x.jpg            hidden folder
 *   .hidden.jpg             hidden file
 *   B.JPG                   upper-case extension
 *   a.jpg
 *   linked -> ../other      symlinked folder, followed
 *   locked/e.jpg            made unreadable per test
 *   notes.txt               not an image
 *   sub/alias.jpg -> ../a.jpg   same file as a.jpg
 *   sub/c.png
 *   sub/deep/d.jpeg
 *   sub/loop -> ..          loops back to images
 * other/x.jpg, other/y.webp
 * more/x.jpg                same relPath as other/x.jpg
 * deep1/same/z.jpg, deep2/same/z.jpg
 * single.xyz                unknown extension
 */
beforeAll(async () => {
  root = await fsp.realpath(await fsp.mkdtemp(path.join(os.tmpdir(), 'sam-amg-inputs-')));
  const files = [
    'images/.cache/x.jpg',
    'images/.hidden.jpg',
    'images/B.JPG',
    'images/a.jpg',
    'images/locked/e.jpg',
    'images/notes.txt',
    'images/sub/c.png',
    'images/sub/deep/d.jpeg',
    'other/x.jpg',
    'other/y.webp',
    'more/x.jpg',
    'deep1/same/z.jpg',
    'deep2/same/z.jpg',
    'single.xyz',
  ];
  for (const f of files) {
    await fsp.mkdir(path.dirname(path.join(root, f)), { recursive: true });
    await fsp.writeFile(path.join(root, f), f);
  }
  await fsp.symlink('../other', path.join(root, 'images/linked'));
  await fsp.symlink('../a.jpg', path.join(root, 'images/sub/alias.jpg'));
  await fsp.symlink('..', path.join(root, 'images/sub/loop'));
});

afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

afterEach(() => {
  vi.restoreAllMocks();
});

const abs = (p: string): string => path.join(root, p);
const list = (args: string[], extra: { filesFrom?: string; stdin?: NodeJS.ReadableStream } = {}): Promise<InputListing> =>
  listInputs(args, { extensions, cwd: root, ...extra });
const pairs = (l: InputListing): [string, string][] => l.items.map((i) => [i.relPath, i.path]);

/** Makes readdir of images/locked fail as it would for an unreadable folder (root can read anything). */
function lockFolder(): void {
  const original = fsp.readdir.bind(fsp) as (p: string, o: object) => Promise<unknown>;
  vi.spyOn(fsp, 'readdir').mockImplementation(((p: string, o: object) => {
    if (p === abs('images/locked')) {
      return Promise.reject(Object.assign(new Error(`EACCES: permission denied, scandir '${p}'`), { code: 'EACCES' }));
    }
    return original(p, o);
  }) as typeof fsp.readdir);
}

describe('listInputs: folders', () => {
  it('walks recursively, skipping hidden names, loops, unreadable folders and non-images', async () => {
    lockFolder();
    const l = await list(['images']);
    expect(pairs(l)).toEqual([
      ['B.JPG', abs('images/B.JPG')],
      ['a.jpg', abs('images/a.jpg')],
      ['linked/x.jpg', abs('images/linked/x.jpg')],
      ['linked/y.webp', abs('images/linked/y.webp')],
      ['sub/c.png', abs('images/sub/c.png')],
      ['sub/deep/d.jpeg', abs('images/sub/deep/d.jpeg')],
    ]);
    expect(l.warnings).toEqual([
      `skipped ${abs('images/notes.txt')}: not an image file extension`,
      `skipped ${abs('images/sub/loop')}: symbolic link loop back to ${abs('images')}`,
    ]);
    expect(l.errors).toEqual([{ path: abs('images/locked'), reason: 'permission denied' }]);
  });

  it.skipIf(isRoot)('reports a really unreadable folder (non-root only: root reads anything)', async () => {
    await fsp.chmod(abs('images/locked'), 0o000);
    try {
      const l = await list(['images']);
      expect(l.errors).toEqual([{ path: abs('images/locked'), reason: 'permission denied' }]);
      expect(l.items).toHaveLength(6);
    } finally {
      await fsp.chmod(abs('images/locked'), 0o755);
    }
  });

  it('lists a file reached twice (two arguments, a symlink) once, under the relPath that sorts first', async () => {
    const l = await list(['images/sub', 'images']);
    expect(pairs(l)).toEqual([
      ['B.JPG', abs('images/B.JPG')],
      ['a.jpg', abs('images/a.jpg')],
      ['c.png', abs('images/sub/c.png')],
      ['deep/d.jpeg', abs('images/sub/deep/d.jpeg')],
      ['linked/x.jpg', abs('images/linked/x.jpg')],
      ['linked/y.webp', abs('images/linked/y.webp')],
      ['locked/e.jpg', abs('images/locked/e.jpg')],
    ]);
    // Walked from images/sub, sub/loop is not yet a loop; it becomes one at loop/sub.
    expect(l.warnings).toContain(`skipped ${abs('images/sub/loop/sub')}: symbolic link loop back to ${abs('images/sub')}`);
  });

  it('prefixes the folder name when two folders give the same relPath', async () => {
    const l = await list(['other', 'more']);
    expect(pairs(l)).toEqual([
      ['more/x.jpg', abs('more/x.jpg')],
      ['other/x.jpg', abs('other/x.jpg')],
      ['y.webp', abs('other/y.webp')],
    ]);
    // Still ambiguous after one folder name: more of the path is used.
    const deeper = await list(['deep2/same', 'deep1/same']);
    expect(pairs(deeper)).toEqual([
      ['deep1/same/z.jpg', abs('deep1/same/z.jpg')],
      ['deep2/same/z.jpg', abs('deep2/same/z.jpg')],
    ]);
  });

  it('gives the same listing whatever the argument order', async () => {
    const a = await list(['more', 'images', 'other']);
    const b = await list(['other', 'more', 'images']);
    expect(pairs(a)).toEqual(pairs(b));
  });
});

describe('listInputs: files and missing paths', () => {
  it('takes named files whatever their extension, by basename, and reports missing ones', async () => {
    const l = await list(['images/notes.txt', 'single.xyz', 'missing.jpg', 'images/a.jpg', 'images/sub/alias.jpg', 'images/.hidden.jpg']);
    expect(pairs(l)).toEqual([
      ['.hidden.jpg', abs('images/.hidden.jpg')],
      ['a.jpg', abs('images/a.jpg')],
      ['notes.txt', abs('images/notes.txt')],
      ['single.xyz', abs('single.xyz')],
    ]);
    expect(l.errors).toEqual([{ path: 'missing.jpg', reason: 'no such file or directory' }]);
    expect(l.warnings).toEqual([]);
  });

  it('accepts absolute paths and prefixes the parent folder when two named files share a name', async () => {
    const l = await list([abs('other/x.jpg'), 'more/x.jpg']);
    expect(pairs(l)).toEqual([
      ['more/x.jpg', abs('more/x.jpg')],
      ['other/x.jpg', abs('other/x.jpg')],
    ]);
  });
});

describe('listInputs: glob patterns', () => {
  it('matches ** at any depth, skipping hidden names and loops, relative to the static base', async () => {
    const l = await list(['images/**/*.jpg']);
    expect(pairs(l)).toEqual([
      ['a.jpg', abs('images/a.jpg')],
      ['linked/x.jpg', abs('images/linked/x.jpg')],
      ['locked/e.jpg', abs('images/locked/e.jpg')],
    ]);
    expect(l.warnings).toEqual([`skipped ${abs('images/sub/loop')}: symbolic link loop back to ${abs('images')}`]);
  });

  it('matches ?, [...] and *; folders are not matched; non-images are skipped with a warning', async () => {
    expect(pairs(await list(['images/sub/?.png']))).toEqual([['c.png', abs('images/sub/c.png')]]);
    expect(pairs(await list(['other/**']))).toEqual([
      ['x.jpg', abs('other/x.jpg')],
      ['y.webp', abs('other/y.webp')],
    ]);
    expect(pairs(await list(['images/[!a]*']))).toEqual([['B.JPG', abs('images/B.JPG')]]);
    const star = await list(['images/*']);
    expect(pairs(star)).toEqual([
      ['B.JPG', abs('images/B.JPG')],
      ['a.jpg', abs('images/a.jpg')],
    ]);
    expect(star.warnings).toEqual([`skipped ${abs('images/notes.txt')}: not an image file extension`]);
    expect(pairs(await list([`${root}/*/same/*.jpg`]))).toEqual([
      ['deep1/same/z.jpg', abs('deep1/same/z.jpg')],
      ['deep2/same/z.jpg', abs('deep2/same/z.jpg')],
    ]);
  });

  it('reports a pattern that matches nothing', async () => {
    const l = await list(['images/*.gif', 'nowhere/*.jpg']);
    expect(l.items).toEqual([]);
    expect(l.errors).toEqual([
      { path: 'images/*.gif', reason: 'no matching files' },
      { path: 'nowhere/*.jpg', reason: 'no matching files' },
    ]);
  });

  it('compiles patterns', () => {
    expect(hasGlobMagic('a/b.jpg')).toBe(false);
    expect(hasGlobMagic('a/\\*.jpg')).toBe(false);
    expect(hasGlobMagic('a[1.jpg')).toBe(false);
    expect(hasGlobMagic('a[12].jpg')).toBe(true);
    const g = compileGlob('photos/2024/**/**/img-??.[jJ]*');
    expect(g.base).toBe('photos/2024');
    expect(g.segments.map((s) => s.kind)).toEqual(['globstar', 'name']);
    const last = g.segments[1];
    if (last.kind !== 'name') throw new Error('expected a name segment');
    expect(matchName(last, 'img-01.jpg')).toBe(true);
    expect(matchName(last, 'img-01.JPG')).toBe(true);
    expect(matchName(last, 'img-1.jpg')).toBe(false);
    const dot = compileGlob('a/.*').segments[0];
    const any = compileGlob('a/*').segments[0];
    if (dot.kind !== 'name' || any.kind !== 'name') throw new Error('expected name segments');
    expect(matchName(dot, '.x')).toBe(true);
    expect(matchName(any, '.x')).toBe(false);
    const cls = compileGlob('[a-c].jpg').segments[0];
    if (cls.kind !== 'name') throw new Error('expected a name segment');
    expect(['a.jpg', 'b.jpg', 'd.jpg', '-.jpg'].filter((n) => matchName(cls, n))).toEqual(['a.jpg', 'b.jpg']);
  });
});

describe('listInputs: --files-from', () => {
  it('reads a list file, ignoring comments and blank lines, each line like an argument', async () => {
    const listFile = abs('list.txt');
    await fsp.writeFile(listFile, '# inputs\n\nimages/a.jpg\nother\r\nmissing.png\nimages/sub/*.png\n');
    try {
      const l = await list(['more'], { filesFrom: 'list.txt' });
      expect(pairs(l)).toEqual([
        ['a.jpg', abs('images/a.jpg')],
        ['c.png', abs('images/sub/c.png')],
        ['more/x.jpg', abs('more/x.jpg')],
        ['other/x.jpg', abs('other/x.jpg')],
        ['y.webp', abs('other/y.webp')],
      ]);
      expect(l.errors).toEqual([{ path: 'missing.png', reason: 'no such file or directory' }]);
    } finally {
      await fsp.rm(listFile);
    }
  });

  it("reads '-' from stdin", async () => {
    const stdin = Readable.from([Buffer.from('images/a.jpg\nimages/sub/'), Buffer.from('c.png\n')]);
    const l = await list([], { filesFrom: '-', stdin });
    expect(pairs(l)).toEqual([
      ['a.jpg', abs('images/a.jpg')],
      ['c.png', abs('images/sub/c.png')],
    ]);
  });

  it('throws when the list itself cannot be read', async () => {
    await expect(list([], { filesFrom: 'nope.txt' })).rejects.toThrow('cannot read --files-from nope.txt: no such file or directory');
  });
});
