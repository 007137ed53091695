/**
 * `npm run docs:check`: the docs cannot drift from the CLI.
 *
 * 1. Flags: docs/cli.md documents exactly the flags of the CLI's help, each in its command's section; README.md's flag
 *    spans and every `sam-amg …` command in README.md and docs/*.md use only flags their command has (flags.ts;
 *    test/docs-flags.test.ts runs the same part inside `npm test`).
 * 2. Links: every relative link of README.md, docs/*.md, CHANGELOG.md and src/model/optimise/README.md names a file
 *    that exists, and an anchor that one of its headings makes (links.ts).
 * 3. Commands: every offline `sam-amg …` line of the `bash` blocks of README.md and docs/*.md runs in a sandbox with
 *    the fixture models and the shared photos scaled down (sandbox.ts), and must give the expected exit code and
 *    outputs (commands.ts). Blocks marked `<!-- docs-check: skip (why) -->` are counted and listed, not run.
 *
 * Usage: tsx scripts/docs-check.ts [--flags-only] [--jobs N] [--timeout S] [--keep] [--verbose] [FILE.md ...]
 * (--keep leaves the sandboxes for a look; --verbose lists every line run with its exit code and time.)
 * Needs dist/ (npm run build): the commands run bin/sam-amg.js. Exit code 0 when everything holds, 1 otherwise.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { planDoc, runPlan, type DocPlan, type StepResult } from './docs-check/commands.js';
import { checkCliDoc, checkCommandFlags, checkFlagSpans } from './docs-check/flags.js';
import { checkLinks } from './docs-check/links.js';
import { collectHelp, type CommandHelp } from './docs-check/help.js';
import { parseDoc, type ParsedDoc } from './docs-check/markdown.js';
import { freshSandbox, makeTemplate } from './docs-check/sandbox.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** README.md and docs/*.md, as the repository holds them (paths relative to the repository). */
export async function docFiles(repo = REPO): Promise<string[]> {
  const docs = (await readdir(path.join(repo, 'docs'))).filter((f) => f.endsWith('.md')).sort();
  return ['README.md', ...docs.map((f) => `docs/${f}`)];
}

/** Every flag problem of the docs (empty when the docs and the help agree). */
export async function flagProblems(commands: readonly CommandHelp[], docs: readonly ParsedDoc[]): Promise<string[]> {
  const problems: string[] = [];
  const cli = docs.find((d) => d.file === 'docs/cli.md');
  if (!cli) problems.push('docs/cli.md is missing: it must document every flag of the CLI');
  else problems.push(...checkCliDoc(commands, cli));
  const readme = docs.find((d) => d.file === 'README.md');
  if (readme) problems.push(...checkFlagSpans(commands, readme));
  for (const d of docs) problems.push(...checkCommandFlags(commands, d));
  return problems;
}

function fmt(s: number): string {
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
}

