/**
 * What the docs check (scripts/docs-check/commands.ts) requires of the polygon formats a doc command writes: a YOLO
 * dataset has a data.yaml naming its classes, a labels/ folder, and label files that the repository's
 * Ultralytics-style reader takes; a GeoJSON folder holds FeatureCollections that read back. `sam-amg segment` is
 * checked like the main command. Each check is shown failing on a broken output.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkOutputs } from '../scripts/docs-check/commands.js';
import { collectHelp, type CommandHelp } from '../scripts/docs-check/help.js';
import { MODEL, runCli, writeShapeImages } from './helpers/batch.js';

let tmp: string;
let commands: CommandHelp[];
beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sam-amg-docs-outputs-'));
  commands = await collectHelp();
  await writeShapeImages(path.join(tmp, 'photos'), 1);
});
afterAll(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

const RUN = ['photos', '--model', MODEL, '--points-per-side', '4'];

describe('docs check: polygon outputs', () => {
  it('a YOLO dataset: data.yaml with names, labels/, label files Ultralytics reads', async () => {
    const args = [...RUN, '--format', 'yolo', '--out', 'ds'];
    expect((await runCli([...args.map((a) => (a === 'photos' || a === 'ds' ? path.join(tmp, a) : a)), '--quiet'])).code).toBe(0);
    expect(await checkOutputs(args, commands, tmp)).toBeUndefined();
    const label = path.join(tmp, 'ds/labels/img-00.txt');
    const good = await fsp.readFile(label, 'utf8');
    expect(good.length).toBeGreaterThan(0);
    await fsp.writeFile(label, `${good}0 0.1 0.2 0.3 0.4\n`);
    expect(await checkOutputs(args, commands, tmp)).toMatch(/^ds cannot be read: .*img-00\.txt:\d+: 2 points, a segment needs at least 3$/u);
    await fsp.writeFile(label, good);
    const yaml = path.join(tmp, 'ds/data.yaml');
    const text = await fsp.readFile(yaml, 'utf8');
    await fsp.writeFile(yaml, text.replace(/names:\n.*\n/u, ''));
    expect(await checkOutputs(args, commands, tmp)).toBe('ds has no data.yaml naming its classes');
    await fsp.writeFile(yaml, text);
    await fsp.rm(path.join(tmp, 'ds/labels'), { recursive: true });
    expect(await checkOutputs(args, commands, tmp)).toBe('ds has no labels/ folder');
  });

  it('a GeoJSON folder: FeatureCollections that read back', async () => {
    const args = [...RUN, '--format', 'geojson', '--out', 'geo'];
    expect((await runCli([...args.map((a) => (a === 'photos' || a === 'geo' ? path.join(tmp, a) : a)), '--quiet'])).code).toBe(0);
    expect(await checkOutputs(args, commands, tmp)).toBeUndefined();
    const file = path.join(tmp, 'geo/img-00.geojson');
    const good = await fsp.readFile(file, 'utf8');
    await fsp.writeFile(file, good.replace('"FeatureCollection"', '"Feature"'));
    expect(await checkOutputs(args, commands, tmp)).toMatch(/^geo cannot be read: .*img-00\.geojson.*FeatureCollection/u);
    await fsp.rm(file);
    expect(await checkOutputs(args, commands, tmp)).toBe('geo holds no .geojson file');
    // `sam-amg segment` is checked as the main command is: its output must be there.
    expect(await checkOutputs(['segment', 'photos', '--boxes', 'det.json', '--format', 'geojson', '--out', 'geo'], commands, tmp)).toBe('geo holds no .geojson file');
  });
});
