/**
 * ONNX Runtime sessions with options chosen on purpose, and execution-provider selection for --device.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';

/** Runtime settings shared by every session of a run. */
export interface RuntimeOptions {
  /** Intra-op threads; defaults to the number of cores. */
  threads?: number;
  /** cpu (default), cuda, tensorrt, coreml, dml, webgpu … as ONNX Runtime names its providers. */
  device?: string;
}

const DEVICE_ALIASES: Readonly<Record<string, string>> = { gpu: 'cuda', directml: 'dml' };

/** Providers to try for a device, in order; CPU always last so unsupported ops fall back. */
export function executionProviders(device: string): string[] {
  const name = DEVICE_ALIASES[device] ?? device;
  return name === 'cpu' ? ['cpu'] : [name, 'cpu'];
}

/**
 * Throws a clear message when the installed onnxruntime-node has no such provider. The Linux x64 package ships
 * CPU and WebGPU in the box; CUDA and TensorRT are listed but their provider libraries are downloaded by the package's
 * install script (denied by this project's allowScripts in package.json), so for them the library file itself is looked for
 * (see the README, Devices).
 */
export function checkDevice(device: string): void {
  const name = DEVICE_ALIASES[device] ?? device;
  const backends = ort.listSupportedBackends();
  const known = backends.find((b) => b.name === name);
  if (!known) {
    const names = backends.map((b) => b.name).join(', ');
    throw new Error(`--device ${device}: ONNX Runtime on this platform has no '${name}' execution provider (available: ${names})`);
  }
  if (!known.bundled) {
    const lib = providerLibrary(name);
    if (lib && !existsSync(lib)) {
      throw new Error(
        `--device ${device}: the installed onnxruntime-node has no ${name} provider library (${lib} is missing); ` +
          `install ONNX Runtime's GPU binaries as the README's Devices section describes, or use --device cpu`,
      );
    }
  }
}

/** Where onnxruntime-node keeps a downloaded provider library on this platform, or undefined when unknown. */
export function providerLibrary(name: string): string | undefined {
  let pkgDir: string;
  try {
    pkgDir = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  } catch {
    return undefined;
  }
  const file =
    process.platform === 'win32'
      ? `onnxruntime_providers_${name}.dll`
      : process.platform === 'linux'
        ? `libonnxruntime_providers_${name}.so`
        : undefined;
  return file && path.join(pkgDir, 'bin', 'napi-v6', process.platform, process.arch, file);
}

/** Per-session memory choices. */
export interface SessionMemory {
  /**
   * Keep freed buffers in ONNX Runtime's arena for the next run (default true). The image encoder runs once per
   * crop with a few large buffers: without the arena they go back to the system after each run, so the encoder's
   * peak and the decoder's do not add up, for a negligible share of the encoder's time.
   */
  arena?: boolean;
}

/** The session options every sam-amg session uses. */
export function sessionOptions(opts: RuntimeOptions, memory: SessionMemory = {}): ort.InferenceSession.SessionOptions {
  const threads = opts.threads && opts.threads > 0 ? opts.threads : defaultThreads();
  return {
    executionProviders: executionProviders(opts.device ?? 'cpu'),
    // Full graph optimisation: fusions matter for the decoder, which runs thousands of prompts per image.
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    // One model call at a time per session: parallelism comes from intra-op threads.
    interOpNumThreads: 1,
    executionMode: 'sequential',
    enableCpuMemArena: memory.arena !== false,
    logSeverityLevel: 3,
  };
}

/** Cores available to this process. */
export function defaultThreads(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/** Creates a session, turning ONNX Runtime's load errors into one line naming the file. */
export async function createSession(file: string, opts: RuntimeOptions, memory: SessionMemory = {}): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(file, sessionOptions(opts, memory));
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const device = opts.device && opts.device !== 'cpu' ? ` (with --device ${opts.device}; see the README's Devices section, or use --device cpu)` : '';
    throw new ModelError(`${file}: ONNX Runtime cannot load it: ${msg.split('\n')[0]}${device}`);
  }
}

/** Creates a session from model bytes built in memory (`label` names it in errors). */
export async function createSessionFromBytes(bytes: Uint8Array, label: string, opts: RuntimeOptions): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, sessionOptions(opts));
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new ModelError(`${label}: ONNX Runtime cannot load it: ${msg.split('\n')[0]}`);
  }
}

/** A model that cannot be used: missing files, broken ONNX, or a contract mismatch. Exit code 2 in the CLI. */
export class ModelError extends Error {
  override name = 'ModelError';
}
