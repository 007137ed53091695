/**
 * The runs of a crop's mask placed in an image (COCO RLE: column-major, runs alternate 0/1 starting with 0),
 * written column by column. The writer adds the padding around each crop column and reads each column's area and
 * extent back from its runs; the column pass between startColumn() and endColumn() continues the open run in place
 * (ColumnPass.column), keeping the run state in locals while it works. The buffer grows on demand and is reused
 * across candidates.
 */
export class RunWriter {
  /** Closed runs runs[0…n−1]; the open run has value `cur` and length `run`. */
  runs = new Uint32Array(4096);
  n = 0;
  cur = 0;
  run = 0;
  /** The last column's mask pixels and first and last mask rows (−1 when none), set by endColumn(). */
  colArea = 0;
  colFirst = -1;
  colLast = -1;
  private padTop = 0;
  private padBottom = 0;
  /** Where the current column began: runs closed then, and the open run's length and value. */
  private colN = 0;
  private colOpen = 0;
  private colCur = 0;

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

  /** Pads above a crop column of `height` rows and makes room for every run it can close (one per row at most). */
  startColumn(height: number): void {
    this.reserve(height + 3);
    this.append(0, this.padTop);
    this.colN = this.n;
    this.colOpen = this.run;
    this.colCur = this.cur;
  }

  /**
   * Ends the crop column begun by startColumn(), `height` rows after it: sets colArea, colFirst and colLast from the
   * runs it closed and the open one, and pads below it.
   */
  endColumn(height: number): void {
    const { runs, n } = this;
    // The run open at the column's start began colOpen pixels before its row 0 (padding, or the previous column).
    let y = -this.colOpen;
    let bit = this.colCur;
    let area = 0;
    let first = -1;
    let last = -1;
    for (let i = this.colN; i <= n; i++) {
      const end = i < n ? y + runs[i] : height;
      if (bit === 1) {
        const s = y > 0 ? y : 0;
        if (end > s) {
          area += end - s;
          if (first < 0) first = s;
          last = end - 1;
        }
      }
      y = end;
      bit ^= 1;
    }
    this.colArea = area;
    this.colFirst = first;
    this.colLast = last;
    this.append(0, this.padBottom);
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
