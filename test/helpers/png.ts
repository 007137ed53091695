/** A hand-assembled 8-bit RGB PNG, for tests that need exact bytes (or a deliberately short IDAT) rather than sharp's. */
import { crc32, deflateSync } from 'node:zlib';

/**
 * The PNG of a w×h 8-bit RGB image whose IDAT is `scanlines` deflated: each row a filter byte then 3·w bytes. Fewer
 * bytes than the header promises give a file whose size is known and whose pixels are not.
 */
export function rgbPng(w: number, h: number, scanlines: Buffer): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(scanlines)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
