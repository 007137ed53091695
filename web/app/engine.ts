/**
 * The page's ONNX Runtime: onnxruntime-web (wasm kernels with SIMD, on several threads when the page is
 * cross-origin isolated; WebGPU where the browser has it), its wasm files served from this build's `ort/` folder,
 * never from a CDN. Models load over fetch with the core's URL loader; their sha256 is taken from the same bytes,
 * as the CLI takes it from the files (src/node/model-folder.ts).
 */
import * as ort from 'onnxruntime-web';
import { createRuntime, loadModelFromUrl, type FetchLike, type LoadedModel } from '../../src/core/index.js';

/** Execution backends the page offers. */
export type Backend = 'wasm' | 'webgpu';

/** How the wasm backend runs on this page. */
export interface WasmSetup {
  threads: number;
  isolated: boolean;
}

/** The most wasm threads the page asks for: beyond this the decoder's small batches gain nothing. */
const MAX_THREADS = 16;

let setup: WasmSetup | undefined;

/**
 * Points onnxruntime-web at this build's wasm files and picks its thread count: every core the browser reports when
 * the page is cross-origin isolated (SharedArrayBuffer is needed for threads), else one. Takes effect once, before
 * the first session; later calls return the same answer.
 */
export function configureWasm(): WasmSetup {
  if (setup) return setup;
  const isolated = globalThis.crossOriginIsolated === true;
  const threads = isolated ? Math.max(1, Math.min(MAX_THREADS, navigator.hardwareConcurrency || 1)) : 1;
  ort.env.wasm.wasmPaths = new URL('ort/', document.baseURI).href;
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = 'error';
  setup = { threads, isolated };
  return setup;
}

interface GpuNavigator {
  gpu?: { requestAdapter(): Promise<object | null> };
}

/** True when the browser can give WebGPU an adapter. */
export async function webgpuAvailable(): Promise<boolean> {
  const gpu = (navigator as Navigator & GpuNavigator).gpu;
  if (gpu === undefined) return false;
  try {
    return (await gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}

/** A model loaded for one backend, with what the COCO info block says about it. */
export interface PageModel {
  /** The folder URL, absolute. */
  url: string;
  backend: Backend;
  loaded: LoadedModel;
  /** sha256 over the encoder's and the decoder's bytes, in that order (the CLI's model_sha256). */
  sha256: string;
}

/** Loads the model folder at `url` (absolute or relative to the page) on `backend`. */
export async function loadPageModel(url: string, backend: Backend): Promise<PageModel> {
  configureWasm();
  const abs = new URL(url, document.baseURI).href;
  const base = abs.endsWith('/') ? abs : `${abs}/`;
  // Keep the ONNX files' bytes as they arrive, to hash exactly what the sessions were made from.
  const onnxBodies = new Map<string, ArrayBuffer>();
  const fetchKeeping: FetchLike = async (u, init) => {
    const res = await fetch(u, init);
    if (!res.ok || !u.endsWith('.onnx')) return res;
    const body = await res.arrayBuffer();
    onnxBodies.set(u, body);
    return { ok: true, status: res.status, arrayBuffer: async () => body };
  };
  const runtime = createRuntime(ort, {
    sessionOptions: () => ({ executionProviders: [backend], graphOptimizationLevel: 'all', logSeverityLevel: 3 }),
    loadErrorHint: backend === 'webgpu' ? ' (on WebGPU: try the wasm backend)' : undefined,
  });
  const loaded = await loadModelFromUrl(base, runtime, { fetch: fetchKeeping });
  try {
    const enc = onnxBodies.get(loaded.files.encoder);
    const dec = onnxBodies.get(loaded.files.decoder);
    if (enc === undefined || dec === undefined) throw new Error(`${base}: the model's ONNX files were not read over fetch`);
    return { url: base, backend, loaded, sha256: await sha256Hex([enc, dec]) };
  } catch (err) {
    await loaded.adapter.release();
    throw err;
  } finally {
    onnxBodies.clear();
  }
}

/** SHA-256 of the concatenated buffers, lower-case hex (WebCrypto: the page runs in a secure context). */
async function sha256Hex(parts: ArrayBuffer[]): Promise<string> {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    all.set(new Uint8Array(p), at);
    at += p.byteLength;
  }
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', all));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
