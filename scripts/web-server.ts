/**
 * `npm run web`: serves the AMG page (dist/web/app, built by scripts/build-web.ts) on 127.0.0.1, with the model
 * folders a user can try at once under /models/ (the repository's fixtures/models, and ../shared/conformance's model
 * folders when that checkout is there) and ../shared/images under /images/.
 *
 * Every response carries `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`:
 * the page is then cross-origin isolated, which is what lets onnxruntime-web run its wasm kernels on several threads
 * (SharedArrayBuffer). The browser test (test/browser/amg.test.ts) starts the same server.
 *
 *   npm run web                     # http://127.0.0.1:8080/
 *   npm run web -- --port 0         # any free port
 *
 * A static server only: GET and HEAD, no directory listings (except /models/index.json, the list of model folders
 * the page offers), nothing outside its roots.
 */
import { createReadStream, existsSync, promises as fsp, readdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { errorMessage } from '../src/base/errors.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHARED = path.resolve(ROOT, '../shared');

/** Headers that make the page cross-origin isolated (threads in onnxruntime-web). */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
} as const;

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.map': 'application/json; charset=utf-8',
};

/** One model folder offered under /models/. */
export interface ServedModel {
  /** URL path below /models/, e.g. `conformance/sam1-toy`. */
  name: string;
  dir: string;
}

/** What the server serves. */
export interface WebServerOptions {
  /** The built page (default dist/web/app). */
  app?: string;
  /** Model folders under /models/<name>/ (default: {@link defaultModels}). */
  models?: ServedModel[];
  /** A folder served under /images/ (default ../shared/images when present). */
  images?: string | null;
  host?: string;
  /** 0: any free port. */
  port?: number;
}

/** A running server. */
export interface WebServer {
  /** e.g. `http://127.0.0.1:8080/`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The model folders `npm run web` offers: fixtures/models/* and ../shared/conformance/* (those with a config.json or onnx/). */
export function defaultModels(): ServedModel[] {
  const out: ServedModel[] = [];
  const add = (prefix: string, parent: string): void => {
    if (!existsSync(parent)) return;
    for (const name of listDirs(parent)) {
      const dir = path.join(parent, name);
      if (existsSync(path.join(dir, 'config.json')) || existsSync(path.join(dir, 'onnx'))) out.push({ name: `${prefix}/${name}`, dir });
    }
  };
  add('fixtures', path.join(ROOT, 'fixtures/models'));
  add('conformance', path.join(SHARED, 'conformance'));
  return out;
}

/** Sub-folders of `parent` (synchronous: called once at start-up), none when it cannot be read. */
function listDirs(parent: string): string[] {
  try {
    return readdirSync(parent, { withFileTypes: true })
      .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
      .map((d) => d.name)
      .sort();
  } catch {
    return [];
  }
}

/** The file a URL path names inside `root`, or null when it would leave the root. */
export function resolveInside(root: string, rel: string): string | null {
  const file = path.resolve(root, `.${path.posix.normalize(`/${rel}`)}`);
  return file === root || file.startsWith(root + path.sep) ? file : null;
}

/** Starts the server; resolves once it listens. */
export async function startWebServer(opts: WebServerOptions = {}): Promise<WebServer> {
  const app = path.resolve(opts.app ?? path.join(ROOT, 'dist/web/app'));
  const models = opts.models ?? defaultModels();
  const imagesDefault = path.join(SHARED, 'images');
  const images = opts.images === undefined ? (existsSync(imagesDefault) ? imagesDefault : null) : opts.images;
  const modelIndex = JSON.stringify({ models: models.map((m) => `models/${m.name}/`), images: images ? await imageList(images) : [] });

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, `${errorMessage(err)}\n`);
      else res.destroy();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'GET or HEAD only\n', { Allow: 'GET, HEAD' });
      return;
    }
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      send(res, 400, 'bad URL\n');
      return;
    }
    if (pathname === '/models/index.json') {
      send(res, 200, modelIndex, { 'Content-Type': TYPES['.json'] }, req.method === 'HEAD');
      return;
    }
    let file: string | null = null;
    if (pathname.startsWith('/models/')) {
      const rest = pathname.slice('/models/'.length);
      const model = models.find((m) => rest.startsWith(`${m.name}/`));
      if (model) file = resolveInside(model.dir, rest.slice(model.name.length + 1));
    } else if (pathname.startsWith('/images/')) {
      if (images) file = resolveInside(images, pathname.slice('/images/'.length));
    } else {
      file = resolveInside(app, pathname.endsWith('/') ? `${pathname}index.html` : pathname);
    }
    const stat = file === null ? null : await fsp.stat(file).catch(() => null);
    if (file === null || stat === null || !stat.isFile()) {
      send(res, 404, `not found: ${pathname}\n`);
      return;
    }
    res.writeHead(200, {
      ...ISOLATION_HEADERS,
      'Content-Type': TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
      'Content-Length': String(stat.size),
      'Cache-Control': 'no-cache',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  }

  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8080, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function imageList(dir: string): Promise<string[]> {
  const names = await fsp.readdir(dir).catch(() => []);
  return names.filter((n) => /\.(jpe?g|png|webp)$/iu.test(n)).sort().map((n) => `images/${n}`);
}

function send(res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}, head = false): void {
  res.writeHead(status, { ...ISOLATION_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache', ...headers });
  res.end(head ? undefined : body);
}

/** `--port N` from the command line, else $PORT, else 8080. */
function portArg(argv: string[]): number {
  const i = argv.indexOf('--port');
  const text = i >= 0 ? argv[i + 1] : process.env.PORT;
  if (text === undefined) return 8080;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--port: '${text}' is not a port number (0–65535)`);
  return n;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  (async () => {
    const app = path.join(ROOT, 'dist/web/app');
    if (!existsSync(path.join(app, 'index.html'))) throw new Error(`${path.relative(process.cwd(), app)} is not built: run npm run build (or tsx scripts/build-web.ts)`);
    const server = await startWebServer({ port: portArg(process.argv.slice(2)) });
    const models = defaultModels();
    process.stdout.write(`sam-amg web: ${server.url}  (cross-origin isolated; ${models.length} model folders under ${server.url}models/; Ctrl-C stops)\n`);
    for (const m of models) process.stdout.write(`  ${server.url}models/${m.name}/\n`);
  })().catch((err: unknown) => {
    const code = (err as { code?: string }).code;
    process.stderr.write(`sam-amg web: ${code === 'EADDRINUSE' ? 'that port is in use: try npm run web -- --port 0' : errorMessage(err)}\n`);
    process.exitCode = 1;
  });
}
