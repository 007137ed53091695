/**
 * Output to a stream instead of a file (`--out -`: stdout): lines or chunks written in order with back-pressure,
 * and a reader that goes away (EPIPE) reported as a failed write rather than an exception that ends the process.
 */
import { errorMessage } from '../base/errors.js';
import { errorCode } from '../fs/errno.js';

/** Where streamed JSONL lines go: a file ({@link JsonlWriter}) or a stream ({@link StreamLineWriter}). */
export interface LineSink {
  /** Writes one complete line (ending with "\n"); resolves once it is handed over (files: on disk). */
  append(line: string): Promise<void>;
  /** Waits for pending lines and ends the output. */
  close(): Promise<void>;
}

/** Writes lines or chunks to a writable stream that this writer does not end (stdout stays open). */
export class StreamLineWriter implements LineSink {
  private failed: Error | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly stream: NodeJS.WritableStream,
    /** How messages name the stream, e.g. 'stdout'. */
    readonly label: string,
  ) {
    stream.on('error', (err: Error) => {
      this.failed ??= this.describe(err);
    });
  }

  append(line: string): Promise<void> {
    const next = this.queue.then(() => this.write(line));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Writes every chunk in order (e.g. a COCO document's pieces). */
  async writeAll(chunks: Iterable<string>): Promise<void> {
    for (const c of chunks) await this.append(c);
  }

  async close(): Promise<void> {
    await this.queue;
    // Let a failure of the last writes (reported asynchronously, e.g. EPIPE) arrive before judging.
    await new Promise((resolve) => setImmediate(resolve));
    if (this.failed) throw this.failed;
  }

  private write(text: string): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    let ok: boolean;
    try {
      ok = this.stream.write(text, (err) => {
        if (err) this.failed ??= this.describe(err);
      });
    } catch (err) {
      this.failed ??= this.describe(err);
      return Promise.reject(this.failed);
    }
    if (ok) return Promise.resolve();
    // Back-pressure: wait until the reader has taken what is buffered, or the stream fails.
    return new Promise((resolve, reject) => {
      const done = (): void => {
        this.stream.off('drain', done);
        this.stream.off('error', done);
        this.stream.off('close', done);
        if (this.failed) reject(this.failed);
        else resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('error', done);
      this.stream.on('close', done);
    });
  }

  private describe(err: unknown): Error {
    const code = errorCode(err);
    const why = code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' ? 'the reader went away (broken pipe)' : errorMessage(err);
    return new Error(`cannot write to ${this.label}: ${why}`, { cause: err });
  }
}
