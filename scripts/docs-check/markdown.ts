/**
 * What the docs check reads from a Markdown file: headings (for the sections of docs/cli.md), fenced code blocks
 * with the `docs-check` directives written in HTML comments just before them, and inline code spans.
 */

export interface Heading {
  level: number;
  text: string;
  /** 1-based line number. */
  line: number;
}

/** A `<!-- docs-check: … -->` comment before a block. */
export type Directive =
  | { kind: 'skip'; reason: string }
  | { kind: 'only-sam-amg'; reason: string }
  | { kind: 'run-all' }
  | { kind: 'exit'; code: number }
  | { kind: 'setup'; command: string }
  | { kind: 'stand-in'; reason: string };

export interface CodeLine {
  /** The logical line (continuation lines joined). */
  text: string;
  /** 1-based line number of its first physical line. */
  line: number;
}

export interface CodeBlock {
  /** The fence's info string (`bash`, `sh`, `text`, …), lower case, '' when none. */
  lang: string;
  /** 1-based line number of the opening fence. */
  line: number;
  /** The block's logical lines, blank lines and whole-line comments left out. */
  lines: CodeLine[];
  directives: Directive[];
}

export interface InlineSpan {
  text: string;
  line: number;
}

export interface ParsedDoc {
  file: string;
  text: string;
  headings: Heading[];
  blocks: CodeBlock[];
  /** Inline code spans outside code blocks. */
  spans: InlineSpan[];
  /** Directive comments that are malformed or not followed by a block. */
  problems: string[];
}

const DIRECTIVE = /^<!--\s*docs-check:\s*(.*?)\s*-->$/u;

/** Parses one directive's text (after `docs-check:`); a string is a problem description. */
export function parseDirective(body: string): Directive | string {
  const withReason = (kind: 'skip' | 'only-sam-amg' | 'stand-in', rest: string): Directive | string => {
    const m = /^\((.+)\)$/u.exec(rest.trim());
    return m ? { kind, reason: m[1] } : `'docs-check: ${body}' needs a reason in parentheses, e.g. '${kind} (needs a GPU)'`;
  };
  let m: RegExpExecArray | null;
  if ((m = /^skip\b(.*)$/u.exec(body))) return withReason('skip', m[1]);
  if ((m = /^only sam-amg\b(.*)$/u.exec(body))) return withReason('only-sam-amg', m[1]);
  if ((m = /^stand-in\b(.*)$/u.exec(body))) return withReason('stand-in', m[1]);
  if (/^run all lines$/u.test(body)) return { kind: 'run-all' };
  if ((m = /^exit (\d+)$/u.exec(body))) return { kind: 'exit', code: Number(m[1]) };
  if ((m = /^setup:\s*(.+)$/u.exec(body))) return { kind: 'setup', command: m[1] };
  return `unknown directive 'docs-check: ${body}' (known: skip (why), only sam-amg (why), run all lines, exit N, setup: CMD, stand-in (why))`;
}

