import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { HUB_URL, listFiles, modelInfo } from '@huggingface/hub';
import {
  blobPath,
  cachedSnapshot,
  COMMIT_RE,
  GIT_OID_RE,
  hubCacheDir,
  isInsideDir,
  linkPointer,
  missingFiles,
  SHA256_RE,
  snapshotDir,
  unsafeRepoPath,
  unsafeRevision,
  writeRef,
} from './cache.js';
import { blobName, downloadBlob, type DownloadContext, type RemoteFile } from './download.js';
import { HubError, toHubError, type ErrorContext } from './errors.js';
import { hubFetch } from './fetch.js';
import {
  availableDtypes,
  DEFAULT_DTYPE,
  isExternalDataOf,
  onnxFiles,
  requiredFiles,
  type DtypeChoice,
} from './files.js';
import type { DownloadProgress } from './progress.js';

export { DTYPE_SUFFIX } from './files.js';

/** How to find a model; unset fields come from the environment like Python's huggingface_hub. */
export interface ResolveOptions {
  /** Suffix names (fp32, fp16, q8, int8, uint8, q4, q4f16, bnb4); default fp32 for both. */
  dtype?: DtypeChoice;
  /** Branch, tag or commit; `id@rev` in the spec wins. Default `main`. */
  revision?: string;
  /** Use only the cache (default: HF_HUB_OFFLINE is 1/true/yes). */
  offline?: boolean;
  /** Default: HF_TOKEN, HUGGING_FACE_HUB_TOKEN, then the token file `huggingface-cli login` writes. */
  token?: string;
  /** Default: HF_ENDPOINT or https://huggingface.co. */
  endpoint?: string;
  /** Default: {@link hubCacheDir}. */
  cacheDir?: string;
  onProgress?: (p: DownloadProgress) => void;
  fetch?: typeof fetch;
  /** Ask the hub even when the cache already holds every file of the revision. */
  refresh?: boolean;
  /** Extra attempts per file after a failed transfer (default 3). */
  retries?: number;
  /** First pause between attempts in ms, doubling each time (default 500). */
  retryDelayMs?: number;
  /** Environment to read defaults from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
}

/** A model folder ready for the loader. */
export interface ResolvedModel {
  /** A local folder or cache snapshot with config.json, preprocessor_config.json and onnx/. */
  dir: string;
  /** Hub id, or the folder path as given. */
  id: string;
  revision?: string;
  commit?: string;
  /** True when nothing had to be downloaded. */
  fromCache: boolean;
}

const HUB_ID_RE = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/** Splits `owner/name@rev`; undefined when the text is not shaped like a hub id. */
export function parseHubId(spec: string): { id: string; revision?: string } | undefined {
  const at = spec.indexOf('@');
  const id = at < 0 ? spec : spec.slice(0, at);
  const revision = at < 0 ? undefined : spec.slice(at + 1);
  if (!HUB_ID_RE.test(id) || revision === '') return undefined;
  return { id, revision };
}

/**
 * Turns `--model` into a folder: an existing local folder is returned as is; a hub id
 * (`owner/name[@revision]`) is served from the shared hub cache, downloading what is missing.
 */
export async function resolveModel(spec: string, opts: ResolveOptions = {}): Promise<ResolvedModel> {
  if (isDirectory(spec)) return { dir: spec, id: spec, fromCache: true };
  const parsed = parseHubId(spec);
  if (!parsed) {
    const msg = `model ${spec}: no such folder, and not a hub id of the form owner/name[@revision]`;
    throw new HubError('not-found', msg);
  }

  const env = opts.env ?? process.env;
  const id = parsed.id;
  const revision = parsed.revision ?? opts.revision ?? 'main';
  // The revision names a file in the cache (refs/<revision>): one that could leave it is refused before any request.
  const badRevision = unsafeRevision(revision);
  if (badRevision !== undefined) {
    throw new HubError('unsafe', `model ${id}: revision ${JSON.stringify(revision)} is not a valid branch, tag or commit name (${badRevision})`);
  }
  const dtype = opts.dtype ?? DEFAULT_DTYPE;
  const cacheDir = opts.cacheDir ?? hubCacheDir(env);
  const offline = opts.offline ?? envFlag(env.HF_HUB_OFFLINE);
  const endpoint = (opts.endpoint || env.HF_ENDPOINT || HUB_URL).replace(/\/+$/, '');
  const required = requiredFiles(dtype);

  const cached = cachedSnapshot(id, revision, cacheDir);
  const missing = cached ? missingFiles(cached, required) : required;
  const complete = cached && missing.length === 0 ? cached : undefined;
  const hit = (dir: string): ResolvedModel => ({ dir, id, revision, commit: basename(dir), fromCache: true });

  if (offline) {
    if (complete) return hit(complete);
    throw offlineMiss(id, revision, cacheDir, cached ? missing : undefined, opts.offline === undefined);
  }
  // A complete snapshot of this ref needs no network; `refresh` asks the hub whether the ref moved.
  if (complete && !opts.refresh) return hit(complete);

  const ctx: ErrorContext = { id, revision, endpoint };
  const token = opts.token || env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || tokenFile(env);
  const fetchFn = hubFetch(endpoint, token, opts.fetch ?? fetch);
  try {
    return await download(id, revision, dtype, cacheDir, {
      id,
      revision,
      commit: '',
      endpoint,
      fetch: fetchFn,
      retries: opts.retries ?? 3,
      retryDelayMs: opts.retryDelayMs ?? 500,
      onProgress: opts.onProgress,
    });
  } catch (err) {
    const hubErr = toHubError(err, ctx);
    // Like Python: when the hub is unreachable, a complete cached snapshot is good enough.
    if (hubErr.kind === 'network' && complete) return hit(complete);
    throw hubErr;
  }
}

async function download(
  id: string,
  revision: string,
  dtype: DtypeChoice,
  cacheDir: string,
  base: DownloadContext,
): Promise<ResolvedModel> {
  const hub = { hubUrl: base.endpoint, fetch: base.fetch };
  // Pin the ref to one commit so every file comes from the same tree even if the branch moves meanwhile.
  const commit = COMMIT_RE.test(revision)
    ? revision
    : (await modelInfo({ name: id, revision, additionalFields: ['sha'], ...hub })).sha;
  if (typeof commit !== 'string' || !COMMIT_RE.test(commit)) {
    throw new HubError('network', `model ${id}: the hub did not return a commit for revision ${revision}`);
  }

  const listing = new Map<string, RemoteFile>();
  for await (const e of listFiles({ repo: { type: 'model', name: id }, revision: commit, recursive: true, ...hub })) {
    if (e.type !== 'file') continue;
    listing.set(e.path, { path: e.path, size: e.lfs?.size ?? e.size, oid: e.oid ?? '', sha256: e.lfs?.oid });
  }


  const wanted = requiredFiles(dtype);
  for (const path of wanted) {
    if (!listing.has(path)) {
      const dtypes = availableDtypes(listing.keys()).join(', ') || 'none';
      const hint = path.endsWith('.onnx') ? `; dtypes available: ${dtypes}` : '';
      throw new HubError('not-found', `model ${id}: file ${path} not found on the hub (revision ${revision})${hint}`);
    }
  }
  const onnx = onnxFiles(dtype);
  const externalData = [...listing.keys()].filter((p) => onnx.some((o) => isExternalDataOf(o, p)));
  // External data first: its pointer must exist before the .onnx that makes the folder look complete.
  const files = [...new Set([...externalData, ...wanted])].map((p) => listing.get(p)!);
  // Every name the server supplied becomes part of a cache path: check each before anything is written.
  for (const file of files) checkRemoteFile(file, id, revision, cacheDir, commit);

  const ctx: DownloadContext = { ...base, commit };
  let downloaded = false;
  for (const file of files) {
    if (await downloadBlob(file, blobPath(id, cacheDir, blobName(file)), ctx)) downloaded = true;
  }
  // Pointers only after every blob is verified, so a half-finished run never looks complete.
  const dir = snapshotDir(id, cacheDir, commit);
  for (const file of files) await linkPointer(blobPath(id, cacheDir, blobName(file)), join(dir, file.path), cacheDir);
  await writeRef(id, cacheDir, revision, commit);
  return { dir, id, revision, commit, fromCache: !downloaded };
}

/** Refuses a listed file whose path, blob id or size could name a path outside the cache or make no sense. */
function checkRemoteFile(file: RemoteFile, id: string, revision: string, cacheDir: string, commit: string): void {
  const refuse = (why: string): never => {
    throw new HubError('unsafe', `model ${id}: the hub listed ${JSON.stringify(file.path)} (revision ${revision}) with ${why}; refusing it`);
  };
  const badPath = unsafeRepoPath(file.path);
  if (badPath !== undefined) refuse(`an unusable file name (${badPath})`);
  if (file.sha256 !== undefined && !SHA256_RE.test(file.sha256)) refuse(`an LFS id ${JSON.stringify(file.sha256)} that is not a sha256`);
  if (file.sha256 === undefined && !GIT_OID_RE.test(file.oid)) refuse(`a blob id ${JSON.stringify(file.oid)} that is not a git object id`);
  if (!Number.isSafeInteger(file.size) || file.size < 0) refuse(`a size ${JSON.stringify(file.size)} that is not a byte count`);
  const pointer = join(snapshotDir(id, cacheDir, commit), file.path);
  if (!isInsideDir(pointer, snapshotDir(id, cacheDir, commit)) || !isInsideDir(blobPath(id, cacheDir, blobName(file)), cacheDir)) {
    refuse('a name that resolves outside the cache');
  }
}

function offlineMiss(
  id: string,
  revision: string,
  cacheDir: string,
  missing: string[] | undefined,
  fromEnv: boolean,
): HubError {
  const ref = revision === 'main' ? id : `${id}@${revision}`;
  const where = tilde(cacheDir);
  const what = missing
    ? `is only partly in the local cache (${where}; missing ${missing.join(', ')})`
    : `is not in the local cache (${where})`;
  const why = fromEnv ? 'HF_HUB_OFFLINE is set' : 'offline mode is on';
  return new HubError(
    'offline-miss',
    `model ${ref} ${what} and ${why}; ` +
      `run 'sam-amg models pull ${ref}' with network access first, or pass --model <folder>`,
  );
}

function envFlag(value: string | undefined): boolean {
  return ['1', 'true', 'yes', 'on'].includes((value ?? '').trim().toLowerCase());
}

/** The token `huggingface-cli login` stores, so logged-in Python users need no HF_TOKEN. */
function tokenFile(env: NodeJS.ProcessEnv): string | undefined {
  const home = env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface');
  try {
    return readFileSync(env.HF_TOKEN_PATH ?? join(home, 'token'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function isDirectory(path: string): boolean {
  try {
    return existsSync(path) && statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function tilde(path: string): string {
  const home = homedir();
  return path === home || path.startsWith(`${home}/`) ? `~${path.slice(home.length)}` : path;
}
