/**
 * A set of "done" marks over 0…size−1 that is emptied in constant time: a mark counts when it holds the current
 * epoch, and clear() moves to the next one. The array is zeroed only when the 8-bit epoch wraps, once every 255
 * clears, so a large set (the masker's frame tiles: up to 256 K of them) costs nothing per candidate.
 */
export class Marks {
  private readonly at: Uint8Array;
  private epoch = 1;

  constructor(size: number) {
    this.at = new Uint8Array(size);
  }

  has(i: number): boolean {
    return this.at[i] === this.epoch;
  }

  set(i: number): void {
    this.at[i] = this.epoch;
  }

  /** Unmarks everything. */
  clear(): void {
    if (this.epoch === 255) {
      this.at.fill(0);
      this.epoch = 1;
    } else {
      this.epoch++;
    }
  }
}
