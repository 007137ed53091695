import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { downloadFile, fileDownloadInfo } from '@huggingface/hub';
import { HubError, isTransient, toHubError } from './errors.js';
import type { DownloadProgress } from './progress.js';

/** One repository file as the tree listing describes it. */
export interface RemoteFile {
  path: string;
  size: number;
  /** Git blob id (sha1 of `blob <size>\0<content>`). */
  oid: string;
  /** sha256 of the content when the file is stored with LFS/Xet. */
  sha256?: string;
}

/** Where and how to fetch. */
export interface DownloadContext {
  id: string;
  /** Revision as the user asked for it, for messages. */
  revision: string;
  /** Commit the download is pinned to, so every file comes from the same tree. */
  commit: string;
  endpoint: string;
  fetch: typeof fetch;
  /** Extra attempts after a failed transfer. */
  retries: number;
  /** First pause between attempts; doubles each time. */
  retryDelayMs: number;
  onProgress?: (p: DownloadProgress) => void;
}

/** Name of the cache blob for a file: the LFS sha256 or the git oid, as Python's cache names them. */
export function blobName(file: RemoteFile): string {
  return file.sha256 ?? file.oid;
}

const PROGRESS_INTERVAL_MS = 100;

/**
 * Downloads `file` into `dest` (a blob path), or does nothing when a blob of the right size is
 * already there. Bytes go to `<dest>.incomplete` and are renamed only once size and hash match the
 * listing, so an interrupted or corrupt transfer never appears under the final name; a later attempt
 * resumes the `.incomplete` file with a Range request.
 * @returns whether anything was downloaded.
 */
export async function downloadBlob(file: RemoteFile, dest: string, ctx: DownloadContext): Promise<boolean> {
  if ((await sizeOf(dest)) === file.size) return false;
  await mkdir(dirname(dest), { recursive: true });
  const errCtx = { id: ctx.id, revision: ctx.revision, endpoint: ctx.endpoint, file: file.path };

  for (let attempt = 0; ; attempt++) {
    try {
      await attemptDownload(file, dest, ctx);
      return true;
    } catch (err) {
      const hubErr = toHubError(err, errCtx);
      // A corrupt partial file must not be resumed.
      if (hubErr.kind === 'integrity') await rm(`${dest}.incomplete`, { force: true });
      if (!isTransient(err) || attempt >= ctx.retries) throw hubErr;
      await sleep(ctx.retryDelayMs * 2 ** attempt);
    }
  }
}

async function attemptDownload(file: RemoteFile, dest: string, ctx: DownloadContext): Promise<void> {
  const repo = { type: 'model' as const, name: ctx.id };
  const common = { repo, path: file.path, revision: ctx.commit, hubUrl: ctx.endpoint, fetch: ctx.fetch };
  const info = await fileDownloadInfo(common);
  if (!info) {
    const msg = `model ${ctx.id}: file ${file.path} not found on the hub (revision ${ctx.revision})`;
    throw new HubError('not-found', msg);
  }
  checkAnnounced(file, info.size, info.etag, ctx);
  // Xet transfers bypass the plain HTTP path whose redirects and ranges this module relies on.
  const blob = await downloadFile({ ...common, downloadInfo: info, xet: false });
  if (!blob) throw new HubError('not-found', `model ${ctx.id}: file ${file.path} not found on the hub`);

  const incomplete = `${dest}.incomplete`;
  let offset = (await sizeOf(incomplete)) ?? 0;
  if (offset > file.size) offset = 0;
  const hash = contentHash(file);
  if (offset > 0) await hashFile(incomplete, hash);

  const handle = await open(incomplete, offset > 0 ? 'a' : 'w');
  const reader = (offset > 0 ? blob.slice(offset) : blob).stream().getReader();
  const started = performance.now();
  let bytes = offset;
  let lastReport = 0;
  const report = (done: boolean): void => {
    const seconds = Math.max((performance.now() - started) / 1000, 1e-3);
    ctx.onProgress?.({ id: ctx.id, file: file.path, bytes, total: file.size, speed: (bytes - offset) / seconds, done });
  };
  try {
    report(false);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (bytes + value.byteLength > file.size) {
        // A server that ignored the Range header resends the whole file: start over cleanly.
        await reader.cancel();
        throw integrity(ctx, file, `received more than the announced ${file.size} bytes`);
      }
      hash.update(value);
      await handle.write(value);
      bytes += value.byteLength;
      const now = performance.now();
      if (now - lastReport >= PROGRESS_INTERVAL_MS) {
        lastReport = now;
        report(false);
      }
    }
  } finally {
    await handle.close();
  }

  if (bytes !== file.size) {
    throw integrity(ctx, file, `got ${bytes} of ${file.size} bytes`);
  }
  const digest = hash.digest('hex');
  const expected = blobName(file);
  if (digest !== expected) {
    throw integrity(ctx, file, `${file.sha256 ? 'sha256' : 'git oid'} is ${digest}, the hub lists ${expected}`);
  }
  await rename(incomplete, dest);
  report(true);
}

/** Refuses a file whose size or hash in the download headers contradicts the listing. */
function checkAnnounced(file: RemoteFile, size: number, etag: string, ctx: DownloadContext): void {
  if (size !== file.size) throw integrity(ctx, file, `the hub announces ${size} bytes, the listing ${file.size}`);
  const tag = etag.replace(/^W\//, '').replace(/"/g, '');
  // Only compare like with like: LFS files carry their sha256 in X-Linked-Etag, git files their oid.
  const comparable = file.sha256 ? /^[0-9a-f]{64}$/.test(tag) : /^[0-9a-f]{40}$/.test(tag);
  if (comparable && tag !== blobName(file)) {
    throw integrity(ctx, file, `the hub's etag ${tag} differs from the listed ${blobName(file)}`);
  }
}

function integrity(ctx: DownloadContext, file: RemoteFile, detail: string): HubError {
  return new HubError('integrity', `model ${ctx.id}: ${file.path} failed verification (${detail}); refusing it`);
}

/** sha256 for LFS files; otherwise git's blob hash, which the listing gives as `oid`. */
function contentHash(file: RemoteFile): Hash {
  if (file.sha256) return createHash('sha256');
  return createHash('sha1').update(`blob ${file.size}\0`);
}

async function hashFile(path: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : undefined;
  } catch {
    return undefined;
  }
}
