/**
 * The runs of a crop's mask placed in an image (COCO RLE: column-major, runs alternate 0/1 starting with 0),
 * written column by column from each column's edges. The buffer grows on demand and is reused across candidates;
 * append() is the one place a run is added.
 */
export class RunWriter {
  /** The current column's mask pixels and first and last mask rows (−1 when none), set by column(). */
  colArea = 0;
  colFirst = -1;
  colLast = -1;
  private runs = new Uint32Array(4096);
  /** Closed runs: runs[0…n−1]; the open run has value `cur` and length `run`. */
  private n = 0;
  private cur = 0;
  private run = 0;
  private padTop = 0;
  private padBottom = 0;

  /**
   * Starts a mask whose crop columns have `padTop` zeros above and `padBottom` below them in the image, and
   * `before` zeros ahead of the first crop column (the image columns left of the crop).
   */
  begin(before: number, padTop: number, padBottom: number): void {
    this.n = 0;
    this.cur = 0;
    this.run = before;
    this.padTop = padTop;
    this.padBottom = padBottom;
  }

  /**
   * Appends one crop column of `height` rows whose mask value flips at edges[0…count−1] (increasing, starting from
   * 0), with its padding; sets colArea, colFirst and colLast.
   */
  column(edges: Int32Array, count: number, height: number): void {
    this.reserve(count + 3);
    this.append(0, this.padTop);
    let y = 0;
    let bit = 0;
    let area = 0;
    let first = -1;
    let last = -1;
    for (let i = 0; i <= count; i++) {
      const end = i < count ? edges[i] : height;
      if (end > y) {
        this.append(bit, end - y);
        if (bit === 1) {
          area += end - y;
          if (first < 0) first = y;
          last = end - 1;
        }
      }
      y = end;
      bit ^= 1;
    }
    this.append(0, this.padBottom);
    this.colArea = area;
    this.colFirst = first;
    this.colLast = last;
  }

  /** Appends `zeros` zeros and closes the open run: the mask's runs, copied out. */
  finish(zeros: number): Uint32Array {
    this.reserve(2);
    this.append(0, zeros);
    this.runs[this.n++] = this.run;
    return this.runs.slice(0, this.n);
  }

  /** Appends `len` pixels of value `bit` (nothing when len is 0). */
  private append(bit: number, len: number): void {
    if (len === 0) return;
    if (bit !== this.cur) {
      this.runs[this.n++] = this.run;
      this.run = 0;
      this.cur = bit;
    }
    this.run += len;
  }

  /** Room for `count` more closed runs. */
  private reserve(count: number): void {
    if (this.n + count <= this.runs.length) return;
    let size = this.runs.length * 2;
    while (size < this.n + count) size *= 2;
    const next = new Uint32Array(size);
    next.set(this.runs);
    this.runs = next;
  }
}
