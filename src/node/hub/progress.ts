import { posix } from 'node:path';

/** Progress of one file download, reported as bytes arrive. */
export interface DownloadProgress {
  /** Model id, e.g. `Xenova/slimsam-77-uniform`. */
  id: string;
  /** Repository path of the file, e.g. `onnx/vision_encoder.onnx`. */
  file: string;
  /** Bytes of the file on disk so far (a resumed download starts above 0). */
  bytes: number;
  /** File size in bytes. */
  total: number;
  /** Average transfer rate of this attempt in bytes per second. */
  speed: number;
  /** True on the last report of a file, once it is verified and in the cache. */
  done: boolean;
}

const UNITS: ReadonlyArray<[string, number]> = [
  ['GB', 1e9],
  ['MB', 1e6],
  ['kB', 1e3],
];

/** Decimal units like the hub's own pages, so sizes match what users see there. */
function unitFor(n: number): [string, number] {
  return UNITS.find(([, size]) => n >= size) ?? ['B', 1];
}

function scaled(n: number, size: number): string {
  return size === 1 ? String(Math.round(n)) : (n / size).toFixed(1);
}

/** One status line, e.g. `vision_encoder.onnx  12.3/45.6 MB  3.4 MB/s`. */
export function formatProgress(p: DownloadProgress): string {
  const name = posix.basename(p.file);
  const [unit, size] = unitFor(p.total);
  const [speedUnit, speedSize] = unitFor(p.speed);
  const amount = `${scaled(p.bytes, size)}/${scaled(p.total, size)} ${unit}`;
  const rate = p.done ? 'done' : `${scaled(p.speed, speedSize)} ${speedUnit}/s`;
  return `${name}  ${amount}  ${rate}`;
}
