/**
 * A model folder served over HTTP(S), read with fetch: what the browser uses, and what any runtime with fetch can
 * use. Every file is fetched at most once while loading; a missing file is a 404 or 410. model() hands a body over and
 * forgets it (an encoder is hundreds of MB in a browser), close() lets the rest go.
 */
import { ModelError } from './errors.js';
import type { ModelFiles } from './files.js';
import { loadModelFrom, type LoadedModel, type LoadModelOptions } from './load.js';
import type { OrtRuntime } from './runtime.js';
import { errorMessage } from '../base/errors.js';

/** The subset of fetch this reader uses (the global one by default). */
export type FetchLike = (url: string, init?: { method?: string }) => Promise<{ ok: boolean; status: number; arrayBuffer(): Promise<ArrayBuffer> }>;

export class UrlModelFiles implements ModelFiles {
  readonly location: string;
  private readonly base: string;
  private readonly bodies = new Map<string, Promise<Uint8Array | null>>();

  /** @param url the model folder, e.g. `https://example.org/models/sam-vit-base/` (a trailing '/' is added) */
  constructor(
    url: string,
    private readonly fetchFn: FetchLike = (u, init) => fetch(u, init),
  ) {
    this.location = url;
    this.base = url.endsWith('/') ? url : `${url}/`;
  }

  label(rel: string): string {
    return this.base + rel;
  }

  async exists(rel: string): Promise<boolean> {
    return (await this.body(rel)) !== null;
  }

  async readText(rel: string): Promise<string> {
    return new TextDecoder().decode(await this.readBytes(rel));
  }

  async readBytes(rel: string): Promise<Uint8Array> {
    const body = await this.body(rel);
    if (body === null) throw new ModelError(`${this.label(rel)}: missing (not found at this URL)`);
    return body;
  }

  /** The bytes, no longer kept here: the caller holds them while it needs them (load.ts reuses the decoder's). */
  async model(rel: string): Promise<Uint8Array> {
    const bytes = await this.readBytes(rel);
    this.bodies.delete(rel);
    return bytes;
  }

  async listOnnx(): Promise<string[]> {
    return [];
  }

  close(): void {
    this.bodies.clear();
  }

  /** The file's bytes, or null when the server has no such file. Network failures are errors, not "missing". */
  private body(rel: string): Promise<Uint8Array | null> {
    let p = this.bodies.get(rel);
    if (!p) {
      p = this.fetchFn(this.label(rel)).then(
        async (res) => (res.ok ? new Uint8Array(await res.arrayBuffer()) : res.status === 404 || res.status === 410 ? null : Promise.reject(new ModelError(`${this.label(rel)}: HTTP ${res.status}`))),
        (err: unknown) => Promise.reject(new ModelError(`${this.label(rel)}: cannot fetch it (${errorMessage(err)})`)),
      );
      this.bodies.set(rel, p);
    }
    return p;
  }
}

/** Loads the model folder at `url` (rules: ./load.ts) with the given runtime, e.g. onnxruntime-web's. */
export function loadModelFromUrl(url: string, runtime: OrtRuntime, opts: LoadModelOptions & { fetch?: FetchLike } = {}): Promise<LoadedModel> {
  return loadModelFrom(new UrlModelFiles(url, opts.fetch), runtime, opts);
}
