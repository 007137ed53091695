/**
 * The folder the docs' commands run in, offline. Made once as a template, then copied fresh for each doc file:
 *
 *   work/                      the commands' working folder
 *     images/                  four shared photos scaled to 64 px wide: dog.jpg, groceries.jpg, street/{cars,truck}.jpg
 *     photo.jpg                dog.jpg, scaled the same way
 *     ortho.tif                dog.jpg, scaled the same way, as a GeoTIFF (scripts/make-geotiff.ts: UTM 33N, 0.5 m)
 *     fixtures -> <repo>/fixtures
 *     models/sam-vit-base/     a copy of fixtures/models/sam1-tiny, with every dtype's file names
 *   shared/images/             the four photos, scaled the same way (what ../shared/images means from work/)
 *   shared/conformance         a link to the repository's ../shared/conformance (the prompt toys and detections)
 *   hf/                        an offline Hugging Face cache: every known hub model, and the ids in STAND_INS, served
 *                              by a fixture model of its family (HF_HUB_CACHE, with HF_HUB_OFFLINE=1)
 *   bin/sam-amg                runs <repo>/bin/sam-amg.js (so dist/ must be built)
 *   home/                      HOME, so that nothing reads or writes the user's own caches
 *
 * Small photos keep the whole check to a few minutes on 2 cores: the fixture models make post-processing expensive
 * on photos (their clipped logits flip at every texture edge), and the docs are about flags, not mask quality.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, cp, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { DTYPE_SUFFIX } from '../../src/model/dtype.js';
import { KNOWN_MODELS } from '../../src/node/hub/known-models.js';
import { decodeImage } from '../../src/node/decode.js';
import { writeGeoTiff } from '../make-geotiff.js';

/** Hub ids the docs may use besides the known models, with the fixture that stands in for each. */
export const STAND_INS: Readonly<Record<string, 'sam1-tiny' | 'sam2-tiny'>> = {};

/** The photos the sandbox is made from, and where they go under work/images. */
const PHOTOS: readonly [string, string][] = [
  ['dog.jpg', 'dog.jpg'],
  ['groceries.jpg', 'groceries.jpg'],
  ['cars.jpg', 'street/cars.jpg'],
  ['truck.jpg', 'street/truck.jpg'],
];
const WIDTH = 64;

export interface Sandbox {
  root: string;
  /** Where commands run. */
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** Variables of the caller's environment that would change what the commands do. */
const DROP = /^(SLURM_|JOB_COMPLETION_INDEX$|SAM_AMG_|SOURCE_DATE_EPOCH$|HF_|HUGGING_FACE_|XDG_CACHE_HOME$|NODE_OPTIONS$)/u;

/** Builds the template sandbox under `root` from the repository at `repo` and the photos in `photos`. */
export async function makeTemplate(root: string, repo: string, photos: string): Promise<void> {
  const work = path.join(root, 'work');
  for (const [name, rel] of PHOTOS) {
    const src = path.join(photos, name);
    if (!existsSync(src)) throw new Error(`docs-check: ${src} is missing (the shared photos are expected in ../shared/images)`);
    for (const dest of [path.join(work, 'images', rel), path.join(root, 'shared', 'images', name)]) {
      await mkdir(path.dirname(dest), { recursive: true });
      await sharp(src).resize({ width: WIDTH }).jpeg({ quality: 90 }).toFile(dest);
    }
  }
  await copyFile(path.join(work, 'images', 'dog.jpg'), path.join(work, 'photo.jpg'));
  await writeGeoTiff(path.join(work, 'ortho.tif'), await decodeImage(path.join(work, 'photo.jpg')));
  const conformance = path.resolve(photos, '..', 'conformance');
  if (existsSync(conformance)) await symlink(conformance, path.join(root, 'shared', 'conformance'));
  await symlink(path.join(repo, 'fixtures'), path.join(work, 'fixtures'));
  await modelCopy(path.join(repo, 'fixtures/models/sam1-tiny'), path.join(work, 'models', 'sam-vit-base'));
  const standIns = new Map<string, 'sam1-tiny' | 'sam2-tiny'>(KNOWN_MODELS.map((m) => [m.id, m.family === 'sam' ? 'sam1-tiny' : 'sam2-tiny']));
  for (const [id, fixture] of Object.entries(STAND_INS)) standIns.set(id, fixture);
  for (const [id, fixture] of standIns) {
    const commit = createHash('sha1').update(id).digest('hex');
    const repoDir = path.join(root, 'hf', `models--${id.replace('/', '--')}`);
    await modelCopy(path.join(repo, 'fixtures/models', fixture), path.join(repoDir, 'snapshots', commit));
    await mkdir(path.join(repoDir, 'refs'), { recursive: true });
    await writeFile(path.join(repoDir, 'refs', 'main'), commit);
  }
  await mkdir(path.join(root, 'bin'), { recursive: true });
  const bin = path.join(root, 'bin', 'sam-amg');
  await writeFile(bin, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(path.join(repo, 'bin', 'sam-amg.js'))} "$@"\n`);
  await chmod(bin, 0o755);
  await mkdir(path.join(root, 'home'), { recursive: true });
}

/** A Hugging Face layout model folder copied with the file names of every dtype (the fp32 files under each name). */
async function modelCopy(from: string, to: string): Promise<void> {
  await cp(from, to, { recursive: true });
  const onnx = path.join(to, 'onnx');
  for (const file of await readdir(onnx)) {
    if (!file.endsWith('.onnx')) continue;
    for (const suffix of Object.values(DTYPE_SUFFIX)) {
      if (suffix === '') continue;
      await copyFile(path.join(onnx, file), path.join(onnx, file.replace(/\.onnx$/u, `${suffix}.onnx`)));
    }
  }
}

/** A fresh copy of the template at `dir`. */
export async function freshSandbox(template: string, dir: string): Promise<Sandbox> {
  await cp(template, dir, { recursive: true, verbatimSymlinks: true });
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!DROP.test(k)) env[k] = v;
  Object.assign(env, {
    PATH: `${path.join(dir, 'bin')}${path.delimiter}${process.env.PATH ?? ''}`,
    HOME: path.join(dir, 'home'),
    HF_HUB_CACHE: path.join(dir, 'hf'),
    HF_HUB_OFFLINE: '1',
    NO_COLOR: '1',
    TZ: 'UTC',
  });
  return { root: dir, cwd: path.join(dir, 'work'), env };
}

/** Whether a `--model` value names a hub model rather than a folder of the sandbox (or is absent: the default). */
export function isHubModel(value: string | undefined, cwd: string): boolean {
  if (value === undefined) return true;
  return /^[\w.-]+\/[\w.-]+(@\S+)?$/u.test(value) && !value.startsWith('.') && !existsSync(path.resolve(cwd, value));
}
