/**
 * Plain-words reasons for file-system errors, so messages read the same everywhere in the run.
 */
import { errorMessage } from '../base/errors.js';

const REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  EEXIST: 'file already exists',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in system',
  EIO: 'input/output error',
  EBUSY: 'resource busy',
  EXDEV: 'cross-device link',
};

/** The `code` of a Node system error, or undefined for anything else. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** A short reason for `err`: the plain-words text for known errno codes, else the error's own message. */
export function describeFsError(err: unknown): string {
  const code = errorCode(err);
  if (code !== undefined && REASONS[code] !== undefined) return REASONS[code];
  return errorMessage(err);
}
