/** Strict number parsing for flags: anything but a plain number becomes NaN, which validation then names. */
export function parseNumber(value: string): number {
  const t = value.trim();
  return t === '' ? NaN : Number(t);
}
