import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { stat } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cachedSnapshot, hubCacheDir } from '../src/node/hub/cache.js';
import { HubError } from '../src/node/hub/errors.js';
import { DEFAULT_MODEL_ID, KNOWN_MODELS } from '../src/node/hub/known-models.js';
import { formatProgress, type DownloadProgress } from '../src/node/hub/progress.js';
import { DTYPE_SUFFIX, parseHubId, resolveModel, type ResolveOptions } from '../src/node/hub/resolve.js';
import { FakeHub } from './helpers/fake-hub.js';

const ID = 'test/sam-tiny';
const PRIVATE_ID = 'test/sam-private';
const TOKEN = 'hf_testtoken123';

let root: string;
let mainFolder: string;
let v2Folder: string;
/** Original bytes of every file in the main revision, by repository path. */
const files: Record<string, Buffer> = {};

function writeModel(folder: string, content: Record<string, Buffer>): void {
  for (const [path, bytes] of Object.entries(content)) {
    mkdirSync(dirname(join(folder, path)), { recursive: true });
    writeFileSync(join(folder, path), bytes);
  }
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sam-amg-hub-'));
  mainFolder = join(root, 'main');
  v2Folder = join(root, 'v2');
  Object.assign(files, {
    'config.json': Buffer.from('{"model_type":"sam"}'),
    'preprocessor_config.json': Buffer.from('{"size":{"longest_edge":1024},"do_pad":true}'),
    'README.md': Buffer.from('# not needed\n'),
    // Large enough for several network chunks, so a cut transfer leaves a real partial file.
    'onnx/vision_encoder.onnx': randomBytes(300_000),
    'onnx/vision_encoder.onnx_data': randomBytes(120_000),
    'onnx/prompt_encoder_mask_decoder.onnx': randomBytes(40_000),
    'onnx/vision_encoder_quantized.onnx': randomBytes(70_000),
    'onnx/prompt_encoder_mask_decoder_quantized.onnx': randomBytes(10_000),
  });
  writeModel(mainFolder, files);
  writeModel(v2Folder, { ...files, 'config.json': Buffer.from('{"model_type":"sam","v":2}') });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

let hub: FakeHub;
let cacheDir: string;
let commits: Record<string, string>;

async function startHub(redirectLfs = false): Promise<void> {
  await hub?.close();
  hub = await new FakeHub({ token: TOKEN, redirectLfs }).start();
  commits = hub.addRepo(ID, { refs: { main: mainFolder, v2: v2Folder } });
  hub.addRepo(PRIVATE_ID, { refs: { main: mainFolder }, private: true });
}

beforeEach(async () => {
  await startHub();
  cacheDir = mkdtempSync(join(root, 'cache-'));
});

afterEach(async () => {
  await hub.close();
});

/** resolveModel against the fake hub with a private cache and an environment that holds no token. */
function resolve(spec: string, opts: ResolveOptions = {}) {
  return resolveModel(spec, {
    endpoint: hub.url,
    cacheDir,
    retryDelayMs: 5,
    env: { HF_TOKEN_PATH: join(root, 'no-token-file') },
    ...opts,
  });
}

/** Resolves once `file` has at least `bytes` bytes, or after 60 s (the caller's assertions then say what is wrong). */
async function untilSize(file: string, bytes: number): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < 60_000) {
    const size = await stat(file).then(
      (s) => s.size,
      () => 0,
    );
    if (size >= bytes) return;
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function rejection(p: Promise<unknown>): Promise<HubError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HubError);
  return err as HubError;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const repoDir = () => join(cacheDir, 'models--test--sam-tiny');
const FP32_FILES = [
  'config.json',
  'preprocessor_config.json',
  'onnx/vision_encoder.onnx',
  'onnx/vision_encoder.onnx_data',
  'onnx/prompt_encoder_mask_decoder.onnx',
];

