/**
 * Overlay PNGs (`--overlay DIR`), one per image, beside whatever the output format writes. Not an output format:
 * an overlay needs the decoded pixels (which only exist while an image is processed, or by decoding it again), its
 * failures have their own stage ('overlay'), and it has no document to finish or error list to keep.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { RgbImage } from '../base/types.js';
import { decodeImage } from '../node/decode.js';
import { writeFileAtomic } from '../fs/atomic.js';
import type { ImageResult } from '../output/coco.js';
import { pathExists } from '../fs/exists.js';
import { overlayPng, type OverlayStyle } from '../output/overlay.js';
import { StageError } from './batch.js';
import type { InputItem } from './inputs.js';
import { errorMessage } from '../base/errors.js';

/** The overlay files of one run, at the paths its output plan gave them (src/run/output-plan.ts). */
export class OverlayFiles {
  constructor(
    readonly dir: string,
    /** Each image's PNG by input index; images without one (an unusable name) get none. */
    private readonly paths: ReadonlyMap<number, string>,
    private readonly style: OverlayStyle,
    /** The label of an image's first mask, so that labels match the output's own numbering. */
    private readonly firstId: 0 | 1,
  ) {}

  /** A restored image whose PNG is missing (deleted, or an earlier run without --overlay): decodes it and draws it. */
  async restore(index: number, item: InputItem, result: ImageResult, maxPixels: number): Promise<void> {
    const png = this.paths.get(index);
    if (png === undefined || (await pathExists(png))) return;
    await this.write(index, await decodeImage(item.path, { maxPixels }), result);
  }

  async begin(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true });
  }

  /** Draws the image at input position `index`; a failure is a StageError 'overlay'. */
  async write(index: number, image: RgbImage, result: ImageResult): Promise<void> {
    const png = this.paths.get(index);
    if (png === undefined) return;
    try {
      await fsp.mkdir(path.dirname(png), { recursive: true });
      await writeFileAtomic(png, await overlayPng(image, result.records, this.style, this.firstId));
    } catch (err) {
      throw new StageError('overlay', errorMessage(err), { cause: err });
    }
  }
}
