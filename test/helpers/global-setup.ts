/**
 * Global setup of the unit project (vitest.config.ts): the tests that start the CLI as a child process run the
 * built one, bin/sam-amg.js over dist/. `npm test` compiles dist/ just before; a single file run with
 * `npx vitest run test/x.test.ts` after editing src/ would test the old build, so dist/ is compiled here when a
 * source is newer than the last build (tsc -b: only what changed). The check reads file times only.
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Written by every build of tsconfig.build.json that changes anything (its tsBuildInfoFile). */
const BUILD_INFO = path.join(ROOT, 'dist/tsconfig.build.tsbuildinfo');

async function mtime(file: string): Promise<number> {
  try {
    return (await fsp.stat(file)).mtimeMs;
  } catch {
    return -1;
  }
}

/** The newest modification time of the build's inputs: src/ and the two configs it reads. */
async function newestInput(): Promise<number> {
  let newest = Math.max(await mtime(path.join(ROOT, 'tsconfig.json')), await mtime(path.join(ROOT, 'tsconfig.build.json')));
  for (const entry of await fsp.readdir(path.join(ROOT, 'src'), { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) newest = Math.max(newest, await mtime(path.join(entry.parentPath, entry.name)));
  }
  return newest;
}

export default async function setup(): Promise<void> {
  // The build info, not the outputs: tsc -b rewrites only the outputs that change.
  const built = (await mtime(path.join(ROOT, 'dist/cli/main.js'))) < 0 ? -1 : await mtime(BUILD_INFO);
  if (built >= 0 && built >= (await newestInput())) return;
  process.stderr.write('test/helpers/global-setup: dist/ is missing or older than src/; compiling it (tsc -b tsconfig.build.json)\n');
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [tsc, '-b', 'tsconfig.build.json'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`tsc -b tsconfig.build.json exited with ${code}: the tests that run bin/sam-amg.js need dist/`);
}
