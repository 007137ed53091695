/**
 * A loopback imitation of the Hugging Face hub: the endpoints @huggingface/hub calls for
 * `modelInfo`, `listFiles` and `fileDownloadInfo`/`downloadFile`, plus a second server on another
 * port standing in for the LFS CDN the hub redirects to. Requests are logged with their headers so
 * tests can count downloads and check where the token went.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative, sep } from 'node:path';

/** How a logged request was used. */
export type RequestKind = 'api' | 'probe' | 'download' | 'other';

export interface LoggedRequest {
  server: 'hub' | 'cdn';
  method: string;
  path: string;
  kind: RequestKind;
  range?: string;
  authorization?: string;
}

/** Misbehaviour for one repository file. `times` counts body downloads it applies to (default: all). */
export type Fault =
  // Send half the body, then drop the connection. `held(n)` resolves once the client holds the file's first n bytes
  // (the range's start plus the half): a reset discards what the client received and has not read yet, so without
  // it a loaded client resumes from an earlier offset.
  | { kind: 'cut'; times?: number; held?: (bytes: number) => Promise<void> }
  | { kind: 'corrupt'; times?: number } // same length, one byte flipped
  | { kind: 'resize'; times?: number } // announce and send one byte more than the listing says
  | { kind: 'status'; status: number }; // answer every resolve request (probe included) with this status

interface RepoFile {
  content: Buffer;
  lfs: boolean;
  sha256: string;
  gitOid: string;
}

interface Repo {
  refs: Map<string, string>;
  commits: Map<string, Map<string, RepoFile>>;
  private: boolean;
}

export interface RepoOptions {
  /** Ref name → folder whose files make up that revision. */
  refs: Record<string, string>;
  /** Requires `Authorization: Bearer <token>` on every hub request for this repo. */
  private?: boolean;
}

export interface FakeHubOptions {
  /** The token private repositories accept. */
  token?: string;
  /** Serve LFS files through a 302 to the CDN server (another origin), as the real hub does. */
  redirectLfs?: boolean;
}

const isLfs = (path: string): boolean => /\.onnx($|_data|\.data)/.test(path);

