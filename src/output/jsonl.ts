/**
 * Streaming output (`--format jsonl`): one line per image, appended and flushed as soon as the image is done,
 * so a crash loses at most the line being written.
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { describeFsError } from '../fs/errno.js';
import type { ImageResult } from './coco.js';
import { sa1bAnnotations } from './sa1b.js';
import { RLE_SEGMENTATION, type SegmentationEncoder } from './segmentation.js';
import { geoField } from './geo.js';

/**
 * One image as a JSONL line (`file_name`, the detection file's `image_id` for a box-prompted run, `width`, `height`,
 * SA-1B `annotations` with ids from 1), with "\n".
 */
export function jsonlLine(result: ImageResult): string {
  return encodedJsonlLine(result, RLE_SEGMENTATION);
}

/** {@link jsonlLine} with each segmentation through `encoding`. */
export function encodedJsonlLine(result: ImageResult, encoding: SegmentationEncoder): string {
  const line = {
    file_name: result.relPath,
    ...(result.imageId !== undefined ? { image_id: result.imageId } : {}),
    width: result.width,
    height: result.height,
    ...geoField(result.geo),
    annotations: sa1bAnnotations(result, 1, encoding),
  };
  return `${JSON.stringify(line)}\n`;
}

/** Options of {@link JsonlWriter.open}. */
export interface JsonlOpenOptions {
  /**
   * Keep what the file holds and append (resuming). A torn last line (no final newline, as a crash mid-write
   * leaves it) is cut off first; {@link JsonlWriter.truncatedBytes} says how much. Default: start empty.
   */
  append?: boolean;
}

/** Appends lines to a JSONL file, each made durable (fdatasync) before append() resolves. */
export class JsonlWriter {
  /** Bytes of a torn last line removed when opening with `append`; 0 otherwise. */
  readonly truncatedBytes: number;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly fh: FileHandle,
    readonly path: string,
    truncatedBytes: number,
  ) {
    this.truncatedBytes = truncatedBytes;
  }

  /** Opens (creating, or emptying unless `append`) the file at `path`. */
  static async open(path: string, opts: JsonlOpenOptions = {}): Promise<JsonlWriter> {
    let fh: FileHandle | undefined;
    try {
      fh = await fsp.open(path, opts.append ? 'a+' : 'w');
      const truncated = opts.append ? await cutTornLine(fh) : 0;
      return new JsonlWriter(fh, path, truncated);
    } catch (err) {
      await fh?.close().catch(() => undefined);
      throw new Error(`cannot open ${path}: ${describeFsError(err)}`, { cause: err });
    }
  }

  /** Writes one complete line (must end with "\n") and syncs it; calls are written in call order. */
  append(line: string): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`cannot write ${this.path}: writer is closed`));
    if (!line.endsWith('\n')) return Promise.reject(new Error(`cannot write ${this.path}: a JSONL line must end with a newline`));
    const next = this.queue.then(() => this.write(Buffer.from(line, 'utf8')));
    // A failed write must not poison later ones' ordering; each caller sees its own error.
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Waits for pending lines, then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    try {
      await this.fh.close();
    } catch (err) {
      throw new Error(`cannot close ${this.path}: ${describeFsError(err)}`, { cause: err });
    }
  }

  private async write(buf: Buffer): Promise<void> {
    try {
      let off = 0;
      while (off < buf.length) {
        const { bytesWritten } = await this.fh.write(buf, off, buf.length - off);
        off += bytesWritten;
      }
      await this.fh.datasync();
    } catch (err) {
      throw new Error(`cannot write ${this.path}: ${describeFsError(err)}`, { cause: err });
    }
  }
}

/** Truncates the file after its last newline when it does not end with one; returns the bytes removed. */
async function cutTornLine(fh: FileHandle): Promise<number> {
  const { size } = await fh.stat();
  if (size === 0) return 0;
  const block = 64 * 1024;
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - block);
    const buf = Buffer.alloc(end - start);
    await fh.read(buf, 0, buf.length, start);
    const nl = buf.lastIndexOf(0x0a);
    if (nl >= 0) {
      const keep = start + nl + 1;
      if (keep < size) {
        await fh.truncate(keep);
        await fh.datasync();
      }
      return size - keep;
    }
    end = start;
  }
  await fh.truncate(0);
  await fh.datasync();
  return size;
}
