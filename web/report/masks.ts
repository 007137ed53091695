/** The report's masks as the rasteriser takes them: decoded from their COCO counts strings once per image. */
import { fromCoco, type Rle } from '../../src/rle/rle.js';
import type { ReportMask } from '../../src/report/data.js';

/** The masks of one side, decoded from their counts strings (throws on a malformed one). */
export function decodeMasks(masks: readonly ReportMask[], width: number, height: number): Rle[] {
  return masks.map((m) => fromCoco({ size: [height, width], counts: m.counts }));
}
