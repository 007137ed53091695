import { existsSync, readFileSync, statSync } from 'node:fs';
import { copyFile, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { getRepoFolderName } from '@huggingface/hub';
import { isInsideDir } from '../../fs/paths.js';

export { isInsideDir };

/** A full commit id; anything else is a branch, tag or ref name resolved through `refs/`. */
export const COMMIT_RE = /^[0-9a-f]{40}$/;

/**
 * A git blob id (sha1: the same form as a commit id) and an LFS/Xet content id (sha256), as the hub lists them and
 * as blob files are named.
 */
export const GIT_OID_RE = COMMIT_RE;
export const SHA256_RE = /^[0-9a-f]{64}$/;

/**
 * Why `revision` cannot be used as a ref name inside the cache (`refs/<revision>`), or undefined when it can:
 * git's ref-name rules that matter for a path — no empty, `.` or `..` segment, no leading or trailing `/`, no
 * backslash, no control characters or characters git refuses (space ~ ^ : ? * [), no `@{`, not ending in
 * `.lock`, at most 255 characters.
 */
export function unsafeRevision(revision: string): string | undefined {
  if (revision === '') return 'it is empty';
  if (revision.length > 255) return 'it is longer than 255 characters';
  if (/[\u0000-\u001f\u007f \\~^:?*[]/u.test(revision)) return 'it holds a character git does not allow in ref names';
  if (revision.includes('@{')) return "it holds '@{'";
  if (revision.endsWith('.lock')) return "it ends with '.lock'";
  for (const seg of revision.split('/')) {
    if (seg === '') return "it has an empty segment (a leading, trailing or double '/')";
    if (seg === '.' || seg === '..') return `it has a '${seg}' segment`;
    if (seg.startsWith('.')) return "a segment starts with '.'";
  }
  return undefined;
}

/**
 * Why a repository file path from the hub's listing cannot be placed under a snapshot folder, or undefined:
 * it must be relative, use `/` only, and have no empty, `.` or `..` segment and no control characters.
 */
export function unsafeRepoPath(p: string): string | undefined {
  if (p === '') return 'it is empty';
  if (p.length > 1024) return 'it is longer than 1024 characters';
  if (/[\u0000-\u001f\u007f\\]/u.test(p)) return 'it holds a backslash or a control character';
  if (p.startsWith('/') || /^[A-Za-z]:/u.test(p)) return 'it is absolute';
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.' || seg === '..') return `it has ${seg === '' ? 'an empty' : `a '${seg}'`} segment`;
  }
  return undefined;
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? join(homedir(), p.slice(1)) : p;
}

/**
 * The hub cache folder, in the order Python's huggingface_hub uses so both share one cache:
 * HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE (legacy), $HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub,
 * ~/.cache/huggingface/hub.
 */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const direct = env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE;
  if (direct) return expandHome(direct);
  if (env.HF_HOME) return join(expandHome(env.HF_HOME), 'hub');
  const xdg = env.XDG_CACHE_HOME ? expandHome(env.XDG_CACHE_HOME) : join(homedir(), '.cache');
  return join(xdg, 'huggingface', 'hub');
}

/** `<cacheDir>/models--owner--name`. */
export function repoCacheDir(id: string, cacheDir: string): string {
  return join(cacheDir, getRepoFolderName({ name: id, type: 'model' }));
}

/** Path of a blob named by its git oid or LFS sha256, as Python names them. */
export function blobPath(id: string, cacheDir: string, oid: string): string {
  return join(repoCacheDir(id, cacheDir), 'blobs', oid);
}

/** The snapshot folder of a commit (which may not exist). */
export function snapshotDir(id: string, cacheDir: string, commit: string): string {
  return join(repoCacheDir(id, cacheDir), 'snapshots', commit);
}

/** The commit a cached ref points to, or the revision itself when it already is a commit. */
export function cachedCommit(id: string, revision: string, cacheDir: string): string | undefined {
  if (COMMIT_RE.test(revision)) return revision;
  if (unsafeRevision(revision) !== undefined) return undefined;
  try {
    const commit = readFileSync(join(repoCacheDir(id, cacheDir), 'refs', revision), 'utf8').trim();
    return COMMIT_RE.test(commit) ? commit : undefined;
  } catch {
    return undefined;
  }
}

/** The cached snapshot folder for `id@revision`, or undefined when the cache has none. */
export function cachedSnapshot(id: string, revision: string, cacheDir: string): string | undefined {
  const commit = cachedCommit(id, revision, cacheDir);
  if (!commit) return undefined;
  const dir = snapshotDir(id, cacheDir, commit);
  return existsSync(dir) ? dir : undefined;
}

/** The entries of `files` that are not readable files under `dir` (dangling links count as missing). */
export function missingFiles(dir: string, files: readonly string[]): string[] {
  return files.filter((f) => {
    try {
      return !statSync(join(dir, f)).isFile();
    } catch {
      return true;
    }
  });
}

/** Records `refs/<revision>` → commit; written whole then renamed so readers never see half a ref. */
export async function writeRef(id: string, cacheDir: string, revision: string, commit: string): Promise<void> {
  if (revision === commit) return;
  const ref = join(repoCacheDir(id, cacheDir), 'refs', revision);
  if (unsafeRevision(revision) !== undefined || !COMMIT_RE.test(commit) || !isInsideDir(ref, cacheDir)) {
    throw new Error(`refusing to record revision ${JSON.stringify(revision)} → ${JSON.stringify(commit)} in the cache`);
  }
  await mkdir(dirname(ref), { recursive: true });
  const tmp = `${ref}.${process.pid}.tmp`;
  await writeFile(tmp, commit);
  await rename(tmp, ref);
}

/**
 * Points `snapshots/<commit>/<path>` at a blob with a relative symlink (what Python does, and it
 * survives moving the cache); copies when symlinks are not allowed, e.g. Windows without rights.
 */
export async function linkPointer(blob: string, pointer: string, cacheDir?: string): Promise<void> {
  if (cacheDir !== undefined && (!isInsideDir(pointer, cacheDir) || !isInsideDir(blob, cacheDir))) {
    throw new Error(`refusing to write ${pointer} outside the cache ${cacheDir}`);
  }
  await mkdir(dirname(pointer), { recursive: true });
  await rm(pointer, { force: true });
  try {
    await symlink(relative(dirname(pointer), blob), pointer);
  } catch {
    const tmp = `${pointer}.${process.pid}.tmp`;
    await copyFile(blob, tmp);
    await rename(tmp, pointer);
  }
}