describe('resolveModel: downloads', () => {
  it('downloads the fp32 files and external data into the standard cache layout', async () => {
    const r = await resolve(ID);
    const commit = commits.main;
    expect(r).toEqual({ dir: join(repoDir(), 'snapshots', commit), id: ID, revision: 'main', commit, fromCache: false });
    expect(readFileSync(join(repoDir(), 'refs', 'main'), 'utf8')).toBe(commit);

    for (const path of FP32_FILES) {
      const pointer = join(r.dir, path);
      expect(readFileSync(pointer).equals(files[path]), path).toBe(true);
      // Relative symlinks into blobs/, as Python's huggingface_hub writes them.
      expect(lstatSync(pointer).isSymbolicLink()).toBe(true);
      expect(readlinkSync(pointer)).toMatch(/^(\.\.\/)+blobs\/[0-9a-f]{40,64}$/);
    }
    // LFS blobs are named by sha256, git files by their git oid.
    const encoderBlob = join(repoDir(), 'blobs', sha256(files['onnx/vision_encoder.onnx']));
    expect(readFileSync(encoderBlob).equals(files['onnx/vision_encoder.onnx'])).toBe(true);
    const cfg = files['config.json'];
    const cfgOid = createHash('sha1').update(`blob ${cfg.length}\0`).update(cfg).digest('hex');
    expect(readFileSync(join(repoDir(), 'blobs', cfgOid), 'utf8')).toBe('{"model_type":"sam"}');

    expect(readdirSync(join(repoDir(), 'blobs')).filter((f) => f.endsWith('.incomplete'))).toEqual([]);
    expect(existsSync(join(r.dir, 'README.md'))).toBe(false);
    expect(existsSync(join(r.dir, 'onnx/vision_encoder_quantized.onnx'))).toBe(false);
    expect(hub.count('download')).toBe(5);
    expect(hub.count('download', 'README.md')).toBe(0);
  });

  it('dtype q8 fetches the _quantized files (and no fp32 external data)', async () => {
    const r = await resolve(ID, { dtype: { encoder: 'q8', decoder: 'q8' } });
    for (const path of ['onnx/vision_encoder_quantized.onnx', 'onnx/prompt_encoder_mask_decoder_quantized.onnx']) {
      expect(readFileSync(join(r.dir, path)).equals(files[path])).toBe(true);
    }
    expect(existsSync(join(r.dir, 'onnx/vision_encoder.onnx'))).toBe(false);
    expect(hub.count('download', '.onnx_data')).toBe(0);
    expect(hub.count('download')).toBe(4);
  });

  it('mixes dtypes: q8 encoder with an fp32 decoder', async () => {
    const r = await resolve(ID, { dtype: { encoder: 'q8', decoder: 'fp32' } });
    expect(existsSync(join(r.dir, 'onnx/vision_encoder_quantized.onnx'))).toBe(true);
    expect(existsSync(join(r.dir, 'onnx/prompt_encoder_mask_decoder.onnx'))).toBe(true);
    expect(existsSync(join(r.dir, 'onnx/vision_encoder.onnx'))).toBe(false);
  });

  it('reports progress with bytes, total and speed, ending with a done report per file', async () => {
    const events: DownloadProgress[] = [];
    await resolve(ID, { onProgress: (p) => events.push(p) });
    const last = new Map<string, DownloadProgress>();
    for (const e of events) last.set(e.file, e);
    expect([...last.keys()].sort()).toEqual([...FP32_FILES].sort());
    for (const [path, e] of last) {
      expect(e).toMatchObject({ id: ID, done: true, bytes: files[path].length, total: files[path].length });
      expect(e.speed).toBeGreaterThan(0);
    }
  });

  it('a second resolve makes no requests at all; refresh asks for metadata but downloads nothing', async () => {
    const first = await resolve(ID);
    const before = hub.requests.length;
    const second = await resolve(ID);
    expect(second).toEqual({ ...first, fromCache: true });
    expect(hub.requests.length).toBe(before);

    const refreshed = await resolve(ID, { refresh: true });
    expect(refreshed.dir).toBe(first.dir);
    expect(refreshed.fromCache).toBe(true);
    expect(hub.count('download')).toBe(5);
    expect(hub.count('api')).toBeGreaterThan(0);
  });

  it('downloads only what a warm cache lacks when the dtype changes', async () => {
    await resolve(ID);
    const before = hub.count('download');
    await resolve(ID, { dtype: { encoder: 'fp32', decoder: 'q8' } });
    expect(hub.count('download') - before).toBe(1);
    expect(hub.count('download', 'prompt_encoder_mask_decoder_quantized.onnx')).toBe(1);
  });
});

