/**
 * --no-optimise: the CLI runs the encoder and decoder graphs as exported; on the fixture model the optimised graphs give the
 * very same output file.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST, runCli, shapesPng } from './helpers/batch.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sam-amg-optimise-cli-'));
  await writeFile(path.join(tmp, 'a.png'), await shapesPng(320, 240, 1));
  await writeFile(path.join(tmp, 'b.png'), await shapesPng(200, 300, 2));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('--no-optimise', () => {
  it('writes the same COCO file as the optimised decoder, and neither run warns', async () => {
    // FAST turns the optimiser off (for the tests about files): here it stays on for the first run.
    const args = [path.join(tmp, 'a.png'), path.join(tmp, 'b.png'), ...FAST.filter((f) => f !== '--no-optimise'), '--points-per-side', '8', '--no-journal'];
    const on = await runCli([...args, '--out', path.join(tmp, 'on.json')]);
    const off = await runCli([...args, '--no-optimise', '--out', path.join(tmp, 'off.json')]);
    expect(on.code).toBe(0);
    expect(off.code).toBe(0);
    expect(on.stderr).not.toContain('warning');
    expect(off.stderr).not.toContain('warning');
    const a = await readFile(path.join(tmp, 'on.json'), 'utf8');
    const b = await readFile(path.join(tmp, 'off.json'), 'utf8');
    expect(JSON.parse(a).annotations.length).toBeGreaterThan(2);
    expect(a).toBe(b);
  });
});
