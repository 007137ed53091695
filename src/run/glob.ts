/**
 * Glob patterns for input arguments: `*`, `?`, `[...]` (with `!`/`^` negation and ranges), `**` as a whole
 * segment for any depth, and `\` to escape the next character. Node 20 has no `fs.promises.glob`, and the
 * project takes no new dependency for this; the directory walk lives in walk.ts, this module only parses
 * and matches names.
 */

/** One segment of a compiled pattern: `**`, or a matcher for a single name. */
export type GlobSegment =
  | { kind: 'globstar' }
  | { kind: 'name'; regex: RegExp; matchesHidden: boolean };

/** A pattern split into its static base folder and the segments matched below it. */
export interface CompiledGlob {
  /** The leading segments without magic, unescaped and joined with '/'; '' when the pattern starts magic. */
  base: string;
  /** True when the pattern starts with '/'. */
  absolute: boolean;
  segments: GlobSegment[];
}

/** True when `s` holds an unescaped `*`, `?`, or a `[` with a closing `]`. */
export function hasGlobMagic(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') {
      i++;
    } else if (c === '*' || c === '?') {
      return true;
    } else if (c === '[' && classEnd(s, i) > 0) {
      return true;
    }
  }
  return false;
}

/** Splits and compiles `pattern` (POSIX separators). */
export function compileGlob(pattern: string): CompiledGlob {
  const absolute = pattern.startsWith('/');
  const parts = pattern.split('/').filter((p) => p !== '' && p !== '.');
  const baseParts: string[] = [];
  let i = 0;
  while (i < parts.length - 1 && !hasGlobMagic(parts[i])) {
    baseParts.push(unescapeGlob(parts[i]));
    i++;
  }
  const segments: GlobSegment[] = [];
  for (const part of parts.slice(i)) {
    if (part === '**') {
      // `**/**` means the same as `**` and would only make the walk visit folders twice.
      if (segments.at(-1)?.kind !== 'globstar') segments.push({ kind: 'globstar' });
    } else {
      segments.push({ kind: 'name', regex: segmentRegex(part), matchesHidden: part.startsWith('.') });
    }
  }
  // A trailing `**` selects every file below, as `**/*` does.
  if (segments.at(-1)?.kind === 'globstar') {
    segments.push({ kind: 'name', regex: /^.*$/su, matchesHidden: false });
  }
  return { base: baseParts.join('/'), absolute, segments };
}

/** Whether `name` (one path segment) matches a name segment; hidden names need a pattern that starts with '.'. */
export function matchName(segment: Extract<GlobSegment, { kind: 'name' }>, name: string): boolean {
  if (name.startsWith('.') && !segment.matchesHidden) return false;
  return segment.regex.test(name);
}

/** Index of the `]` closing the class opened at `open`, or -1 when there is none (then `[` is literal). */
function classEnd(s: string, open: number): number {
  let j = open + 1;
  if (s[j] === '!' || s[j] === '^') j++;
  // A `]` right after the opening (or the negation) belongs to the class.
  if (s[j] === ']') j++;
  for (; j < s.length; j++) {
    if (s[j] === '\\') j++;
    else if (s[j] === ']') return j;
  }
  return -1;
}

const REGEX_SYNTAX = /[\\^$.*+?()[\]{}|/]/u;

function escapeChar(c: string, inClass: boolean): string {
  if (REGEX_SYNTAX.test(c) || (inClass && c === '-')) return `\\${c}`;
  return c;
}

function segmentRegex(part: string): RegExp {
  let out = '';
  const chars = Array.from(part);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c === '\\' && i + 1 < chars.length) {
      out += escapeChar(chars[++i], false);
    } else if (c === '*') {
      out += '[^/]*';
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[' && classEnd(chars.join(''), codeUnitIndex(chars, i)) > 0) {
      const [cls, next] = classRegex(chars, i);
      out += cls;
      i = next;
    } else {
      out += escapeChar(c, false);
    }
  }
  return new RegExp(`^${out}$`, 'su');
}

/** Compiles the class opened at chars[open]; returns the regex text and the index of its closing `]`. */
function classRegex(chars: string[], open: number): [string, number] {
  let i = open + 1;
  let out = '[';
  if (chars[i] === '!' || chars[i] === '^') {
    out += '^';
    i++;
  }
  let first = true;
  for (; i < chars.length; i++) {
    const c = chars[i];
    if (c === ']' && !first) break;
    first = false;
    if (c === '\\' && i + 1 < chars.length) {
      out += escapeChar(chars[++i], true);
    } else if (c === '-' && out !== '[' && out !== '[^' && chars[i + 1] !== ']') {
      out += '-';
    } else {
      out += escapeChar(c, true);
    }
  }
  return [`${out}]`, i];
}

function codeUnitIndex(chars: string[], i: number): number {
  let n = 0;
  for (let k = 0; k < i; k++) n += chars[k].length;
  return n;
}

/** Removes glob escapes from a segment without magic. */
export function unescapeGlob(part: string): string {
  return part.replace(/\\(.)/gsu, '$1');
}