describe('resolveModel: revisions and local folders', () => {
  it('@revision selects that revision and records its ref', async () => {
    const r = await resolve(`${ID}@v2`);
    expect(r.commit).toBe(commits.v2);
    expect(r.revision).toBe('v2');
    expect(commits.v2).not.toBe(commits.main);
    expect(readFileSync(join(r.dir, 'config.json'), 'utf8')).toBe('{"model_type":"sam","v":2}');
    expect(readFileSync(join(repoDir(), 'refs', 'v2'), 'utf8')).toBe(commits.v2);
    expect(existsSync(join(repoDir(), 'refs', 'main'))).toBe(false);
  });

  it('a commit id needs no revision lookup and writes no ref', async () => {
    const r = await resolve(`${ID}@${commits.main}`);
    expect(r.dir).toBe(join(repoDir(), 'snapshots', commits.main));
    expect(hub.requests.filter((q) => q.path.includes('/revision/'))).toEqual([]);
    expect(existsSync(join(repoDir(), 'refs'))).toBe(false);
  });

  it('the spec revision wins over opts.revision', async () => {
    const r = await resolve(`${ID}@v2`, { revision: 'main' });
    expect(r.commit).toBe(commits.v2);
  });

  it('an existing local folder is returned as is without network', async () => {
    const r = await resolve(mainFolder);
    expect(r).toEqual({ dir: mainFolder, id: mainFolder, fromCache: true });
    expect(hub.requests).toEqual([]);
  });

  it('parses hub ids', () => {
    expect(parseHubId('Xenova/sam-vit-base@main')).toEqual({ id: 'Xenova/sam-vit-base', revision: 'main' });
    expect(parseHubId('onnx-community/sam2.1-hiera-tiny-ONNX')).toEqual({ id: 'onnx-community/sam2.1-hiera-tiny-ONNX' });
    expect(parseHubId('./models/x')).toBeUndefined();
    expect(parseHubId('a/b/c')).toBeUndefined();
    expect(parseHubId('a/b@')).toBeUndefined();
  });

  it('a path that is neither a folder nor a hub id is refused without network', async () => {
    const err = await rejection(resolve('./no/such/folder'));
    expect(err.kind).toBe('not-found');
    expect(err.message).toContain('./no/such/folder');
    expect(hub.requests).toEqual([]);
  });
});

describe('resolveModel: offline', () => {
  it('serves a warm cache with zero requests (opts.offline and HF_HUB_OFFLINE)', async () => {
    const online = await resolve(ID);
    const before = hub.requests.length;
    const viaOpt = await resolve(ID, { offline: true });
    const viaEnv = await resolve(ID, { env: { HF_HUB_OFFLINE: 'yes', HF_TOKEN_PATH: '/nonexistent' } });
    expect(viaOpt).toEqual({ ...online, fromCache: true });
    expect(viaEnv).toEqual(viaOpt);
    expect(hub.requests.length).toBe(before);
  });

  it('a cold cache fails fast with offline-miss naming the id and `models pull`', async () => {
    const t0 = performance.now();
    const err = await rejection(
      resolve('Xenova/slimsam-77-uniform', { env: { HF_HUB_OFFLINE: '1', HF_TOKEN_PATH: '/nonexistent' } }),
    );
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(err.kind).toBe('offline-miss');
    expect(err.message).toBe(
      `model Xenova/slimsam-77-uniform is not in the local cache (${cacheDir}) and HF_HUB_OFFLINE is set; ` +
        `run 'sam-amg models pull Xenova/slimsam-77-uniform' with network access first, or pass --model <folder>`,
    );
    expect(hub.requests).toEqual([]);
  });

  it('a cache holding another dtype names the missing files', async () => {
    await resolve(ID);
    const err = await rejection(resolve(ID, { offline: true, dtype: { encoder: 'q8', decoder: 'q8' } }));
    expect(err.kind).toBe('offline-miss');
    expect(err.message).toContain('missing onnx/vision_encoder_quantized.onnx, onnx/prompt_encoder_mask_decoder_quantized.onnx');
    expect(err.message).toContain(`sam-amg models pull ${ID}`);
  });

  it('falls back to a complete cached snapshot when the hub is unreachable', async () => {
    const first = await resolve(ID);
    await hub.close();
    const r = await resolve(ID, { refresh: true });
    expect(r).toEqual({ ...first, fromCache: true });
  });
});

