/**
 * Numbers written the way Python's `str()` writes them, for files that must match what a Python script writes
 * byte for byte (the reference `scripts/amg.py` builds its metadata.csv with `str(x)`).
 *
 * `str(float)` is `repr(float)`: the shortest decimal that reads back to the same double (the same digits as
 * JavaScript's `Number.prototype.toString`, which also picks the shortest round-trip form), laid out by CPython's
 * `format_float_short` rules:
 *   - with decimal point position `decpt` (value = 0.d1d2…dn × 10^decpt), scientific notation when
 *     `decpt <= -4 || decpt > 16`, e.g. `1e-05`, `2.5e-07`, `1e+16`, `1.2345678901234568e+17`;
 *   - the exponent has a sign and at least two digits;
 *   - plain notation always shows a fractional part: `28.0`, `0.0001`, `1234567890123456.0`;
 *   - `-0.0` keeps its sign.
 * JavaScript differs in both thresholds (it switches at 1e-7 and 1e21), in exponent form (`1e-7`) and in never
 * writing `.0`, hence this module.
 */

/** Python's `repr(x)` / `str(x)` of a finite float; throws for NaN and infinities (Python would write `nan`/`inf`). */
export function pythonFloatRepr(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`pythonFloatRepr: ${x} is not finite`);
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  // toExponential() without a fraction-digit count gives the shortest round-trip digits: "d.ddde±k".
  const m = /^(\d)(?:\.(\d+))?e([+-]\d+)$/u.exec(Math.abs(x).toExponential());
  if (m === null) throw new Error(`pythonFloatRepr: unexpected form ${Math.abs(x).toExponential()}`);
  const digits = m[1] + (m[2] ?? '');
  const exp10 = Number(m[3]);
  const decpt = exp10 + 1;
  if (decpt <= -4 || decpt > 16) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp10);
    return `${sign}${mantissa}e${exp10 < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
  }
  if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  if (decpt >= digits.length) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}.0`;
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

/** Python's `str(n)` of an int; throws when `n` is not an integer (the caller's field would not be an int in Python). */
export function pythonIntStr(n: number, what = 'value'): string {
  if (!Number.isSafeInteger(n)) throw new RangeError(`${what} is ${n}; expected an integer`);
  return Object.is(n, -0) ? '0' : String(n);
}
