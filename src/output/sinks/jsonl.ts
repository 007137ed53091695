/**
 * JSONL: one line per image, in output order. A run streams it (`streamed`): the file starts as the restored lines
 * (one atomic replacement), then every added image is appended and synced, so a crash keeps the finished lines.
 * A merge knows every image up front and replaces the file once, atomically, at finish. `--out -` writes the
 * lines to a stream. Failures are listed in `<out>.errors.json` (on a stream: only in the error lines on stderr).
 */
import { writeFileAtomic } from '../../fs/atomic.js';
import type { ImageResult, RunError } from '../coco.js';
import { encodedJsonlLine, JsonlWriter } from '../jsonl.js';
import { RLE_SEGMENTATION, type SegmentationEncoder } from '../segmentation.js';
import { asError } from '../../base/errors.js';
import type { FinishReport, OutputSink } from '../sink.js';
import { StreamLineWriter, type LineSink } from '../stream-writer.js';
import { finishErrorList } from './error-list.js';

/** Where JSONL goes: a file (with its error list, if any), or a stream that stays open (stdout). */
export type JsonlTarget = { file: string; streamed: boolean; errorsFile?: string } | { stream: NodeJS.WritableStream; label: string };

/** The JSONL sink. */
export class JsonlSink implements OutputSink {
  readonly format = 'jsonl';
  readonly ordered = true;
  readonly atomic: boolean;
  readonly maskIdBase = 1;
  /** Where added lines go once begun; unset for a file written whole at finish. */
  private lines: LineSink | undefined;
  private readonly stream: StreamLineWriter | undefined;

  constructor(
    private readonly target: JsonlTarget,
    /** How each record's segmentation is written. */
    private readonly encoding: SegmentationEncoder = RLE_SEGMENTATION,
  ) {
    // The stream writer listens for the stream's errors from now on, so a reader that left early is noticed.
    this.stream = 'stream' in target ? new StreamLineWriter(target.stream, target.label) : undefined;
    this.atomic = 'file' in target && !target.streamed;
  }

  async restore(): Promise<void> {}

  async begin(restored: readonly ImageResult[]): Promise<void> {
    if (this.stream) {
      this.lines = this.stream;
      for (const r of restored) await this.stream.append(encodedJsonlLine(r, this.encoding));
    } else if ('file' in this.target && this.target.streamed) {
      await writeFileAtomic(this.target.file, restored.map((r) => encodedJsonlLine(r, this.encoding)));
      this.lines = await JsonlWriter.open(this.target.file, { append: true });
    }
  }

  async add(result: ImageResult): Promise<void> {
    await this.lines?.append(encodedJsonlLine(result, this.encoding));
  }

  async finish(results: readonly ImageResult[], errors: readonly RunError[]): Promise<FinishReport> {
    let outputError: Error | undefined;
    try {
      if (this.lines) await this.lines.close();
      else if ('file' in this.target) await writeFileAtomic(this.target.file, results.map((r) => encodedJsonlLine(r, this.encoding)));
    } catch (err) {
      outputError = asError(err);
    }
    const errorsFile = 'file' in this.target ? this.target.errorsFile : undefined;
    // On a stream the failures were each reported as they happened; there is no file beside stdout.
    const list = this.stream ? { errorsListed: 'the error lines above' } : await finishErrorList(errorsFile, errors);
    return { ...(outputError ? { outputError } : {}), ...list, notes: this.encoding.notes?.() ?? [] };
  }
}