describe('resolveModel: interrupted and corrupt transfers', () => {
  const ENC = 'onnx/vision_encoder.onnx';
  const encBlob = () => join(repoDir(), 'blobs', sha256(files[ENC]));
  /** The cut fault's `held`: the client has written `bytes` bytes to its .incomplete file. */
  const held = (bytes: number) => untilSize(`${encBlob()}.incomplete`, bytes);

  it('retries a transfer cut halfway, resuming with a Range request', async () => {
    hub.setFault(ENC, { kind: 'cut', times: 1, held });
    const r = await resolve(ID);
    expect(readFileSync(join(r.dir, ENC)).equals(files[ENC])).toBe(true);
    const downloads = hub.requests.filter((q) => q.kind === 'download' && q.path.endsWith(ENC));
    expect(downloads).toHaveLength(2);
    expect(downloads[0].range).toBeUndefined();
    const half = files[ENC].length >> 1;
    expect(downloads[1].range).toBe(`bytes=${half}-${files[ENC].length - 1}`);
  });

  it('when every attempt fails, nothing under a final name is left for the loader', async () => {
    hub.setFault(ENC, { kind: 'cut', held });
    const err = await rejection(resolve(ID, { retries: 2 }));
    expect(err.kind).toBe('network');
    expect(err.message).toContain(`model ${ID}: could not download ${ENC}`);
    // Each attempt resumes where the previous one stopped and receives half of what is left.
    const size = files[ENC].length;
    const ranges = hub.requests.filter((q) => q.kind === 'download' && q.path.endsWith(ENC)).map((q) => q.range);
    expect(ranges).toEqual([undefined, `bytes=150000-${size - 1}`, `bytes=225000-${size - 1}`]);
    expect(existsSync(encBlob())).toBe(false);
    expect(existsSync(join(repoDir(), 'snapshots'))).toBe(false);
    expect(existsSync(join(repoDir(), 'refs', 'main'))).toBe(false);
    // The partial bytes are kept only under the .incomplete name…
    const partial = readFileSync(`${encBlob()}.incomplete`);
    expect(partial.length).toBe(262_500);
    expect(partial.equals(files[ENC].subarray(0, 262_500))).toBe(true);
    expect(cachedSnapshot(ID, 'main', cacheDir)).toBeUndefined();

    // …and a later run resumes from them.
    hub.setFault(ENC, { kind: 'cut', times: 0 });
    const r = await resolve(ID);
    expect(readFileSync(join(r.dir, ENC)).equals(files[ENC])).toBe(true);
    const last = hub.requests.filter((q) => q.kind === 'download' && q.path.endsWith(ENC)).at(-1);
    expect(last?.range).toBe(`bytes=262500-${size - 1}`);
    expect(existsSync(`${encBlob()}.incomplete`)).toBe(false);
  });

  it('refuses content whose sha256 does not match the listing', async () => {
    hub.setFault(ENC, { kind: 'corrupt' });
    const err = await rejection(resolve(ID, { retries: 1 }));
    expect(err.kind).toBe('integrity');
    expect(err.message).toContain(`${ENC} failed verification (sha256 is `);
    expect(err.message).toContain(`the hub lists ${sha256(files[ENC])}`);
    expect(hub.count('download', ENC)).toBe(2);
    expect(existsSync(encBlob())).toBe(false);
    expect(existsSync(`${encBlob()}.incomplete`)).toBe(false);
    expect(existsSync(join(repoDir(), 'snapshots'))).toBe(false);
  });

  it('refuses a git file whose content does not match its oid', async () => {
    hub.setFault('config.json', { kind: 'corrupt' });
    const err = await rejection(resolve(ID, { retries: 0 }));
    expect(err.kind).toBe('integrity');
    expect(err.message).toContain('config.json failed verification (git oid is ');
  });

  it('refuses a body longer than the announced size', async () => {
    hub.setFault(ENC, { kind: 'resize' });
    const err = await rejection(resolve(ID, { retries: 0 }));
    expect(err.kind).toBe('integrity');
    expect(err.message).toContain(`received more than the announced ${files[ENC].length} bytes`);
    expect(existsSync(encBlob())).toBe(false);
  });

  it('a one-off corrupt transfer is retried and then accepted', async () => {
    hub.setFault(ENC, { kind: 'corrupt', times: 1 });
    const r = await resolve(ID);
    expect(readFileSync(join(r.dir, ENC)).equals(files[ENC])).toBe(true);
    expect(hub.count('download', ENC)).toBe(2);
  });
});

