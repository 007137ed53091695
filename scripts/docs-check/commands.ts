/**
 * The docs' shell commands as the check runs them: which lines of which blocks run (see the directives in
 * markdown.ts), what exit code each must give, what each `sam-amg` command must leave behind, and running them in
 * a sandbox (sandbox.ts), one shell per line, in order.
 */
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CommandHelp } from './help.js';
import { samAmgArgs, samAmgStart, type ParsedDoc } from './markdown.js';
import { isHubModel, type Sandbox } from './sandbox.js';
import { errorMessage } from '../../src/base/errors.js';
import { readGeoJsonFolder, readYoloDataset } from '../../src/output/read-polygons.js';

const SHELL_LANGS = new Set(['bash', 'sh', 'shell']);

/** One line to run. */
export interface Step {
  file: string;
  line: number;
  /** What the shell runs (a line of the doc, or its part from `sam-amg` on, or a setup command). */
  run: string;
  kind: 'setup' | 'command';
  expectExit: number;
  /** The arguments of the `sam-amg` invocation, when the line is one. */
  samAmg?: string[];
}

/** A `sam-amg` command the check does not run, and why. */
export interface Skipped {
  file: string;
  line: number;
  text: string;
  reason: string;
}

export interface DocPlan {
  file: string;
  steps: Step[];
  skipped: Skipped[];
  /** Mistakes in the doc's directives or commands that are found without running anything. */
  problems: string[];
}

/** The command path of `sam-amg ARGS` (`[]`: the generator), or undefined for `help`. */
function commandPath(args: readonly string[], commands: readonly CommandHelp[]): string[] | undefined {
  const names = new Set(commands.map((c) => c.path.join(' ')));
  const p: string[] = [];
  for (const a of args) {
    if (!names.has([...p, a].join(' '))) break;
    p.push(a);
  }
  return args[p.length] === 'help' ? undefined : p;
}

/** The value of a flag in `args` (`--out x`, `--out=x`, `-o x`). */
export function flagValue(args: readonly string[], long: string, short?: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === long || (short !== undefined && args[i] === short)) return args[i + 1];
    if (args[i].startsWith(`${long}=`)) return args[i].slice(long.length + 1);
  }
  return undefined;
}

/** The hub model a `sam-amg` command uses (the default model when none is given), or undefined. */
function hubModelOf(args: readonly string[], commands: readonly CommandHelp[], cwd: string): string | undefined {
  const p = commandPath(args, commands);
  if (!p) return undefined;
  const rest = args.slice(p.length);
  if (p.join(' ') === 'models pull') return rest.find((a) => !a.startsWith('-'));
  if (p.join(' ') === 'models info') {
    const m = rest.find((a) => !a.startsWith('-'));
    return m !== undefined && isHubModel(m, cwd) ? m : undefined;
  }
  if (p.length > 0 || rest.some((a) => a === '--help' || a === '-h' || a === '--version' || a === '-V')) return undefined;
  const model = flagValue(rest, '--model', '-m');
  return isHubModel(model, cwd) ? (model ?? 'the default model') : undefined;
}

/** Which lines of `doc` run, in order, and which `sam-amg` commands are skipped. `cwd`: the template's work folder. */
export function planDoc(doc: ParsedDoc, commands: readonly CommandHelp[], cwd: string): DocPlan {
  const plan: DocPlan = { file: doc.file, steps: [], skipped: [], problems: [...doc.problems] };
  for (const b of doc.blocks) {
    const lines = b.lines.map((l) => ({ ...l, start: samAmgStart(l.text) }));
    const sam = lines.filter((l) => l.start >= 0);
    if (!SHELL_LANGS.has(b.lang)) {
      if (b.directives.length > 0) plan.problems.push(`${doc.file}:${b.line}: docs-check directives on a \`${b.lang || 'plain'}\` block, which is never run (use \`\`\`bash)`);
      continue;
    }
    const skip = b.directives.find((d) => d.kind === 'skip');
    if (skip && skip.kind === 'skip') {
      for (const l of sam) plan.skipped.push({ file: doc.file, line: l.line, text: l.text, reason: skip.reason });
      continue;
    }
    const exit = b.directives.find((d) => d.kind === 'exit');
    const expectExit = exit && exit.kind === 'exit' ? exit.code : 0;
    const only = b.directives.some((d) => d.kind === 'only-sam-amg');
    const all = b.directives.some((d) => d.kind === 'run-all');
    const standIn = b.directives.some((d) => d.kind === 'stand-in');
    for (const d of b.directives) if (d.kind === 'setup') plan.steps.push({ file: doc.file, line: b.line, run: d.command, kind: 'setup', expectExit: 0 });
    for (const l of lines) {
      if (l.start < 0) {
        if (all) plan.steps.push({ file: doc.file, line: l.line, run: l.text, kind: 'command', expectExit: 0 });
        continue;
      }
      const args = samAmgArgs(l.text, l.start);
      const hub = hubModelOf(args, commands, cwd);
      if (hub !== undefined && !standIn) {
        plan.problems.push(
          `${doc.file}:${l.line}: \`${l.text}\` uses the hub model ${hub}: put <!-- docs-check: stand-in (why) --> before its block (it then runs against a fixture model standing in for it), give it --model fixtures/models/…, or mark the block skip`,
        );
        continue;
      }
      const text = (only ? l.text.slice(l.start) : l.text).replace(/(^|[|;&]\s*)npx\s+sam-amg\b/gu, '$1sam-amg');
      plan.steps.push({ file: doc.file, line: l.line, run: text, kind: 'command', expectExit, samAmg: args });
    }
    if (sam.length === 0 && !all && b.directives.some((d) => d.kind !== 'setup')) {
      plan.problems.push(`${doc.file}:${b.line}: docs-check directives on a block with no sam-amg command`);
    }
  }
  return plan;
}