async function main(argv: string[]): Promise<number> {
  const t0 = performance.now();
  let flagsOnly = false;
  let keep = false;
  let verbose = false;
  let jobs = Math.max(1, Math.min(2, os.availableParallelism()));
  let timeout = 600;
  const only: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--flags-only') flagsOnly = true;
    else if (a === '--keep') keep = true;
    else if (a === '--verbose') verbose = true;
    else if (a === '--jobs') jobs = Math.max(1, Number(argv[++i]));
    else if (a === '--timeout') timeout = Number(argv[++i]);
    else only.push(path.relative(REPO, path.resolve(a)));
  }
  const files = only.length > 0 ? only : await docFiles();
  const docs: ParsedDoc[] = [];
  for (const f of await docFiles()) docs.push(parseDoc(f, await readFile(path.join(REPO, f), 'utf8')));

  const commands = await collectHelp();
  const flagIssues = await flagProblems(commands, docs);
  const flagCount = commands.reduce((n, c) => n + c.flags.length, 0);
  if (flagIssues.length > 0) {
    console.log(`docs-check: flags: ${flagIssues.length} problem${flagIssues.length === 1 ? '' : 's'}:`);
    for (const p of flagIssues) console.log(`  ${p}`);
  } else {
    console.log(`docs-check: flags: docs/cli.md documents the ${flagCount} flags of ${commands.length} commands, and the docs use no other`);
  }
  if (flagsOnly) return flagIssues.length > 0 ? 1 : 0;

  const linkIssues: string[] = [];
  for (const f of [...(await docFiles()), 'CHANGELOG.md', 'src/model/optimise/README.md']) {
    if (existsSync(path.join(REPO, f))) linkIssues.push(...(await checkLinks(REPO, f, await readFile(path.join(REPO, f), 'utf8'))));
  }
  for (const p of linkIssues) console.log(`docs-check: ${p}`);
  if (linkIssues.length === 0) console.log('docs-check: links: every relative link and anchor resolves');

  if (!existsSync(path.join(REPO, 'dist', 'cli', 'main.js'))) {
    console.log('docs-check: dist/ is missing: run npm run build first (the commands run bin/sam-amg.js)');
    return 1;
  }
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'sam-amg-docs-check-'));
  const template = path.join(tmp, 'template');
  await makeTemplate(template, REPO, path.resolve(REPO, '../shared/images'));
  const plans: DocPlan[] = docs.filter((d) => files.includes(d.file)).map((d) => planDoc(d, commands, path.join(template, 'work')));
  const results = new Map<string, StepResult[]>();
  const queue = plans.filter((p) => p.steps.length > 0);
  const worker = async (): Promise<void> => {
    for (let plan = queue.shift(); plan; plan = queue.shift()) {
      const box = await freshSandbox(template, path.join(tmp, plan.file.replace(/[/.]/gu, '_')));
      const t = performance.now();
      const r = await runPlan(plan, box, commands, timeout);
      results.set(plan.file, r);
      const failed = r.filter((x) => x.failure).length;
      console.log(
        `docs-check: ${plan.file}: ${r.length} of ${plan.steps.length} lines run, ${failed === 0 ? 'all ok' : `${failed} failed`}` +
          `${plan.skipped.length > 0 ? `, ${plan.skipped.length} skipped` : ''} (${fmt((performance.now() - t) / 1000)})`,
      );
      if (verbose) for (const x of r) console.log(`  ${fmt(x.seconds).padStart(8)}  exit ${x.code}  ${x.step.file}:${x.step.line}  ${x.step.run}`);
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));

  const problems = plans.flatMap((p) => p.problems);
  const failures = [...results.values()].flat().filter((r) => r.failure);
  const ran = [...results.values()].flat();
  const skipped = plans.flatMap((p) => p.skipped);
  for (const p of problems) console.log(`docs-check: ${p}`);
  for (const f of failures) {
    console.log(`docs-check: FAILED ${f.step.file}:${f.step.line}${f.step.kind === 'setup' ? ' (setup)' : ''}: ${f.step.run}\n  ${f.failure}`);
    for (const line of f.output.trimEnd().split('\n').slice(-12)) console.log(`  | ${line}`);
  }
  if (skipped.length > 0) {
    console.log(`docs-check: ${skipped.length} sam-amg command${skipped.length === 1 ? '' : 's'} skipped (not runnable offline):`);
    for (const s of skipped) console.log(`  ${s.file}:${s.line}: ${s.text.length > 90 ? `${s.text.slice(0, 87)}...` : s.text}  — ${s.reason}`);
  }
  const slowest = [...ran].sort((a, b) => b.seconds - a.seconds).slice(0, 3);
  if (slowest.length > 0) {
    console.log('docs-check: slowest lines (keep doc commands cheap: small grids such as --points-per-side 8):');
    for (const r of slowest) console.log(`  ${fmt(r.seconds).padStart(9)}  ${r.step.file}:${r.step.line}  ${r.step.run.length > 90 ? `${r.step.run.slice(0, 87)}...` : r.step.run}`);
  }
  const samAmg = ran.filter((r) => r.step.samAmg).length;
  const ok = failures.length === 0 && problems.length === 0 && flagIssues.length === 0 && linkIssues.length === 0;
  console.log(
    `docs-check: ${ok ? 'PASS' : 'FAIL'} — ${samAmg} sam-amg commands and ${ran.length - samAmg} other lines run from ${results.size} files` +
      `, ${failures.length} failed, ${skipped.length} skipped; ${flagIssues.length + linkIssues.length + problems.length} other problems (${fmt((performance.now() - t0) / 1000)})`,
  );
  if (keep) console.log(`docs-check: sandboxes kept in ${tmp}`);
  else await rm(tmp, { recursive: true, force: true });
  return ok ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(`docs-check: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exitCode = 1;
    },
  );
}