describe('resolveModel: hub errors and tokens', () => {
  it('a dtype the repository lacks is not-found, naming the file, revision and available dtypes', async () => {
    const err = await rejection(resolve(ID, { dtype: { encoder: 'fp16', decoder: 'fp32' } }));
    expect(err.kind).toBe('not-found');
    expect(err.message).toBe(
      `model ${ID}: file onnx/vision_encoder_fp16.onnx not found on the hub (revision main); dtypes available: fp32, q8`,
    );
    expect(hub.count('download')).toBe(0);
  });

  it('a 404 on a listed file names the file and revision', async () => {
    hub.setFault('preprocessor_config.json', { kind: 'status', status: 404 });
    const err = await rejection(resolve(`${ID}@v2`));
    expect(err.kind).toBe('not-found');
    expect(err.message).toBe(`model ${ID}: file preprocessor_config.json not found on the hub (revision v2)`);
  });

  it('an unknown revision is not-found', async () => {
    const err = await rejection(resolve(`${ID}@nope`));
    expect(err.kind).toBe('not-found');
    expect(err.message).toBe(`model ${ID}: repository not found on the hub (revision nope)`);
  });

  it('401 and 403 ask for HF_TOKEN', async () => {
    const err = await rejection(resolve(PRIVATE_ID));
    expect(err.kind).toBe('unauthorized');
    expect(err.message).toMatch(
      new RegExp(`^model ${PRIVATE_ID}: access denied — set HF_TOKEN for private or gated models`),
    );

    hub.setFault('onnx/vision_encoder.onnx', { kind: 'status', status: 403 });
    const gated = await rejection(resolve(ID));
    expect(gated.kind).toBe('unauthorized');
    expect(gated.message).toBe(`model ${ID}: access denied — set HF_TOKEN for private or gated models`);
  });

  it('sends HF_TOKEN as a bearer token to the hub endpoint', async () => {
    const r = await resolve(PRIVATE_ID, { env: { HF_TOKEN: TOKEN, HF_TOKEN_PATH: '/nonexistent' } });
    expect(readFileSync(join(r.dir, 'onnx/vision_encoder.onnx')).equals(files['onnx/vision_encoder.onnx'])).toBe(true);
    expect(hub.requests.length).toBeGreaterThan(0);
    expect(new Set(hub.requests.map((q) => q.authorization))).toEqual(new Set([`Bearer ${TOKEN}`]));
  });

  it('reads HUGGING_FACE_HUB_TOKEN and the login token file too', async () => {
    await resolve(PRIVATE_ID, { env: { HUGGING_FACE_HUB_TOKEN: TOKEN, HF_TOKEN_PATH: '/nonexistent' } });
    const tokenFile = join(root, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`);
    rmSync(cacheDir, { recursive: true });
    await resolve(PRIVATE_ID, { env: { HF_TOKEN_PATH: tokenFile } });
    expect(hub.requests.every((q) => q.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  it('never sends the token to the host a file redirects to', async () => {
    await startHub(true);
    const r = await resolve(PRIVATE_ID, { token: TOKEN });
    for (const path of FP32_FILES) expect(readFileSync(join(r.dir, path)).equals(files[path]), path).toBe(true);

    const cdn = hub.requests.filter((q) => q.server === 'cdn');
    const onnxFiles = FP32_FILES.filter((p) => p.includes('.onnx'));
    expect(cdn.filter((q) => q.kind === 'download')).toHaveLength(onnxFiles.length);
    expect(cdn.map((q) => q.authorization)).toEqual(cdn.map(() => undefined));
    const hubSide = hub.requests.filter((q) => q.server === 'hub');
    expect(hubSide.every((q) => q.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  it('retries a cut transfer through the redirect, resuming at the CDN without the token', async () => {
    await startHub(true);
    hub.setFault('onnx/vision_encoder.onnx', { kind: 'cut', times: 1 });
    const r = await resolve(PRIVATE_ID, { token: TOKEN });
    expect(readFileSync(join(r.dir, 'onnx/vision_encoder.onnx')).equals(files['onnx/vision_encoder.onnx'])).toBe(true);
    const ranged = hub.requests.filter((q) => q.server === 'cdn' && q.kind === 'download' && q.range);
    expect(ranged).toHaveLength(1);
    expect(ranged[0].authorization).toBeUndefined();
  });

  it('an unreachable endpoint is a network error naming it', async () => {
    const url = hub.url;
    await hub.close();
    const err = await rejection(resolveModel(ID, { endpoint: url, cacheDir, retryDelayMs: 1 }));
    expect(err.kind).toBe('network');
    expect(err.message).toContain(url);
    expect(err.message).toContain('HF_HUB_OFFLINE=1');
  });
});

describe('resolveModel: hostile revisions and server-supplied names', () => {
  /** Every path under `root` outside the cache folder, to prove nothing was written outside HF_HUB_CACHE. */
  function outsideCache(): string[] {
    const out: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const full = join(dir, e.name);
        if (full === cacheDir) continue;
        out.push(full);
        if (e.isDirectory()) walk(full);
      }
    };
    walk(root);
    return out.sort();
  }

  it('refuses revisions that are not ref names before any request (owner/name@../../x)', async () => {
    const before = outsideCache();
    for (const rev of ['../../x', '../escape', 'a/../../b', '/etc/x', 'a//b', 'a\\..\\b', 'v1.lock', 'x@{1}', 'a b']) {
      const err = await rejection(resolve(`${ID}@${rev}`));
      expect(err.kind, rev).toBe('unsafe');
      expect(err.message, rev).toContain(`revision ${JSON.stringify(rev)} is not a valid branch, tag or commit name`);
    }
    const viaOption = await rejection(resolve(ID, { revision: '../../../outside' }));
    expect(viaOption.kind).toBe('unsafe');
    expect(hub.requests).toEqual([]);
    expect(outsideCache()).toEqual(before);
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it('refuses listed file names, LFS ids and blob ids that would leave the cache, and writes nothing outside it', async () => {
    const before = outsideCache();
    const cases: [string, (e: Record<string, unknown>[]) => Record<string, unknown>[], RegExp][] = [
      [
        'an external-data name with .. segments',
        (entries) => [...entries, { ...entries.find((e) => e.path === 'onnx/vision_encoder.onnx_data')!, path: 'onnx/vision_encoder.onnx_data_/../../../../../evil' }],
        /the hub listed "onnx\/vision_encoder\.onnx_data_\/\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/evil" .* with an unusable file name \(it has a '\.\.' segment\); refusing it/u,
      ],
      [
        'an LFS oid that is a path',
        (entries) => entries.map((e) => (e.path === 'onnx/vision_encoder.onnx' ? { ...e, lfs: { ...(e.lfs as object), oid: '../../../../evil' } } : e)),
        /with an LFS id "\.\.\/\.\.\/\.\.\/\.\.\/evil" that is not a sha256; refusing it/u,
      ],
      [
        'a git oid that is a path',
        (entries) => entries.map((e) => (e.path === 'config.json' ? { ...e, oid: '../../../../evil' } : e)),
        /"config\.json" .* with a blob id "\.\.\/\.\.\/\.\.\/\.\.\/evil" that is not a git object id/u,
      ],
    ];
    for (const [what, tree, message] of cases) {
      hub.hostile = { tree };
      const err = await rejection(resolve(ID));
      expect(err.kind, what).toBe('unsafe');
      expect(err.message, what).toMatch(message);
      // Refused before any file was downloaded or linked.
      expect(hub.count('download'), what).toBe(0);
    }
    hub.hostile = { revisionSha: '../../../../evil' };
    const sha = await rejection(resolve(ID));
    expect(sha.message).toContain('the hub did not return a commit for revision main');
    expect(outsideCache()).toEqual(before);
    expect(existsSync(join(root, 'evil'))).toBe(false);
  });
});

describe('cache helpers, known models, progress', () => {
  it('hubCacheDir follows HF_HUB_CACHE, HF_HOME, XDG_CACHE_HOME, then ~/.cache', () => {
    expect(hubCacheDir({ HF_HUB_CACHE: '/a', HF_HOME: '/b' })).toBe('/a');
    expect(hubCacheDir({ HF_HOME: '/b' })).toBe('/b/hub');
    expect(hubCacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/huggingface/hub');
    expect(hubCacheDir({})).toBe(join(homedir(), '.cache', 'huggingface', 'hub'));
    expect(hubCacheDir({ HF_HUB_CACHE: '~/hf' })).toBe(join(homedir(), 'hf'));
  });

  it('cachedSnapshot resolves refs and commits', async () => {
    expect(cachedSnapshot(ID, 'main', cacheDir)).toBeUndefined();
    const r = await resolve(ID);
    expect(cachedSnapshot(ID, 'main', cacheDir)).toBe(r.dir);
    expect(cachedSnapshot(ID, commits.main, cacheDir)).toBe(r.dir);
    expect(cachedSnapshot(ID, 'v2', cacheDir)).toBeUndefined();
  });

  it('DTYPE_SUFFIX follows the model contract', () => {
    expect(DTYPE_SUFFIX).toEqual({
      fp32: '',
      fp16: '_fp16',
      q8: '_quantized',
      int8: '_int8',
      uint8: '_uint8',
      q4: '_q4',
      q4f16: '_q4f16',
      bnb4: '_bnb4',
    });
  });

  it('rejects unknown dtype names', async () => {
    await expect(resolve(ID, { dtype: { encoder: 'fp8', decoder: 'fp32' } })).rejects.toThrow(/unknown dtype 'fp8'/);
  });

  it('lists the known repositories and a default among them', () => {
    expect(KNOWN_MODELS.map((m) => m.id)).toEqual([
      'Xenova/slimsam-77-uniform',
      'Xenova/slimsam-50-uniform',
      'Xenova/sam-vit-base',
      'Xenova/sam-vit-large',
      'Xenova/sam-vit-huge',
      'onnx-community/sam2.1-hiera-tiny-ONNX',
      'onnx-community/sam2.1-hiera-small-ONNX',
      'onnx-community/sam2.1-hiera-base-plus-ONNX',
      'onnx-community/sam2.1-hiera-large-ONNX',
    ]);
    expect(DEFAULT_MODEL_ID).toBe('Xenova/slimsam-77-uniform');
    for (const m of KNOWN_MODELS) {
      expect(m.approxSizeMB.q8).toBeLessThan(m.approxSizeMB.fp32);
      expect(m.dtypes).toContain('fp32');
      for (const d of m.dtypes) expect(Object.keys(DTYPE_SUFFIX)).toContain(d);
    }
  });

  it('formats progress lines', () => {
    const base = { id: ID, file: 'onnx/vision_encoder.onnx', done: false };
    expect(formatProgress({ ...base, bytes: 12_340_000, total: 45_600_000, speed: 3_400_000 })).toBe(
      'vision_encoder.onnx  12.3/45.6 MB  3.4 MB/s',
    );
    expect(formatProgress({ ...base, file: 'config.json', bytes: 20, total: 20, speed: 900, done: true })).toBe(
      'config.json  20/20 B  done',
    );
    expect(formatProgress({ ...base, bytes: 5e8, total: 2.5e9, speed: 1500 })).toBe(
      'vision_encoder.onnx  0.5/2.5 GB  1.5 kB/s',
    );
  });
});
