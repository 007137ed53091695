/**
 * The runs of a column-major binary mask (COCO RLE: runs alternate 0/1, starting with 0), written in order. The
 * buffer grows on demand and is reused across candidates; append() is the one place a run is added.
 */
export class RunWriter {
  /** Closed runs: runs[0…n−1]. */
  runs = new Uint32Array(4096);
  n = 0;
  /** The open run: its value and length. */
  cur = 0;
  run = 0;
  /** The current column's first and last mask rows, set by endColumn(). */
  colFirst = -1;
  colLast = -1;
  private colN = 0;
  private colOpen = 0;
  private colCur = 0;

  /** Starts a mask whose first `zeros` pixels are 0. */
  reset(zeros: number): void {
    this.n = 0;
    this.cur = 0;
    this.run = zeros;
  }

  /** Room for `count` more closed runs (call before a stretch of appends that can close up to that many). */
  reserve(count: number): void {
    if (this.n + count <= this.runs.length) return;
    let size = this.runs.length * 2;
    while (size < this.n + count) size *= 2;
    const next = new Uint32Array(size);
    next.set(this.runs);
    this.runs = next;
  }

  /** Appends `len` pixels of value `bit`; `len` > 0, or `bit` equal to the open run's (a no-op). */
  append(bit: number, len: number): void {
    if (bit !== this.cur) {
      this.runs[this.n++] = this.run;
      this.run = 0;
      this.cur = bit;
    }
    this.run += len;
  }

  /** Marks where a column of the mask begins (after any padding above it). */
  startColumn(): void {
    this.colN = this.n;
    this.colOpen = this.run;
    this.colCur = this.cur;
  }

  /**
   * Ends the column begun by startColumn(), `height` pixels after it: its number of mask pixels, and its first and
   * last mask rows in colFirst / colLast (−1 when none), read from the runs it closed and the open one.
   */
  endColumn(height: number): number {
    const { runs, n } = this;
    // The run open at the column's start began colOpen pixels before its row 0 (padding, or the previous column).
    let y = -this.colOpen;
    let bit = this.colCur;
    let first = -1;
    let last = -1;
    let area = 0;
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
    this.colFirst = first;
    this.colLast = last;
    return area;
  }

  /** Closes the open run: the mask's runs, copied out. */
  finish(): Uint32Array {
    this.reserve(1);
    this.runs[this.n++] = this.run;
    return this.runs.slice(0, this.n);
  }
}
