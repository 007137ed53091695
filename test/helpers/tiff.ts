/** Hand-made little-endian TIFF headers, for TIFFs the image libraries will not write (CMYK, tiles with the directory first). */

/** TIFF field types. */
export const SHORT = 3;
export const LONG = 4;

/** One directory entry: tag, field type, count, and the value (or the offset of the values). */
export type IfdEntry = [tag: number, type: number, count: number, value: number];

/** Where the first directory starts: right after the 8-byte header. */
export const IFD_OFFSET = 8;

/** The first byte after a directory of `n` entries at IFD_OFFSET (its 4-byte next-directory offset included). */
export function afterIfd(n: number): number {
  return IFD_OFFSET + 2 + n * 12 + 4;
}

/**
 * Writes the header (`II`, 42, first directory at IFD_OFFSET) and the directory of `entries` into `buf`, which must
 * be zero there (no next directory). A SHORT with count 1 is stored in the value field itself; any other value is
 * written as a LONG (a value or an offset).
 */
export function writeTiffHead(buf: Buffer, entries: readonly IfdEntry[]): void {
  buf.write('II', 0, 'latin1');
  buf.writeUInt16LE(42, 2);
  buf.writeUInt32LE(IFD_OFFSET, 4);
  buf.writeUInt16LE(entries.length, IFD_OFFSET);
  entries.forEach(([tag, type, count, value], i) => {
    const o = IFD_OFFSET + 2 + i * 12;
    buf.writeUInt16LE(tag, o);
    buf.writeUInt16LE(type, o + 2);
    buf.writeUInt32LE(count, o + 4);
    if (type === SHORT && count === 1) buf.writeUInt16LE(value, o + 8);
    else buf.writeUInt32LE(value, o + 8);
  });
}