/** What one step did. */
export interface StepResult {
  step: Step;
  code: number | null;
  output: string;
  seconds: number;
  /** Why the step failed; undefined when it passed. */
  failure?: string;
}

const OUTPUT_TAIL = 2000;

/** Runs one shell line in the sandbox. */
function runShell(run: string, box: Sandbox, timeoutS: number): Promise<{ code: number | null; output: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', run], { cwd: box.cwd, env: box.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    const keep = (d: Buffer): void => {
      output = (output + d.toString('utf8')).slice(-OUTPUT_TAIL);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // The whole process group: the shell and whatever it started.
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, timeoutS * 1000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, timedOut });
    });
  });
}

/**
 * What a `sam-amg` command that exited 0 must have written (the main command and `segment`: the output in its
 * format, the report, the overlay folder; `merge`, `report`: theirs); a failure description, or undefined.
 */
export async function checkOutputs(args: readonly string[], commands: readonly CommandHelp[], cwd: string): Promise<string | undefined> {
  const p = commandPath(args, commands);
  if (!p) return undefined;
  const rest = args.slice(p.length);
  const at = (rel: string): string => path.resolve(cwd, rel);
  const cmd = p.join(' ');
  if (cmd === 'report') {
    const out = flagValue(rest, '--out');
    if (out && !existsSync(path.join(at(out), 'index.html'))) return `the report folder ${out} has no index.html`;
    return undefined;
  }
  if (cmd === 'merge') {
    const out = rest.find((a) => !a.startsWith('-'));
    if (out) return checkOutput(at(out), flagValue(rest, '--format') ?? 'coco', out);
    return undefined;
  }
  if (cmd !== '' && cmd !== 'segment') return undefined;
  const report = flagValue(rest, '--report');
  if (report && !existsSync(path.join(at(report), 'index.html'))) return `the report folder ${report} has no index.html`;
  const overlay = flagValue(rest, '--overlay');
  if (overlay && !(existsSync(at(overlay)) && statSync(at(overlay)).isDirectory())) return `the overlay folder ${overlay} was not made`;
  const out = flagValue(rest, '--out', '-o');
  if (!out || out === '-') return undefined;
  return checkOutput(at(out), flagValue(rest, '--format') ?? 'coco', out);
}

async function checkOutput(file: string, format: string, shown: string): Promise<string | undefined> {
  if (!existsSync(file)) return `${shown} was not written`;
  try {
    if (format === 'coco') {
      const doc = JSON.parse(await readFile(file, 'utf8')) as { images?: unknown; annotations?: unknown; info?: unknown };
      if (!Array.isArray(doc.images) || !Array.isArray(doc.annotations) || typeof doc.info !== 'object') return `${shown} is not a COCO document`;
    } else if (format === 'jsonl') {
      const text = await readFile(file, 'utf8');
      for (const line of text.split('\n').filter((l) => l !== '')) JSON.parse(line);
    } else if (format === 'yolo') {
      // The dataset Ultralytics trains on: data.yaml with class names, labels/, and every label file read by the
      // repository's reader (Ultralytics' checks, src/polygon/yolo-read.ts) with the sizes info.json gives.
      const yaml = path.join(file, 'data.yaml');
      if (!existsSync(yaml) || !/^names:\n {2}0: /mu.test(await readFile(yaml, 'utf8'))) return `${shown} has no data.yaml naming its classes`;
      if (!(existsSync(path.join(file, 'labels')) && statSync(path.join(file, 'labels')).isDirectory())) return `${shown} has no labels/ folder`;
      await readYoloDataset(file);
    } else if (format === 'geojson') {
      // A FeatureCollection per image, each read back as the readers read it (src/output/read-polygons.ts).
      if ((await readGeoJsonFolder(file)) === null) return `${shown} holds no .geojson file`;
    } else if (format === 'sa1b' || format === 'amg-png') {
      const want = format === 'sa1b' ? (n: string) => n.endsWith('.json') : (n: string) => n === 'metadata.csv';
      const names = (await readdir(file, { recursive: true })).map(String);
      if (!names.some((n) => want(path.basename(n)))) return `${shown} holds no ${format === 'sa1b' ? 'SA-1B file' : 'metadata.csv'}`;
    }
  } catch (err) {
    return `${shown} cannot be read: ${errorMessage(err)}`;
  }
  return undefined;
}

/** Runs a doc's steps in order in `box`; stops at the first failed setup (what follows would fail for its sake). */
export async function runPlan(plan: DocPlan, box: Sandbox, commands: readonly CommandHelp[], timeoutS: number): Promise<StepResult[]> {
  const results: StepResult[] = [];
  for (const step of plan.steps) {
    const t0 = performance.now();
    const r = await runShell(step.run, box, timeoutS);
    const result: StepResult = { step, code: r.code, output: r.output, seconds: (performance.now() - t0) / 1000 };
    if (r.timedOut) result.failure = `did not finish within ${timeoutS} s`;
    else if (r.code !== step.expectExit) result.failure = `exit code ${r.code}, expected ${step.expectExit}`;
    else if (step.samAmg && step.expectExit === 0) result.failure = await checkOutputs(step.samAmg, commands, box.cwd);
    if (result.failure && /not in the local cache|offline|HF_HUB_OFFLINE/u.test(r.output)) {
      result.failure += ' (a hub id the offline stand-in cache lacks: add it to STAND_INS in scripts/docs-check/sandbox.ts, or mark the block skip)';
    }
    results.push(result);
    if (result.failure && step.kind === 'setup') break;
  }
  return results;
}
