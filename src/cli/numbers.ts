/**
 * Numeric flags: strict parsing (anything but a plain number is a usage error that repeats what was typed) and
 * the bounds of the flags that only the command line has. The generator's own options carry their bounds in
 * src/amg/options.ts.
 */
import { InvalidArgumentError } from 'commander';
import { boundText, MAX_IMAGE_PIXELS, withinBound, type OptionBound } from '../amg/options.js';
import { UsageError } from './usage.js';

/** Commander argument parser for numbers: commander reports a throw as `option '--x <n>' argument 'abc' is invalid`. */
export function parseNumber(value: string): number {
  const t = value.trim();
  const n = t === '' ? NaN : Number(t);
  if (Number.isNaN(n)) throw new InvalidArgumentError('Expected a number.');
  return n;
}

/**
 * Bounds of the command line's own numeric flags (README, "Options"): threads and images in flight stay within
 * what one machine can hold (32 images of 100 MP are about 10 GB of pixels), and no image is larger than the
 * generator is sized for.
 */
export const CLI_BOUNDS = {
  threads: { min: 1, max: 256, integer: true },
  concurrency: { min: 1, max: 32, integer: true },
  maxPixels: { min: 1, max: MAX_IMAGE_PIXELS, integer: true },
  /** `report --page-size`: thumbnails per index page. */
  pageSize: { min: 1, max: 10_000, integer: true },
  /**
   * `--polygon-tolerance`, pixels: 2 px already costs a mean IoU of about 0.92 on the measured photos
   * (docs/polygons.md); 16 px is left for coarse outlines of very large images, and anything above is a typo.
   */
  polygonTolerance: { min: 0, max: 16 },
} as const satisfies Record<string, OptionBound>;

/** Throws a UsageError naming `flag` and its bound unless `value` is undefined or within `bound`. */
export function checkBound(flag: string, value: number | undefined, bound: OptionBound): void {
  if (value === undefined || withinBound(value, bound)) return;
  throw new UsageError(`${flag} must be ${bound.integer ? 'an integer' : 'a number'} in ${boundText(bound)}, got ${value}`);
}
