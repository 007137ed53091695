/**
 * Atomic file replacement: readers see either the old file or the complete new one, never a partial write,
 * even if the process dies or the disk fills up halfway.
 */
import { constants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { describeFsError, errorCode } from './errno.js';

/** What {@link writeFileAtomic} accepts: one string or buffer, or pieces written in order (never joined). */
export type AtomicData = string | Uint8Array | Iterable<string | Uint8Array>;

/** Pieces are batched up to this size so that many small chunks do not become many small writes. */
const BATCH_BYTES = 1 << 20;

/**
 * Writes `data` to `file` atomically: a temp file `.<name>.<pid>.<random>.tmp` in the same folder is written,
 * fsynced and renamed over the target, then the folder is fsynced so the rename itself survives a crash. An
 * existing target keeps its permission bits. On failure the temp file is removed, the old target is untouched,
 * and the Error names the path and the reason ("no space left on device", "permission denied", …).
 */
export async function writeFileAtomic(file: string, data: AtomicData): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, tempName(path.basename(file)));
  let fh: FileHandle | undefined;
  try {
    fh = await fsp.open(tmp, 'wx', 0o666);
    const mode = await existingMode(file);
    if (mode !== undefined) await fh.chmod(mode);
    await writeAll(fh, data);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await fsp.rename(tmp, file);
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw new Error(`cannot write ${file}: ${describeFsError(err)}`, { cause: err });
  }
  await syncDir(dir);
}

/**
 * Throws a clear Error unless `dir` exists, is a folder and accepts new files. Creates and removes a probe
 * file, because permission bits alone miss read-only mounts and do not apply to root.
 */
export async function checkWritableDir(dir: string): Promise<void> {
  let stat;
  try {
    stat = await fsp.stat(dir);
  } catch (err) {
    throw new Error(`output folder ${dir}: ${describeFsError(err)}`, { cause: err });
  }
  if (!stat.isDirectory()) throw new Error(`output folder ${dir}: not a directory`);
  const probe = path.join(dir, tempName('sam-amg-probe'));
  try {
    await fsp.access(dir, constants.W_OK | constants.X_OK);
    await (await fsp.open(probe, 'wx')).close();
  } catch (err) {
    throw new Error(`output folder ${dir} is not writable: ${describeFsError(err)}`, { cause: err });
  }
  await fsp.rm(probe, { force: true });
}

/** A hidden temp name beside `base` (`.<name>.<pid>.<random>.tmp`), unique to this process and call. */
export function tempName(base: string): string {
  // Keeps the temp name within the usual 255-byte name limit even for long targets.
  const short = base.length > 200 ? base.slice(0, 200) : base;
  return `.${short}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
}

async function existingMode(file: string): Promise<number | undefined> {
  try {
    return (await fsp.stat(file)).mode & 0o7777;
  } catch {
    return undefined;
  }
}

async function writeAll(fh: FileHandle, data: AtomicData): Promise<void> {
  if (typeof data === 'string' || data instanceof Uint8Array) {
    await writeBuffer(fh, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    return;
  }
  let batch: Buffer[] = [];
  let size = 0;
  for (const piece of data) {
    const buf = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    batch.push(buf);
    size += buf.length;
    if (size >= BATCH_BYTES) {
      await writeBuffer(fh, Buffer.concat(batch, size));
      batch = [];
      size = 0;
    }
  }
  if (size > 0) await writeBuffer(fh, Buffer.concat(batch, size));
}

async function writeBuffer(fh: FileHandle, buf: Uint8Array): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off);
    off += bytesWritten;
  }
}

/** Best effort: some platforms and file systems cannot fsync a folder, and the file is already in place. */
async function syncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await fsp.open(dir, 'r');
    await fh.sync();
  } catch (err) {
    const code = errorCode(err);
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EBADF' && code !== 'EACCES') {
      throw new Error(`cannot sync folder ${dir}: ${describeFsError(err)}`, { cause: err });
    }
  } finally {
    await fh?.close().catch(() => undefined);
  }
}
