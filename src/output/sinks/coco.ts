/**
 * COCO: one document for the whole output, written by finish() — atomically to a file (a failure leaves the
 * previous file), or to a stream (`--out -`). Failures go into info.errors.
 */
import { writeFileAtomic } from '../../fs/atomic.js';
import { cocoChunks, cocoDocument, OBJECT_CATEGORY, type CocoCategory, type ImageResult, type RunError, type RunInfo } from '../coco.js';
import { asError } from '../../base/errors.js';
import type { FinishReport, OutputSink } from '../sink.js';
import { StreamLineWriter } from '../stream-writer.js';
import { RLE_SEGMENTATION, type SegmentationEncoder } from '../segmentation.js';

/** Where a COCO document goes: a file, or a stream that stays open (stdout). */
export type CocoTarget = { file: string } | { stream: NodeJS.WritableStream };

/** The COCO sink. */
export class CocoSink implements OutputSink {
  readonly format = 'coco';
  readonly ordered = false;
  readonly atomic: boolean;
  readonly maskIdBase = 1;
  private readonly out: { file: string } | { writer: StreamLineWriter };

  constructor(
    target: CocoTarget,
    /** The info block without errors (finish adds them). */
    private readonly info: Omit<RunInfo, 'errors'>,
    /** How messages name the output (`info.errors of <label>`). */
    private readonly label: string,
    /** How each record's segmentation is written. */
    private readonly encoding: SegmentationEncoder = RLE_SEGMENTATION,
    /** The document's categories: the one automatic-mask category, or a box-prompted run's detection file's. */
    private readonly categories: readonly CocoCategory[] = [OBJECT_CATEGORY],
  ) {
    // The stream writer listens for the stream's errors from now on, so a reader that left early is noticed.
    this.out = 'stream' in target ? { writer: new StreamLineWriter(target.stream, label) } : { file: target.file };
    this.atomic = 'file' in this.out;
  }

  async restore(): Promise<void> {}

  async begin(): Promise<void> {}

  async add(): Promise<void> {}

  async finish(results: readonly ImageResult[], errors: readonly RunError[]): Promise<FinishReport> {
    try {
      const chunks = cocoChunks(cocoDocument(results, { ...this.info, errors: [...errors] }, { encoding: this.encoding, categories: this.categories }));
      if ('writer' in this.out) {
        await this.out.writer.writeAll(chunks);
        await this.out.writer.close();
      } else {
        await writeFileAtomic(this.out.file, chunks);
      }
      return { errorsListed: `info.errors of ${this.label}`, notes: this.encoding.notes?.() ?? [] };
    } catch (err) {
      return { outputError: asError(err) };
    }
  }
}
