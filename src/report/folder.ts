/**
 * The report folder: built next to its destination under a temporary name and swapped in when complete, so a
 * failed or interrupted build never leaves half a report, and never touches a folder that is not a report.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describeFsError, errorCode } from '../fs/errno.js';
import { REPORT_MARKER } from './data.js';

/** A destination the report must not replace (the CLI's exit code 2). */
export class ReportTargetError extends Error {}

/**
 * Throws unless `dir` is free for a report: missing, an empty folder, or a folder holding an earlier report
 * (its marker file). Anything else may be the user's files.
 */
export async function checkReportTarget(dir: string, flag = '--out'): Promise<void> {
  let names: string[];
  try {
    const st = await fsp.stat(dir);
    if (!st.isDirectory()) throw new ReportTargetError(`${flag} ${dir}: exists and is not a folder`);
    names = await fsp.readdir(dir);
  } catch (err) {
    if (err instanceof ReportTargetError) throw err;
    if (errorCode(err) === 'ENOENT') return;
    throw new ReportTargetError(`${flag} ${dir}: ${describeFsError(err)}`);
  }
  if (names.length > 0 && !names.includes(REPORT_MARKER)) {
    throw new ReportTargetError(`${flag} ${dir}: the folder is not empty and holds no earlier report (no ${REPORT_MARKER}); choose another folder`);
  }
}

/** Creates an empty hidden sibling of `dir` to build into. */
export async function makeBuildFolder(dir: string): Promise<string> {
  const parent = path.dirname(path.resolve(dir));
  try {
    await fsp.mkdir(parent, { recursive: true });
    const tmp = path.join(parent, `.${path.basename(dir)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    await fsp.mkdir(tmp);
    return tmp;
  } catch (err) {
    throw new ReportTargetError(`--out ${dir}: cannot create a folder in ${parent}: ${describeFsError(err)}`);
  }
}

/** Puts the finished `built` folder at `dir`, replacing an earlier report there; `built` is gone afterwards. */
export async function swapInFolder(built: string, dir: string): Promise<void> {
  const target = path.resolve(dir);
  const old = `${built}.old`;
  let moved = false;
  try {
    await fsp.rename(target, old);
    moved = true;
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') throw new Error(`cannot replace ${target}: ${describeFsError(err)}`, { cause: err });
  }
  try {
    await fsp.rename(built, target);
  } catch (err) {
    // Put the earlier report back rather than leave nothing.
    if (moved) await fsp.rename(old, target).catch(() => undefined);
    throw new Error(`cannot move the report into ${target}: ${describeFsError(err)}`, { cause: err });
  }
  if (moved) await fsp.rm(old, { recursive: true, force: true });
}
