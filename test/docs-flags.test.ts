/**
 * The flag part of the docs check (scripts/docs-check.ts), inside `npm test`: docs/cli.md documents exactly the flags
 * of the CLI's help, each in its command's section, and no `sam-amg …` command in README.md or docs/ uses a flag its
 * command lacks. The rest (running the docs' commands) is `npm run docs:check`, after `npm test` in CI. Also checks
 * that the checker fails where it should, naming the flag, the command and the file, and how it reads directives.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { docFiles, flagProblems } from '../scripts/docs-check.js';
import { planDoc } from '../scripts/docs-check/commands.js';
import { collectHelp, parseHelp, type CommandHelp } from '../scripts/docs-check/help.js';
import { parseDoc, samAmgArgs, samAmgStart, shellWords, type ParsedDoc } from '../scripts/docs-check/markdown.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

let commands: CommandHelp[];
let docs: ParsedDoc[];
beforeAll(async () => {
  commands = await collectHelp();
  docs = [];
  for (const f of await docFiles(REPO)) docs.push(parseDoc(f, await readFile(path.join(REPO, f), 'utf8')));
});

const cliDoc = (): ParsedDoc => docs.find((d) => d.file === 'docs/cli.md') as ParsedDoc;

describe('the docs and the help agree', () => {
  it('docs/cli.md documents every flag of every command in its section, and the docs use no other', async () => {
    // The walk finds every command of the help: the generator, compare, merge, report and the models group.
    expect(commands.map((c) => c.path.join(' '))).toEqual(['', 'segment', 'models', 'models list', 'models pull', 'models info', 'compare', 'merge', 'report']);
    expect(commands[0].flags).toContainEqual({ long: '--out', short: '-o' });
    expect(commands[0].flags).toContainEqual({ long: '--no-optimise' });
    expect(commands[0].flags).toContainEqual({ long: '--format', choices: ['coco', 'sa1b', 'jsonl', 'amg-png', 'yolo', 'geojson'] });
    expect(await flagProblems(commands, docs)).toEqual([]);
  });
});

describe('the check fails where it should', () => {
  it('a flag the help has and docs/cli.md lacks: the flag, the command and the section are named', async () => {
    const withTiles: CommandHelp[] = commands.map((c) => (c.path.length === 0 ? { ...c, flags: [...c.flags, { long: '--tiles' }] } : c));
    const problems = await flagProblems(withTiles, docs);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^docs\/cli\.md: the flag --tiles of `sam-amg` is missing from its section \(docs\/cli\.md:\d+, "`sam-amg` \(the mask generator\)"\)$/u);
  });

  it('a new value of a flag with choices (a format) that docs/cli.md does not mention', async () => {
    const withFormat: CommandHelp[] = commands.map((c) =>
      c.path.length === 0 ? { ...c, flags: c.flags.map((f) => (f.long === '--format' ? { ...f, choices: [...(f.choices ?? []), 'coco-polygons'] } : f)) } : c,
    );
    const problems = await flagProblems(withFormat, docs);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^docs\/cli\.md: --format of `sam-amg` accepts "coco-polygons", which its section \(docs\/cli\.md:\d+, .*\) does not mention \(as `coco-polygons`\)$/u);
  });

  it('a row removed from a command section, a short form missing, a flag that no command has, a command without a section', async () => {
    const cli = cliDoc();
    const text = cli.text
      .split('\n')
      .filter((l) => !l.startsWith('| `--score-tol <x>`'))
      .map((l) => (l.startsWith('| `-q, --quiet` | – | | errors only |') ? '| `--quiet` | – | | errors only |' : l))
      .join('\n')
      .replace('## `sam-amg report`', '## The report command')
      .concat('\n| `--frobnicate` | – | | a flag no command has |\n');
    const edited = docs.map((d) => (d === cli ? parseDoc(cli.file, text) : d));
    const problems = await flagProblems(commands, edited);
    expect(problems).toContainEqual(expect.stringMatching(/^docs\/cli\.md: the flag --score-tol of `sam-amg compare` is missing from its section \(docs\/cli\.md:\d+, "`sam-amg compare`"\)$/u));
    expect(problems).toContainEqual(expect.stringMatching(/^docs\/cli\.md: the short flag -q \(--quiet\) of `sam-amg` is missing from its section/u));
    expect(problems).toContainEqual(expect.stringMatching(/^docs\/cli\.md: no section for `sam-amg report` .*so its flags --out, --images, --min-iou, --page-size, --max-pixels, --quiet are not documented$/u));
    expect(problems).toContainEqual(expect.stringMatching(/^docs\/cli\.md:\d+: names the flag --frobnicate, which no command's help has/u));
    expect(problems).toHaveLength(4);
  });

  it('a command in any doc that uses a flag its command does not have; README flag spans', async () => {
    const doc = parseDoc(
      'docs/extra.md',
      [
        '```bash',
        'sam-amg images --model fixtures/models/sam1-tiny --out m.json',
        'sam-amg compare a.json b.json --min-iuo 0.9 | head -1',
        'find . -name x | sam-amg --files-from - --out m.json --tiles 4',
        '```',
        'Inline: `sam-amg merge all.json shard-*.json --force`, `sam-amg report a.json --page-sise 5`.',
        '<!-- docs-check: exit 2 -->',
        '```bash',
        'sam-amg images --fromat coco --out m.json',
        '```',
      ].join('\n'),
    );
    const readme = parseDoc('README.md', '| `--resume`, `--shard <K/N>` | x |\n| `--frobnicate` | y |\n');
    const problems = await flagProblems(commands, [...docs.filter((d) => d.file !== 'README.md'), doc, readme]);
    expect(problems).toEqual([
      "README.md:2: `--frobnicate` names the flag --frobnicate, which no command's help has",
      'docs/extra.md:3: `sam-amg compare a.json b.json --min-iuo 0.9 | head -1` uses --min-iuo, which `sam-amg compare` does not have',
      'docs/extra.md:4: `find . -name x | sam-amg --files-from - --out m.json --tiles 4` uses --tiles, which `sam-amg` does not have',
      'docs/extra.md:6: `sam-amg report a.json --page-sise 5` uses --page-sise, which `sam-amg report` does not have',
    ]);
  });
});

describe('reading the docs', () => {
  it('help text: flags with their short forms, subcommands without help', () => {
    const help = parseHelp(
      'Usage: x\n\nOptions:\n  -o, --out <file>   out\n  --no-journal       wrapped\n                     --not-a-flag continuation\n  --format <name>    format (choices: "coco",\n                     "sa1b", default: "coco")\n  -h, --help         help\n\nCommands:\n  list               things\n  help [command]     help\n',
    );
    expect(help).toEqual({
      flags: [{ long: '--out', short: '-o' }, { long: '--no-journal' }, { long: '--format', choices: ['coco', 'sa1b'] }, { long: '--help', short: '-h' }],
      commands: ['list'],
    });
  });

  it('shell lines: where sam-amg starts, its words up to the first operator', () => {
    expect(samAmgStart('npm ci && npx sam-amg ../shared/images --out m.json')).toBe(10);
    expect(samAmgStart('JOB_COMPLETION_INDEX=1 sam-amg images')).toBe(0);
    expect(samAmgStart('find images | sam-amg --files-from -')).toBe(14);
    expect(samAmgStart('cp /opt/sam-amg/x .')).toBe(-1);
    expect(samAmgArgs('JOB_COMPLETION_INDEX=1 npx sam-amg images --out "a b.json" | wc -l', 0)).toEqual(['images', '--out', 'a b.json']);
    expect(shellWords("sam-amg 'images/**/*.jpg' --out x.json # comment")).toEqual(['sam-amg', 'images/**/*.jpg', '--out', 'x.json']);
    expect(shellWords('sam-amg --files-from <(find photos -name x) --out -')).toEqual(['sam-amg', '--files-from', '<(find photos -name x)', '--out', '-']);
  });

  it('directives: skip, exit, setup, stand-in and only sam-amg decide what runs; mistakes are reported', () => {
    const doc = parseDoc(
      'docs/x.md',
      [
        '<!-- docs-check: skip (needs a GPU) -->',
        '```bash',
        'sam-amg images --device cuda --out m.json',
        '```',
        '<!-- docs-check: setup: printf x > list.txt -->',
        '<!-- docs-check: exit 1 -->',
        '```bash',
        'sam-amg images missing.jpg --model fixtures/models/sam1-tiny \\',
        '  --out m.json',
        'cmp a b',
        '```',
        '<!-- docs-check: only sam-amg (npm ci is CI\'s) -->',
        '```bash',
        'npm ci && npx sam-amg images --model fixtures/models/sam1-tiny --out m.json',
        '```',
        '```bash',
        'sam-amg images --out m.json',
        '```',
        '<!-- docs-check: stand-in (offline cache) -->',
        '```bash',
        'sam-amg models pull Xenova/sam-vit-base',
        '```',
        '<!-- docs-check: frobnicate -->',
        '```bash',
        'sam-amg --help',
        '```',
        '<!-- docs-check: skip -->',
        '```bash',
        '```',
        '<!-- docs-check: exit 2 -->',
        'text in between',
      ].join('\n'),
    );
    const plan = planDoc(doc, commands, REPO);
    expect(plan.skipped).toEqual([{ file: 'docs/x.md', line: 3, text: 'sam-amg images --device cuda --out m.json', reason: 'needs a GPU' }]);
    expect(plan.steps.map((s) => [s.line, s.kind, s.expectExit, s.run])).toEqual([
      [7, 'setup', 0, 'printf x > list.txt'],
      [8, 'command', 1, 'sam-amg images missing.jpg --model fixtures/models/sam1-tiny --out m.json'],
      [14, 'command', 0, 'sam-amg images --model fixtures/models/sam1-tiny --out m.json'],
      [21, 'command', 0, 'sam-amg models pull Xenova/sam-vit-base'],
      [25, 'command', 0, 'sam-amg --help'],
    ]);
    expect(plan.problems).toEqual([
      "docs/x.md:23: unknown directive 'docs-check: frobnicate' (known: skip (why), only sam-amg (why), run all lines, exit N, setup: CMD, stand-in (why))",
      "docs/x.md:27: 'docs-check: skip' needs a reason in parentheses, e.g. 'skip (needs a GPU)'",
      'docs/x.md:30: a docs-check directive must come right before a code block',
      'docs/x.md:17: `sam-amg images --out m.json` uses the hub model the default model: put <!-- docs-check: stand-in (why) --> before its block (it then runs against a fixture model standing in for it), give it --model fixtures/models/…, or mark the block skip',
    ]);
  });
});
