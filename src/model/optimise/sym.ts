/**
 * Dimensions and small integer values that may depend on the prompt count P of a decoder call: each is a monomial
 * c · P^k (k = 0 for a plain number). Shape arithmetic in SAM exports (products of dims, divisions by the number of
 * heads) stays within monomials; anything else is "unknown" (undefined) and the optimiser leaves that part alone.
 */

/** c · P^k. */
export interface Sym {
  readonly c: number;
  readonly k: number;
}

export const num = (c: number): Sym => ({ c, k: 0 });
export const P: Sym = { c: 1, k: 1 };

export const isNum = (s: Sym): boolean => s.k === 0;
export const hasP = (s: Sym): boolean => s.k !== 0 && s.c !== 0;

export function eq(a: Sym, b: Sym): boolean {
  return a.c === b.c && (a.k === b.k || a.c === 0);
}

export function mul(a: Sym, b: Sym): Sym {
  return { c: a.c * b.c, k: a.c * b.c === 0 ? 0 : a.k + b.k };
}

export function add(a: Sym, b: Sym): Sym | undefined {
  if (a.c === 0) return b;
  if (b.c === 0) return a;
  return a.k === b.k ? { c: a.c + b.c, k: a.k } : undefined;
}

export function neg(a: Sym): Sym {
  return { c: -a.c, k: a.k };
}

/** Integer division as ONNX Div on int64 (truncation), exact for monomials in P only when nothing is lost. */
export function div(a: Sym, b: Sym): Sym | undefined {
  if (b.c === 0) return undefined;
  if (a.k === 0 && b.k === 0) return num(Math.trunc(a.c / b.c));
  if (a.k < b.k || a.c % b.c !== 0) return undefined;
  return { c: a.c / b.c, k: a.k - b.k };
}

/** The product of dims, or undefined for an empty list of unknowns. */
export function product(dims: readonly Sym[]): Sym {
  return dims.reduce(mul, num(1));
}
