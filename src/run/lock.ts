/**
 * One writer per output: a lock file next to the output, created with O_CREAT|O_EXCL (atomic on local file
 * systems and on NFSv3+ servers), holding the owner's pid, host name and start time.
 *
 * A lock whose owner is a process on this host that no longer runs (killed with -9, a power cut) is stale: it is
 * taken over, with a warning. A lock of another host is never taken over automatically, since this host cannot
 * tell whether that process still runs; the message says how to remove it by hand.
 */
import { readFileSync, rmSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeFsError, errorCode } from '../fs/errno.js';
import { isFolderFormat, type OutputFormat } from '../output/sink.js';

/** The lock's name inside the output folder of a folder format. */
export const LOCK_FILE_NAME = '.sam-amg.lock';

/** Where the lock of an output lives: inside the output folder of a folder format, next to a file output. */
export function lockPathFor(format: OutputFormat, out: string): string {
  return isFolderFormat(format) ? path.join(out, LOCK_FILE_NAME) : `${out}.lock`;
}

/** What a lock file holds. */
export interface LockOwner {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  started: string;
}

/** The output is locked by another run (or the lock cannot be created): a start-up refusal. */
export class LockError extends Error {
  override name = 'LockError';
}

/** A held lock; release it when the run ends. */
export class OutputLock {
  private released = false;

  private constructor(
    readonly path: string,
    readonly owner: LockOwner,
  ) {}

  /**
   * Takes the lock at `lockPath` for the output `label` (for messages). `warn` receives the note about a stale
   * lock taken over. Throws {@link LockError} when another live run holds it or it cannot be created.
   */
  static async acquire(lockPath: string, label: string, warn: (message: string) => void): Promise<OutputLock> {
    const owner: LockOwner = { pid: process.pid, host: os.hostname(), started: new Date().toISOString() };
    const text = `${JSON.stringify(owner)}\n`;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fh = await fsp.open(lockPath, 'wx', 0o644);
        try {
          await fh.writeFile(text);
          await fh.sync();
        } finally {
          await fh.close();
        }
        return new OutputLock(lockPath, owner);
      } catch (err) {
        if (errorCode(err) !== 'EEXIST') throw new LockError(`cannot create the lock ${lockPath} for ${label}: ${describeFsError(err)}`, { cause: err });
      }
      const held = await readOwner(lockPath);
      if (held === undefined) continue; // removed meanwhile: try again
      const removeHint = `if no sam-amg run is writing ${label}, remove ${lockPath} and run again`;
      if (held === null) throw new LockError(`${label} is locked by ${lockPath}, which does not hold a sam-amg lock; ${removeHint}`);
      if (held === 'new') throw new LockError(`${label} is being written by another sam-amg run (its lock ${lockPath} was just created)`);
      if (held.host !== os.hostname()) {
        throw new LockError(
          `${label} is being written by process ${held.pid} on host ${held.host} (since ${held.started}, lock ${lockPath}); ` +
            `a lock of another host is never taken over automatically: ${removeHint}`,
        );
      }
      if (isRunning(held.pid)) {
        throw new LockError(`${label} is being written by another sam-amg run (process ${held.pid}, since ${held.started}); wait for it to finish, or ${removeHint}`);
      }
      // Stale: the owner died without removing it. Check it is still the same lock just before removing it.
      const again = await readOwner(lockPath);
      if (again && again !== 'new' && sameOwner(again, held)) {
        warn(`taking over the stale lock ${lockPath} of process ${held.pid}, which is no longer running`);
        await fsp.rm(lockPath, { force: true });
      }
    }
    throw new LockError(`${label}: could not take the lock ${lockPath} (another run took it at the same moment?)`);
  }

  /** Removes the lock file (only if it is still ours). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const held = await readOwner(this.path);
    if (held && held !== 'new' && sameOwner(held, this.owner)) {
      await fsp.rm(this.path, { force: true });
    }
  }

  /** The same, synchronously: for a process that is about to end at once (a second signal). */
  releaseSync(): void {
    if (this.released) return;
    this.released = true;
    try {
      const held = parseOwner(readFileSync(this.path, 'utf8'));
      if (held && sameOwner(held, this.owner)) rmSync(this.path, { force: true });
    } catch {
      // Gone already, or unreadable: nothing to do on the way out.
    }
  }
}

/** The lock's owner; 'new' while it is being created; null when the file is not a lock; undefined when it does not exist. */
async function readOwner(file: string): Promise<LockOwner | 'new' | null | undefined> {
  let text: string;
  try {
    const fh = await fsp.open(file, 'r');
    try {
      const buf = Buffer.alloc(4096);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      text = buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw new LockError(`cannot read the lock ${file}: ${describeFsError(err)}`, { cause: err });
  }
  // A lock being created right now may still be empty: it is held, by whom is not known yet.
  if (text === '') return 'new';
  return parseOwner(text);
}

/** Whether two lock owners are the same run: a later run may reuse the pid, so the start time counts too. */
function sameOwner(a: LockOwner, b: LockOwner): boolean {
  return a.pid === b.pid && a.host === b.host && a.started === b.started;
}

function parseOwner(text: string): LockOwner | null {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid === 'number' && Number.isSafeInteger(o.pid) && o.pid > 0 && typeof o.host === 'string' && typeof o.started === 'string') {
      return { pid: o.pid, host: o.host, started: o.started };
    }
  } catch {
    // not JSON
  }
  return null;
}

/** Whether a process with this pid exists on this host (EPERM: it exists but belongs to someone else). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errorCode(err) === 'EPERM';
  }
}
