/**
 * The static server behind `npm run web` and the browser test: cross-origin isolation headers on every response,
 * model folders and photos under their prefixes, nothing outside its roots, GET and HEAD only.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveInside, startWebServer, type WebServer } from '../scripts/web-server.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let tmp: string;
let server: WebServer;

beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sam-amg-web-'));
  const app = path.join(tmp, 'app');
  const images = path.join(tmp, 'images');
  await fsp.mkdir(app);
  await fsp.mkdir(images);
  await fsp.writeFile(path.join(app, 'index.html'), '<!doctype html><title>t</title>');
  await fsp.writeFile(path.join(tmp, 'secret.txt'), 'outside every root');
  await fsp.writeFile(path.join(images, 'b.png'), 'png');
  await fsp.writeFile(path.join(images, 'a.jpg'), 'jpg');
  await fsp.writeFile(path.join(images, 'notes.txt'), 'not an image');
  server = await startWebServer({ app, images, models: [{ name: 'fixtures/sam1-tiny', dir: path.join(ROOT, 'fixtures/models/sam1-tiny') }], port: 0 });
});

afterAll(async () => {
  await server?.close();
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

describe('npm run web: the static server', () => {
  it('serves the page with the COOP/COEP headers that make it cross-origin isolated', async () => {
    const res = await fetch(server.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(res.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toBe('<!doctype html><title>t</title>');
  });

  it('lists the model folders and photos, and serves a model file byte for byte', async () => {
    const list = (await (await fetch(`${server.url}models/index.json`)).json()) as unknown;
    expect(list).toEqual({ models: ['models/fixtures/sam1-tiny/'], images: ['images/a.jpg', 'images/b.png'] });
    const res = await fetch(`${server.url}models/fixtures/sam1-tiny/config.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect(await res.text()).toBe(await fsp.readFile(path.join(ROOT, 'fixtures/models/sam1-tiny/config.json'), 'utf8'));
    expect((await fetch(`${server.url}images/b.png`)).status).toBe(200);
  });

  it('never serves a file outside its roots, and answers GET and HEAD only', async () => {
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/images/../secret.txt', '/images/%2e%2e%2fsecret.txt', '/models/fixtures/sam1-tiny/../../secret.txt', '/models/other/x']) {
      const res = await fetch(`${server.url.slice(0, -1)}${p}`);
      expect(res.status, p).toBe(404);
      expect(await res.text()).not.toContain('outside every root');
    }
    const post = await fetch(server.url, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await fetch(server.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String('<!doctype html><title>t</title>'.length));
  });

  it('resolveInside keeps every path inside its root', () => {
    const root = path.join(tmp, 'app');
    expect(resolveInside(root, 'a/b.js')).toBe(path.join(root, 'a/b.js'));
    expect(resolveInside(root, '../secret.txt')).toBe(path.join(root, 'secret.txt'));
    expect(resolveInside(root, '/etc/passwd')).toBe(path.join(root, 'etc/passwd'));
    expect(resolveInside(root, '')).toBe(root);
  });
});
