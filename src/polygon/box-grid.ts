/**
 * A uniform grid of boxes for the simplifier's and the nesting's neighbour queries, so that checks between rings or
 * segments cost about their number instead of its square.
 */
export class BoxGrid {
  private readonly cells = new Map<number, number[]>();
  private readonly cols: number;
  private readonly x0: number;
  private readonly y0: number;
  private readonly cell: number;

  /**
   * @param bounds [minX, minY, maxX, maxY] of everything that will be inserted or queried
   * @param items how many boxes will be inserted; sets the cell size to about one box per cell
   */
  constructor(bounds: readonly [number, number, number, number], items: number) {
    const [minX, minY, maxX, maxY] = bounds;
    const area = (maxX - minX + 1) * (maxY - minY + 1);
    this.cell = Math.max(1, Math.ceil(Math.sqrt(area / Math.max(1, items))));
    this.x0 = minX;
    this.y0 = minY;
    this.cols = Math.floor((maxX - minX) / this.cell) + 1;
  }

  private col(x: number): number {
    return Math.floor((x - this.x0) / this.cell);
  }

  private row(y: number): number {
    return Math.floor((y - this.y0) / this.cell);
  }

  /** Adds box `id` (closed [x0, x1] × [y0, y1]) to every cell it overlaps. */
  insert(id: number, x0: number, y0: number, x1: number, y1: number): void {
    for (let r = this.row(y0), r1 = this.row(y1); r <= r1; r++) {
      for (let c = this.col(x0), c1 = this.col(x1); c <= c1; c++) {
        const key = r * this.cols + c;
        const list = this.cells.get(key);
        if (list === undefined) this.cells.set(key, [id]);
        else list.push(id);
      }
    }
  }

  /** Calls `visit` for the ids in the cells the box overlaps (an id may come more than once). */
  query(x0: number, y0: number, x1: number, y1: number, visit: (id: number) => void): void {
    for (let r = this.row(y0), r1 = this.row(y1); r <= r1; r++) {
      for (let c = this.col(x0), c1 = this.col(x1); c <= c1; c++) {
        const list = this.cells.get(r * this.cols + c);
        if (list !== undefined) for (const id of list) visit(id);
      }
    }
  }
}
