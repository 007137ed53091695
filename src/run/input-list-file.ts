/**
 * `--files-from`: a list of input paths, one per line, from a file, a named pipe or stdin ('-').
 */
import { constants, open, promises as fsp } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describeFsError } from '../fs/errno.js';
import { InputFileError, readRegularFile } from '../node/read-input.js';

/** The largest `--files-from` list read (about ten million paths). */
export const MAX_LIST_BYTES = 2 ** 30;

/**
 * Reads a `--files-from` list: one path per line, exactly as written (only the line ending, `\n` or `\r\n`, is
 * removed: names may begin or end with spaces); blank lines and lines whose first non-blank character is '#'
 * are ignored. The list is read as a stream, so a pipe (`-`, `<(find …)`) is read as its writer writes. Throws
 * an Error naming the list when it cannot be read (a usage error).
 */
export async function readFilesFrom(source: string, stdin: NodeJS.ReadableStream | undefined, cwd: string): Promise<string[]> {
  let text: string;
  try {
    text = source === '-' ? await readStream(stdin ?? process.stdin) : await readListFile(path.resolve(cwd, source));
  } catch (err) {
    const why = err instanceof InputFileError ? err.message : describeFsError(err);
    throw new Error(`cannot read --files-from ${source === '-' ? 'stdin' : source}: ${why}`, { cause: err });
  }
  return text
    .split('\n')
    .map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line))
    .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
}

/**
 * A list file: a regular file is read whole (bounded); a named pipe (`<(find …)`, /dev/stdin, a FIFO) is opened
 * as a reader (which waits, off the event loop, until a writer has it open — as `cat` would) and then read from
 * the event loop as its writer writes, so a signal still ends the process while it waits.
 */
async function readListFile(file: string): Promise<string> {
  const st = await fsp.stat(file);
  if (!st.isFIFO()) return (await readRegularFile(file, MAX_LIST_BYTES)).toString('utf8');
  // A plain descriptor (not a FileHandle): the socket owns it and closes it.
  const fd = await new Promise<number>((resolve, reject) => open(file, constants.O_RDONLY, (err, n) => (err ? reject(err) : resolve(n))));
  const socket = new net.Socket({ fd, readable: true, writable: false });
  try {
    return await readStream(socket);
  } finally {
    socket.destroy();
  }
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = Buffer.from(chunk);
    size += buf.length;
    if (size > MAX_LIST_BYTES) throw new InputFileError(`the list is longer than ${MAX_LIST_BYTES} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}
