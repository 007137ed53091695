/**
 * Flags in the docs against the CLI's help:
 * - docs/cli.md documents every flag of every command in that command's section (the section whose heading names
 *   it in backticks, e.g. "## `sam-amg compare`"), in its text or tables — a use in an example block does not count;
 *   `-h, --help` and `-V, --version` once anywhere; every value a flag's help lists as its choices, as a code span;
 * - docs/cli.md (outside code blocks) and README.md (in code spans that start with a flag) name no flag that no
 *   command has;
 * - every `sam-amg …` command written in any doc (code-block lines and inline code spans) uses only flags of the
 *   command it runs (blocks that are meant to fail, `exit 2`, aside).
 * Each problem says which flag, which command and which file (and line) it is about.
 */
import { commandName, type CommandHelp } from './help.js';
import { proseRows, samAmgArgs, samAmgStart, sectionOf, type ParsedDoc } from './markdown.js';

/** Flags every command has; documented once, in the conventions. */
const EVERYWHERE = new Set(['-h', '--help']);
const ROOT_ONLY_CONVENTIONS = new Set(['-V', '--version']);

/** `--flag` and single-letter `-f` tokens of a text, with their line numbers; quoted ones (`'--fromat'`) left out. */
export function flagTokens(text: string): { token: string; line: number }[] {
  const out: { token: string; line: number }[] = [];
  text.split('\n').forEach((row, i) => {
    for (const m of row.matchAll(/(?<![\w'-])(--[A-Za-z0-9][\w-]*|-[A-Za-z](?![\w-]))/gu)) out.push({ token: m[1], line: i + 1 });
  });
  return out;
}

/** The text with the lines of fenced code blocks blanked (line numbers kept). */
const withoutCodeBlocks = (text: string): string => proseRows(text).join('\n');

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&');

/** Problems of docs/cli.md against the help (see the file comment). */
export function checkCliDoc(commands: readonly CommandHelp[], cli: ParsedDoc): string[] {
  const problems: string[] = [];
  const all = new Set<string>();
  for (const c of commands) for (const f of c.flags) (all.add(f.long), f.short && all.add(f.short));
  const docTokens = new Set(flagTokens(withoutCodeBlocks(cli.text)).map((t) => t.token));
  for (const c of commands) {
    const name = commandName(c.path);
    const section = sectionOf(cli, (h) => new RegExp(`\`${escape(name)}\``, 'u').test(h.text));
    const own = c.flags.filter((f) => !EVERYWHERE.has(f.long) && !(c.path.length === 0 && ROOT_ONLY_CONVENTIONS.has(f.long)));
    if (!section) {
      if (own.length > 0) {
        problems.push(
          `${cli.file}: no section for \`${name}\` (a heading that names it in backticks, e.g. "## \`${name}\`"), so its flags ${own.map((f) => f.long).join(', ')} are not documented`,
        );
      }
      continue;
    }
    // Described, not only used in an example: mentions in code blocks do not count.
    const tokens = new Set(flagTokens(withoutCodeBlocks(section.text)).map((t) => t.token));
    const where = `its section (${cli.file}:${section.heading.line}, "${section.heading.text}")`;
    const described = withoutCodeBlocks(section.text);
    for (const f of own) {
      if (!tokens.has(f.long)) problems.push(`${cli.file}: the flag ${f.long} of \`${name}\` is missing from ${where}`);
      else if (f.short && !tokens.has(f.short)) problems.push(`${cli.file}: the short flag ${f.short} (${f.long}) of \`${name}\` is missing from ${where}`);
      for (const v of f.choices ?? []) {
        if (!described.includes(`\`${v}\``)) problems.push(`${cli.file}: ${f.long} of \`${name}\` accepts "${v}", which ${where} does not mention (as \`${v}\`)`);
      }
    }
    for (const f of c.flags.filter((x) => EVERYWHERE.has(x.long) || (c.path.length === 0 && ROOT_ONLY_CONVENTIONS.has(x.long)))) {
      for (const t of [f.long, f.short]) if (t && !docTokens.has(t)) problems.push(`${cli.file}: the flag ${t} of \`${name}\` is not mentioned anywhere`);
    }
  }
  // Outside code blocks: inside them, other programs' flags appear (`| wc -l`), and sam-amg's are checked per command.
  for (const t of flagTokens(withoutCodeBlocks(cli.text))) {
    if (!all.has(t.token)) problems.push(`${cli.file}:${t.line}: names the flag ${t.token}, which no command's help has (sam-amg --help, sam-amg help <command>)`);
  }
  return [...new Set(problems)];
}

/** Problems of README.md's flag spans: a code span that starts with a flag names a flag some command has. */
export function checkFlagSpans(commands: readonly CommandHelp[], doc: ParsedDoc): string[] {
  const all = new Set<string>();
  for (const c of commands) for (const f of c.flags) (all.add(f.long), f.short && all.add(f.short));
  const problems: string[] = [];
  for (const s of doc.spans) {
    if (!/^--?[A-Za-z]/u.test(s.text)) continue;
    for (const t of flagTokens(s.text)) {
      if (!all.has(t.token)) problems.push(`${doc.file}:${s.line}: \`${s.text}\` names the flag ${t.token}, which no command's help has`);
    }
  }
  return problems;
}

/** Problems of the `sam-amg …` commands written in a doc: flags their command does not have. */
export function checkCommandFlags(commands: readonly CommandHelp[], doc: ParsedDoc): string[] {
  const byName = new Map(commands.map((c) => [c.path.join(' '), c]));
  const problems: string[] = [];
  const check = (text: string, line: number): void => {
    const start = samAmgStart(text);
    if (start < 0) return;
    const args = samAmgArgs(text, start);
    const path: string[] = [];
    for (const a of args) {
      if (!byName.has([...path, a].join(' '))) break;
      path.push(a);
    }
    if (args[path.length] === 'help') return;
    const cmd = byName.get(path.join(' '));
    if (!cmd) return;
    const known = new Set(cmd.flags.flatMap((f) => (f.short ? [f.long, f.short] : [f.long])));
    for (const a of args.slice(path.length)) {
      const m = /^(--?[A-Za-z][\w-]*)/u.exec(a);
      if (!m || known.has(m[1])) continue;
      problems.push(`${doc.file}:${line}: \`${text.length > 100 ? `${text.slice(0, 97)}...` : text}\` uses ${m[1]}, which \`${commandName(cmd.path)}\` does not have`);
    }
  };
  for (const b of doc.blocks) {
    if (b.directives.some((d) => d.kind === 'exit' && d.code === 2)) continue;
    for (const l of b.lines) check(l.text, l.line);
  }
  for (const s of doc.spans) check(s.text, s.line);
  return problems;
}
