/**
 * How counts and durations read in every message (CLI progress, `compare` and `report`): pure wording, no I/O, so
 * any layer can use it.
 */

/** `1 image`, `2 images`, `12,000 masks`. */
export function plural(n: number, noun: string): string {
  return `${count(n)} ${n === 1 ? noun : `${noun}s`}`;
}

/** A count with thousands separators: `9,996`. */
export function count(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString('en-US') : String(n);
}

/**
 * The one duration format of every message: `340 ms`, `4.25 s`, `12.3 s`, `3 min 07 s`, `2 h 05 min`; `?` when
 * unknown.
 */
export function fmtDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 10) return `${seconds.toFixed(2)} s`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const total = Math.round(seconds);
  const m = Math.floor(total / 60);
  if (m < 60) return `${m} min ${String(total % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}
