/**
 * Reads YOLO segmentation label lines back into pixel polygons (for compare, merge and report), with the checks
 * Ultralytics' label reader makes: class, then an even number of at least 6 coordinates in [0, 1] (Ultralytics
 * allows 1% slack either side, and so do we).
 */

/** One label line: class and polygon in pixel-edge coordinates (flat x, y pairs). */
export interface YoloSegment {
  classId: number;
  polygon: number[];
}

/** A malformed label line; `line` is 1-based. */
export class YoloLabelError extends Error {
  constructor(
    readonly line: number,
    reason: string,
  ) {
    super(`line ${line}: ${reason}`);
    this.name = 'YoloLabelError';
  }
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parses a label file's text for an image of `w` × `h` pixels; blank lines are skipped.
 * @throws YoloLabelError naming the first bad line
 */
export function parseYoloSegments(text: string, w: number, h: number): YoloSegment[] {
  const out: YoloSegment[] = [];
  text.split(/\r\n|\n|\r/).forEach((raw, k) => {
    const tokens = raw.trim().split(/\s+/).filter((t) => t.length > 0);
    if (tokens.length === 0) return;
    const line = k + 1;
    for (const t of tokens) if (!NUMBER.test(t)) throw new YoloLabelError(line, `${JSON.stringify(t)} is not a number`);
    const classId = Number(tokens[0]);
    if (!Number.isInteger(classId) || classId < 0) throw new YoloLabelError(line, `class ${tokens[0]} is not an integer ≥ 0`);
    const coords = tokens.slice(1).map(Number);
    if (coords.length % 2 !== 0) throw new YoloLabelError(line, `${coords.length} coordinates, expected x, y pairs`);
    if (coords.length < 6) throw new YoloLabelError(line, `${coords.length / 2} points, a segment needs at least 3`);
    const polygon = coords.map((v, i) => {
      if (v < -0.01 || v > 1.01) throw new YoloLabelError(line, `coordinate ${v} is outside [0, 1]`);
      return v * (i % 2 === 0 ? w : h);
    });
    out.push({ classId, polygon });
  });
  return out;
}
