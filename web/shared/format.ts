/** Number formats of the page. */

/** A score such as predicted IoU: three decimals, "–" for none. */
export function score(x: number | null | undefined): string {
  return x === null || x === undefined ? '–' : x.toFixed(3);
}

/** A fraction as a whole percentage. */
export function percent(x: number | null | undefined): string {
  return x === null || x === undefined ? '–' : `${Math.round(x * 100)} %`;
}

/** Pixel coordinates: integers as they are, others with one decimal. */
export function coord(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}

/** An integer with thin-space thousands separators. */
export function count(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/gu, '\u2009');
}

/** "1 mask" / "3 masks". */
export function plural(n: number, word: string): string {
  return `${count(n)} ${word}${n === 1 ? '' : 's'}`;
}
