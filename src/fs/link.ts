/**
 * A link to a file, made so that a reader finds the file under another name (the YOLO dataset's images/ folder):
 * a relative symbolic link, or a hard link where symbolic links are not allowed, replaced atomically.
 */
import { promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { tempName } from './atomic.js';
import { describeFsError, errorCode } from './errno.js';

/** What {@link ensureLink} found or did. */
export type LinkOutcome = 'same-file' | 'linked';

/**
 * Makes `link` name the file `target`. Nothing is done when `link` already is that file (the input itself, a hard
 * link, or a symbolic link resolving to it). An earlier symbolic link to something else is replaced; anything else
 * at `link` (a different file, a folder) is left alone and refused, since a label next to it would describe another
 * picture. Throws an Error naming `link` and the reason.
 */
export async function ensureLink(link: string, target: string): Promise<LinkOutcome> {
  const want = await statOf(target, `cannot link ${link}: the input ${target}`);
  const have = await lstatOrNull(link);
  if (have !== null) {
    const resolved = have.isSymbolicLink() ? await fsp.stat(link).catch(() => null) : have;
    if (resolved !== null && resolved.dev === want.dev && resolved.ino === want.ino) return 'same-file';
    if (!have.isSymbolicLink()) {
      throw new Error(`${link} exists and is not the input ${target}; move it away or choose another --out (its label would describe another picture)`);
    }
  }
  const dir = path.dirname(link);
  const tmp = path.join(dir, tempName(path.basename(link)));
  try {
    await fsp.mkdir(dir, { recursive: true });
    try {
      await fsp.symlink(path.relative(dir, target) || path.basename(target), tmp);
    } catch (err) {
      // Windows without the symlink privilege, or a file system without symbolic links: a hard link (same volume).
      const code = errorCode(err);
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
      await fsp.link(target, tmp);
    }
    await fsp.rename(tmp, link);
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw new Error(`cannot link ${link} to the input ${target}: ${describeFsError(err)}`, { cause: err });
  }
  return 'linked';
}

async function statOf(p: string, what: string): Promise<Stats> {
  try {
    return await fsp.stat(p);
  } catch (err) {
    throw new Error(`${what}: ${describeFsError(err)}`, { cause: err });
  }
}

async function lstatOrNull(p: string): Promise<Stats | null> {
  try {
    return await fsp.lstat(p);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return null;
    throw new Error(`cannot check ${p}: ${describeFsError(err)}`, { cause: err });
  }
}
