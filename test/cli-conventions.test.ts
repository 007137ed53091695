/**
 * Conventions a new user and a CI expect: usage errors exit 2 in every command with one `sam-amg: …` line,
 * `sam-amg help [command]` and a bare `sam-amg` print usage, a mistyped number is repeated back; `npm ci` and
 * `npx sam-amg` print no npm warning; no test blocks its worker's event loop.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, REPO } from './helpers/scale.js';

describe('13. usage errors and help', () => {
  it('usage errors exit 2 in every command, with lines that start with sam-amg:', async () => {
    const cases: [string[], RegExp][] = [
      [['compare', 'a.json', 'b.json', '--min-iuo', '0.9'], /^sam-amg: unknown option '--min-iuo'/u],
      [['merge', 'out.json', 'a.json', '--fromat', 'jsonl'], /^sam-amg: unknown option '--fromat'/u],
      [['merge', 'out.json', 'a.json', '--format', 'xml'], /^sam-amg: option '--format <name>' argument 'xml' is invalid/u],
      [['models', 'pull'], /^sam-amg: missing required argument 'id'/u],
      [['models', 'frobnicate'], /^sam-amg: unknown command 'frobnicate'/u],
      [['compare', 'only-one.json'], /^sam-amg: missing required argument 'actual'/u],
      [['photos', '--out', 'x.json', '--no-such-flag'], /^sam-amg: unknown option '--no-such-flag'/u],
      [['photos', '--out', 'x.json', '--points-per-side', 'abc'], /^sam-amg: option '--points-per-side <n>' argument 'abc' is invalid\. Expected a number\.$/mu],
      [['compare', 'a.json', 'b.json', '--min-iou', 'high'], /^sam-amg: option '--min-iou <x>' argument 'high' is invalid/u],
    ];
    for (const [args, re] of cases) {
      const r = await cli(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(re);
      // Every line is ours: the error, then where to find the usage.
      for (const line of r.stderr.trimEnd().split('\n')) expect(line).toMatch(/^(sam-amg: |\(run 'sam-amg help)/u);
    }
    const hint = await cli(['merge', 'out.json', 'a.json', '--fromat', 'jsonl']);
    expect(hint.stderr).toContain("(run 'sam-amg help merge' for usage)");
  });

  it('sam-amg help [command] prints usage (exit 0); a bare sam-amg prints usage (exit 2)', async () => {
    const help = await cli(['help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: sam-amg [options] [command] [inputs...]');
    expect(help.stdout).toContain('help [command]');
    const compare = await cli(['help', 'compare']);
    expect(compare.code).toBe(0);
    expect(compare.stdout).toContain('Usage: sam-amg compare [options] <expected> <actual>');
    expect(compare.stdout).toContain('--min-recall <x>');
    const models = await cli(['models', 'help', 'pull']);
    expect(models.code).toBe(0);
    expect(models.stdout).toContain('Usage: sam-amg models pull [options] <id>');
    const bare = await cli([]);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe('');
    expect(bare.stderr).toContain('Usage: sam-amg [options] [command] [inputs...]');
    expect(bare.stderr).toContain('Examples:');
  });
});

describe('14. no npm warning on install or run', () => {
  it('every dependency install script is covered by allowScripts, onnxruntime-node denied; no .npmrc keys npm does not know', async () => {
    const pkg = JSON.parse(await fsp.readFile(path.join(REPO, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
    const lock = JSON.parse(await fsp.readFile(path.join(REPO, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { hasInstallScript?: boolean }>;
    };
    // By name: allowScripts covers every copy of a package (onnxruntime-web has its own protobufjs).
    const withScripts = [
      ...new Set(
        Object.entries(lock.packages)
          .filter(([key, p]) => key !== '' && p.hasInstallScript)
          .map(([key]) => key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length)),
      ),
    ].sort();
    expect(withScripts.length).toBeGreaterThan(0);
    // npm ≥ 11 warns "install scripts not yet covered by allowScripts" for every one missing here.
    expect(Object.keys(pkg.allowScripts ?? {}).sort()).toEqual(withScripts);
    // The CUDA download of onnxruntime-node's postinstall never runs on `npm ci` (offline-safe); the others are
    // not needed either (esbuild's binary comes as an optional dependency, protobufjs's script only makes a folder).
    expect(pkg.allowScripts).toMatchObject({ 'onnxruntime-node': false });
    expect(Object.values(pkg.allowScripts ?? {}).every((v) => v === false)).toBe(true);
    // npm 11 warns about unknown keys in the project .npmrc on every command, `npx sam-amg` included.
    const npmrc = await fsp.readFile(path.join(REPO, '.npmrc'), 'utf8').catch(() => '');
    expect(npmrc).not.toMatch(/onnxruntime-node-install/u);
  });
});

describe('15. the suite stays robust on a loaded machine', () => {
  it("no test blocks its worker's event loop on a child process (vitest's worker RPC times out after 60 s)", async () => {
    const offenders: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.name.endsWith('.ts')) {
          const text = await fsp.readFile(p, 'utf8');
          if (/\b(spawnSync|execSync|execFileSync)\s*\(/u.test(text)) offenders.push(path.relative(REPO, p));
        }
      }
    };
    await walk(path.join(REPO, 'test'));
    expect(offenders).toEqual([]);
  });

  it('child processes run the built CLI (bin/sam-amg.js), not the sources through tsx (a second of compiling each)', async () => {
    const offenders: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.name.endsWith('.ts') && /['"]--import['"]|tsx\/dist\/loader/u.test(await fsp.readFile(p, 'utf8'))) offenders.push(path.relative(REPO, p));
      }
    };
    await walk(path.join(REPO, 'test'));
    expect(offenders).toEqual([]);
  });
});