/** Splits a Markdown file into headings, code blocks (with their directives) and inline code spans. */
export function parseDoc(file: string, text: string): ParsedDoc {
  const rows = text.split('\n');
  const doc: ParsedDoc = { file, text, headings: [], blocks: [], spans: [], problems: [] };
  let pending: { directive: Directive; line: number }[] = [];
  for (let i = 0; i < rows.length; i++) {
    const raw = rows[i];
    const trimmed = raw.trim();
    const fence = /^(`{3,}|~{3,})\s*([\w-]*)/u.exec(trimmed);
    if (fence) {
      const close = fence[1];
      const block: CodeBlock = { lang: fence[2].toLowerCase(), line: i + 1, lines: [], directives: pending.map((p) => p.directive) };
      pending = [];
      let j = i + 1;
      let joined: CodeLine | undefined;
      for (; j < rows.length && !rows[j].trim().startsWith(close); j++) {
        const body = rows[j].trim();
        if (joined) {
          joined.text += ` ${body.replace(/\\$/u, '').trim()}`;
          if (!body.endsWith('\\')) {
            block.lines.push(joined);
            joined = undefined;
          }
          continue;
        }
        if (body === '' || body.startsWith('#')) continue;
        if (body.endsWith('\\')) joined = { text: body.replace(/\\$/u, '').trim(), line: j + 1 };
        else block.lines.push({ text: body, line: j + 1 });
      }
      if (joined) block.lines.push(joined);
      doc.blocks.push(block);
      i = j;
      continue;
    }
    const d = DIRECTIVE.exec(trimmed);
    if (d) {
      const parsed = parseDirective(d[1]);
      if (typeof parsed === 'string') doc.problems.push(`${file}:${i + 1}: ${parsed}`);
      else pending.push({ directive: parsed, line: i + 1 });
      continue;
    }
    if (pending.length > 0 && trimmed !== '') {
      doc.problems.push(`${file}:${pending[0].line}: a docs-check directive must come right before a code block`);
      pending = [];
    }
    const h = /^(#{1,6})\s+(.*)$/u.exec(raw);
    if (h) doc.headings.push({ level: h[1].length, text: h[2].trim(), line: i + 1 });
    for (const s of raw.matchAll(/(`+)([^`]+?)\1/gu)) doc.spans.push({ text: s[2].trim(), line: i + 1 });
  }
  for (const p of pending) doc.problems.push(`${file}:${p.line}: a docs-check directive must come right before a code block`);
  return doc;
}

/**
 * The lines of a Markdown text with those of fenced code blocks (fences included) blanked, so that line numbers
 * stay: what the prose checks (flags, links, headings) read.
 */
export function proseRows(text: string): string[] {
  let fence: string | undefined;
  return text.split('\n').map((row) => {
    const f = /^\s*(`{3,}|~{3,})/u.exec(row);
    if (fence) {
      if (f && f[1].startsWith(fence)) fence = undefined;
      return '';
    }
    if (f) {
      fence = f[1];
      return '';
    }
    return row;
  });
}

/** The text of the section under the first heading that satisfies `match` (to the next heading of its level or above). */
export function sectionOf(doc: ParsedDoc, match: (h: Heading) => boolean): { heading: Heading; text: string } | undefined {
  const at = doc.headings.findIndex(match);
  if (at < 0) return undefined;
  const heading = doc.headings[at];
  const next = doc.headings.slice(at + 1).find((h) => h.level <= heading.level);
  const rows = doc.text.split('\n');
  return { heading, text: rows.slice(heading.line - 1, next ? next.line - 1 : rows.length).join('\n') };
}

/** Shell words of a command (quotes removed; no expansion), stopping at the first pipe, redirection or list operator. */
export function shellWords(command: string): string[] {
  const words: string[] = [];
  let cur = '';
  let has = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < command.length; i++) {
    const c = command[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else cur += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      has = true;
      continue;
    }
    if (c === '|' || c === ';' || c === '&' || c === '>' || c === '<' || c === '#') {
      // `<(` process substitution and `2>&1` aside, an operator ends the command the check looks at.
      if (c === '<' && command[i + 1] === '(') {
        const end = command.indexOf(')', i);
        cur += command.slice(i, end < 0 ? undefined : end + 1);
        has = true;
        i = end < 0 ? command.length : end;
        continue;
      }
      if (c === '#' && has) {
        cur += c;
        continue;
      }
      break;
    }
    if (c === ' ' || c === '\t') {
      if (has) words.push(cur);
      cur = '';
      has = false;
      continue;
    }
    cur += c;
    has = true;
  }
  if (has) words.push(cur);
  return words;
}

/**
 * Where `sam-amg` is invoked as a command in a shell line: the index of its first word (an environment assignment
 * before it, `npx`, or `sam-amg` itself) at the start of the line or after `|`, `;` or `&&`; -1 when it is not.
 */
export function samAmgStart(line: string): number {
  const m = /(^|\|\s*|;\s*|&&\s*)((?:\w+=\S*\s+)*)(npx\s+)?sam-amg(?=\s|$)/u.exec(line);
  return m ? m.index + m[1].length : -1;
}

/** The arguments of the `sam-amg` invocation that starts at `start` (see samAmgStart), up to the first operator. */
export function samAmgArgs(line: string, start: number): string[] {
  const words = shellWords(line.slice(start));
  let i = 0;
  while (i < words.length && /^\w+=/u.test(words[i])) i++;
  if (words[i] === 'npx') i++;
  return words.slice(i + 1);
}
