/**
 * Test helper: reads a YOLO label file the way Ultralytics' `verify_image_label` (ultralytics/data/utils.py) does
 * for a segmentation dataset, so label lines we write can be checked against what training would load. Follows it
 * step by step: whitespace-split lines; if any line has more than 6 fields every line is a segment (class, then
 * x y pairs, float32); boxes from the segments' extremes (segments2boxes); coordinates must lie in [-0.01, 1.01];
 * class below the class count; rows equal as (class, box) are duplicates, and np.unique keeps one of each in sorted
 * order. Throws an Error with Ultralytics' wording where it would mark the label corrupt.
 */
export interface UltralyticsLabel {
  cls: number;
  /** Normalised centre x, centre y, width, height (float32). */
  box: [number, number, number, number];
  /** Normalised x, y pairs (float32). */
  segment: number[];
}

export interface UltralyticsLabels {
  labels: UltralyticsLabel[];
  /** How many rows the duplicate check removed (Ultralytics warns "N duplicate labels removed"). */
  duplicatesRemoved: number;
}

const f32 = Math.fround;

/** Python's float() of a token, then float32. */
function toFloat32(token: string): number {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|infinity|nan)$/i.test(token)) {
    throw new Error(`could not convert string to float: '${token}'`);
  }
  return f32(Number(token.replace(/^([+-]?)inf(inity)?$/i, '$1Infinity')));
}

export function readUltralyticsSegmentLabels(text: string, numClasses: number): UltralyticsLabels {
  const rows = text
    .trim()
    .split(/\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/)
    .filter((l) => l.length > 0)
    .map((l) => l.split(/\s+/).filter((t) => t.length > 0));
  if (rows.length === 0) return { labels: [], duplicatesRemoved: 0 };
  if (!rows.some((r) => r.length > 6)) throw new Error('not a segmentation label file (no line has more than 6 fields)');
  let labels: UltralyticsLabel[] = rows.map((r) => {
    if (r.length === 0) throw new Error('list index out of range');
    const cls = toFloat32(r[0]);
    const coords = r.slice(1).map(toFloat32);
    if (coords.length % 2 !== 0) throw new Error(`cannot reshape array of size ${coords.length} into shape (2)`);
    let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
    for (let i = 0; i < coords.length; i += 2) {
      x0 = Math.min(x0, coords[i]);
      x1 = Math.max(x1, coords[i]);
      y0 = Math.min(y0, coords[i + 1]);
      y1 = Math.max(y1, coords[i + 1]);
    }
    const box: [number, number, number, number] = [f32(f32(x0 + x1) / 2), f32(f32(y0 + y1) / 2), f32(x1 - x0), f32(y1 - y0)];
    return { cls, box, segment: coords };
  });
  const points = labels.flatMap((l) => l.box);
  const bad = points.filter((v) => v > 1.01);
  if (bad.length > 0) throw new Error(`non-normalized or out of bounds coordinates ${JSON.stringify(bad)}`);
  const all = labels.flatMap((l) => [l.cls, ...l.box]);
  const neg = all.filter((v) => v < -0.01);
  if (neg.length > 0) throw new Error(`negative class labels or coordinate ${JSON.stringify(neg)}`);
  const maxCls = Math.max(...labels.map((l) => l.cls));
  if (maxCls >= numClasses) {
    throw new Error(`Label class ${Math.trunc(maxCls)} exceeds dataset class count ${numClasses}. Possible class labels are 0-${numClasses - 1}`);
  }
  // np.unique(lb, axis=0, return_index=True): unique (class, box) rows in sorted order, first index of each.
  const key = (l: UltralyticsLabel): number[] => [l.cls, ...l.box];
  const order = labels.map((_, i) => i).sort((a, b) => {
    const ka = key(labels[a]);
    const kb = key(labels[b]);
    for (let k = 0; k < ka.length; k++) if (ka[k] !== kb[k]) return ka[k] - kb[k];
    return a - b;
  });
  const kept = order.filter((i, k) => k === 0 || key(labels[order[k - 1]]).some((v, j) => v !== key(labels[i])[j]));
  const duplicatesRemoved = labels.length - kept.length;
  if (duplicatesRemoved > 0) labels = kept.map((i) => labels[i]);
  return { labels, duplicatesRemoved };
}