function gitOid(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

function lfsPointer(sha256: string, size: number): Buffer {
  return Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${size}\n`);
}

function listFolder(root: string): Map<string, RepoFile> {
  const files = new Map<string, RepoFile>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else {
        const path = relative(root, full).split(sep).join('/');
        const content = readFileSync(full);
        const sha256 = createHash('sha256').update(content).digest('hex');
        const lfs = isLfs(path);
        files.set(path, { content, lfs, sha256, gitOid: gitOid(lfs ? lfsPointer(sha256, content.length) : content) });
      }
    }
  };
  walk(root);
  return files;
}

/** Commit id derived from the tree, so equal folders give equal commits. */
function commitOf(files: Map<string, RepoFile>, salt: string): string {
  const h = createHash('sha1').update(salt);
  for (const [path, f] of [...files].sort(([a], [b]) => a.localeCompare(b))) h.update(`${path}\0${f.gitOid}\0`);
  return h.digest('hex');
}

function parseRange(header: string | undefined, size: number): [number, number] | undefined {
  const m = header && /^bytes=(\d*)-(\d*)$/.exec(header);
  if (!m) return undefined;
  const start = m[1] === '' ? size - Number(m[2]) : Number(m[1]);
  const end = m[1] === '' || m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  return [start, end];
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** One entry of the tree listing as the hub sends it. */
export type TreeEntry = Record<string, unknown>;

/** Hostile answers, to check that nothing the server says can name a path outside the cache. */
export interface HostileAnswers {
  /** Rewrites the tree listing before it is sent. */
  tree?: (entries: TreeEntry[]) => TreeEntry[];
  /** The `sha` the revision endpoint reports. */
  revisionSha?: string;
}

export class FakeHub {
  readonly requests: LoggedRequest[] = [];
  /** Set to make the hub lie (see {@link HostileAnswers}). */
  hostile: HostileAnswers = {};
  url = '';
  cdnUrl = '';
  private readonly repos = new Map<string, Repo>();
  private readonly faults = new Map<string, Fault>();
  private readonly blobsBySha = new Map<string, RepoFile>();
  private readonly hub: Server;
  private readonly cdn: Server;

  constructor(private readonly opts: FakeHubOptions = {}) {
    this.hub = createServer((req, res) => this.handleHub(req, res));
    this.cdn = createServer((req, res) => this.handleCdn(req, res));
  }

  async start(): Promise<this> {
    this.url = await listen(this.hub);
    this.cdnUrl = await listen(this.cdn);
    return this;
  }

  async close(): Promise<void> {
    for (const s of [this.hub, this.cdn]) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  }

  /** Publishes a repository; returns the commit id of each ref. */
  addRepo(id: string, options: RepoOptions): Record<string, string> {
    const repo: Repo = { refs: new Map(), commits: new Map(), private: options.private ?? false };
    const out: Record<string, string> = {};
    for (const [ref, folder] of Object.entries(options.refs)) {
      const files = listFolder(folder);
      const commit = commitOf(files, id);
      repo.commits.set(commit, files);
      repo.refs.set(ref, commit);
      for (const f of files.values()) this.blobsBySha.set(f.sha256, f);
      out[ref] = commit;
    }
    this.repos.set(id, repo);
    return out;
  }

  /** Makes `path` (any repo) misbehave. */
  setFault(path: string, fault: Fault): void {
    this.faults.set(path, fault);
  }

  /** Requests of one kind, optionally for paths ending with `suffix`. */
  count(kind: RequestKind, suffix = ''): number {
    return this.requests.filter((r) => r.kind === kind && r.path.endsWith(suffix)).length;
  }

  private log(req: IncomingMessage, server: 'hub' | 'cdn', kind: RequestKind, path: string): void {
    const range = req.headers.range;
    const authorization = req.headers.authorization;
    this.requests.push({ server, method: req.method ?? 'GET', path, kind, range, authorization });
  }

  private takeFault(path: string): Fault | undefined {
    const fault = this.faults.get(path);
    if (!fault || fault.kind === 'status') return undefined;
    if (fault.times !== undefined) {
      if (fault.times <= 0) return undefined;
      fault.times--;
    }
    return fault;
  }

  private handleHub(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    const path = decodeURIComponent(url.pathname);
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/(revision|tree)\/([^/]+)(?:\/(.*))?$/.exec(path);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    const isProbe = req.headers.range === 'bytes=0-0';
    const fileKind: RequestKind = req.method === 'GET' && !isProbe ? 'download' : 'probe';
    this.log(req, 'hub', api ? 'api' : resolve ? fileKind : 'other', path);

    const match = api ?? resolve;
    if (!match) return json(res, 404, { error: 'Not found' });
    const repo = this.repos.get(match[1]);
    // Like the real hub, anonymous callers get 401 for missing repositories too, not to leak private names.
    if (!repo) return json(res, req.headers.authorization ? 404 : 401, { error: 'Repository not found' });
    if (repo.private && req.headers.authorization !== `Bearer ${this.opts.token}`) {
      return json(res, 401, { error: 'Invalid credentials in Authorization header' });
    }
    const rev = api ? api[3] : resolve![2];
    const commit = repo.refs.get(rev) ?? (repo.commits.has(rev) ? rev : undefined);
    if (!commit) return json(res, 404, { error: 'Revision Not Found' }, { 'X-Error-Code': 'RevisionNotFound' });
    const files = repo.commits.get(commit)!;

    if (api?.[2] === 'revision') {
      const lastModified = new Date(0).toISOString();
      return json(res, 200, { _id: 'fake', id: match[1], sha: this.hostile.revisionSha ?? commit, private: repo.private, lastModified });
    }
    if (api?.[2] === 'tree') {
      const prefix = api[4] ? `${api[4]}/` : '';
      const recursive = url.searchParams.get('recursive') === 'true';
      const entries = treeEntries(files, prefix, recursive) as TreeEntry[];
      return json(res, 200, this.hostile.tree ? this.hostile.tree(entries) : entries);
    }

    const filePath = resolve![3];
    const file = files.get(filePath);
    const statusFault = this.faults.get(filePath);
    if (statusFault?.kind === 'status') return json(res, statusFault.status, { error: `status ${statusFault.status}` });
    if (!file) return json(res, 404, { error: 'Entry not found' }, { 'X-Error-Code': 'EntryNotFound' });

    const etag = `"${file.lfs ? file.sha256 : file.gitOid}"`;
    const headers: Record<string, string> = { 'X-Repo-Commit': commit, ETag: etag };
    if (file.lfs) {
      headers['X-Linked-Etag'] = `"${file.sha256}"`;
      headers['X-Linked-Size'] = String(file.content.length);
      if (this.opts.redirectLfs) {
        const location = `${this.cdnUrl}/blobs/${file.sha256}?path=${encodeURIComponent(filePath)}`;
        res.writeHead(302, { ...headers, Location: location });
        return void res.end();
      }
    }
    sendBody(req, res, file.content, headers, req.method === 'GET' && !isProbe ? this.takeFault(filePath) : undefined);
  }

  private handleCdn(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.cdnUrl);
    const isProbe = req.headers.range === 'bytes=0-0';
    this.log(req, 'cdn', req.method === 'GET' && !isProbe ? 'download' : 'probe', url.pathname);
    const sha = /^\/blobs\/([0-9a-f]{64})$/.exec(url.pathname)?.[1];
    const file = sha ? this.blobsBySha.get(sha) : undefined;
    if (!file) return json(res, 404, { error: 'NoSuchKey' });
    const repoPath = url.searchParams.get('path') ?? '';
    const fault = req.method === 'GET' && !isProbe ? this.takeFault(repoPath) : undefined;
    sendBody(req, res, file.content, { ETag: `"${file.sha256}"` }, fault);
  }
}

function treeEntries(files: Map<string, RepoFile>, prefix: string, recursive: boolean): unknown[] {
  const entries: unknown[] = [];
  const dirs = new Set<string>();
  for (const [path, f] of files) {
    if (!path.startsWith(prefix)) continue;
    const rest = path.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash >= 0) {
      dirs.add(prefix + rest.slice(0, slash));
      if (!recursive) continue;
    }
    const size = f.content.length;
    entries.push({
      type: 'file',
      path,
      size,
      oid: f.gitOid,
      ...(f.lfs && { lfs: { oid: f.sha256, size, pointerSize: lfsPointer(f.sha256, size).length } }),
    });
  }
  for (const d of dirs) entries.push({ type: 'directory', path: d, size: 0, oid: gitOid(Buffer.from(d)) });
  return entries;
}

function sendBody(
  req: IncomingMessage,
  res: ServerResponse,
  original: Buffer,
  headers: Record<string, string>,
  fault: Fault | undefined,
): void {
  let content = original;
  if (fault?.kind === 'corrupt') {
    content = Buffer.from(original);
    content[content.length >> 1] ^= 0xff;
  } else if (fault?.kind === 'resize') {
    content = Buffer.concat([original, Buffer.from([0])]);
  }
  const size = content.length;
  const range = parseRange(req.headers.range, size);
  const [start, end] = range ?? [0, size - 1];
  const body = content.subarray(start, end + 1);
  res.writeHead(range ? 206 : 200, {
    ...headers,
    'Accept-Ranges': 'bytes',
    'Content-Type': 'application/octet-stream',
    'Content-Length': String(body.length),
    ...(range && { 'Content-Range': `bytes ${start}-${end}/${size}` }),
  });
  if (req.method === 'HEAD') return void res.end();
  if (fault?.kind === 'cut') {
    // Deliver the first half, then drop the connection: once the client holds those bytes when the fault says how
    // to tell, else once they are with the kernel (the write callback).
    const half = body.length >> 1;
    const drop = (): void => void res.socket?.destroy();
    res.write(body.subarray(0, half), () => {
      if (fault.held) fault.held(start + half).then(drop, drop);
      else drop();
    });
    return;
  }
  res.end(body);
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}
