/**
 * Reading an input file whole, with bounds: only regular files are read (a named pipe, device or socket would
 * block a thread forever or never end), the file is opened without blocking, and a file larger than the caller's
 * limit is refused from its size before anything is read.
 */
import { constants, promises as fsp, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/** A file that cannot be read as an input; `message` is the one-line reason (no path: callers name the file). */
export class InputFileError extends Error {
  override name = 'InputFileError';
}

/** What kind of non-regular file `st` is, in plain words, or null for a regular file. */
export function specialFileKind(st: Stats): string | null {
  if (st.isFile()) return null;
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * The contents of regular file `file`, at most `maxBytes` long. Throws {@link InputFileError}: "cannot read file
 * (ENOENT)", "not a regular file (a named pipe)", "file is 5000000000 bytes, over the 1600000000-byte limit".
 */
export async function readRegularFile(file: string, maxBytes: number, limitHint = ''): Promise<Buffer> {
  let st: Stats;
  try {
    st = await fsp.stat(file);
  } catch (err) {
    throw new InputFileError(`cannot read file (${codeOf(err)})`, { cause: err });
  }
  const kind = specialFileKind(st);
  if (kind !== null) throw new InputFileError(`not a regular file (${kind}); only regular files are read`);
  let fh: FileHandle;
  try {
    // O_NONBLOCK: should the path have been replaced by a pipe since the stat, opening it still returns at once.
    fh = await fsp.open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    throw new InputFileError(`cannot read file (${codeOf(err)})`, { cause: err });
  }
  try {
    const now = await fh.stat();
    const again = specialFileKind(now);
    if (again !== null) throw new InputFileError(`not a regular file (${again}); only regular files are read`);
    if (now.size > maxBytes) throw new InputFileError(`file is ${now.size} bytes, over the ${maxBytes}-byte limit${limitHint}`);
    const buf = Buffer.allocUnsafe(now.size);
    let off = 0;
    while (off < buf.length) {
      const { bytesRead } = await fh.read(buf, off, buf.length - off, off);
      if (bytesRead === 0) break; // shrank while reading: what is there is what the decoder gets
      off += bytesRead;
    }
    return off === buf.length ? buf : buf.subarray(0, off);
  } catch (err) {
    if (err instanceof InputFileError) throw err;
    throw new InputFileError(`cannot read file (${codeOf(err)})`, { cause: err });
  } finally {
    await fh.close().catch(() => undefined);
  }
}

function codeOf(err: unknown): string {
  const code = typeof err === 'object' && err !== null && 'code' in err ? (err as { code: unknown }).code : undefined;
  return typeof code === 'string' ? code : 'read error';
}
