/**
 * The Node side of the ONNX Runtime seam: onnxruntime-node sessions with options chosen on purpose, and
 * execution-provider selection for --device. The model code sees only the OrtRuntime built here.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { createRuntime, type OrtRuntime, type SessionMemory } from '../model/runtime.js';

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
    // Idle intra-op threads sleep instead of spinning: on a machine with as many cores as threads, a spinning
    // thread takes its core from the JavaScript thread that post-processes the previous batch meanwhile (and from
    // other processes). Measured on the ViT-B decoder: 6 % less time per prompt alone, 14 % with a busy main
    // thread (docs/performance.md).
    extra: { session: { intra_op: { allow_spinning: '0' } } },
    enableCpuMemArena: memory.arena !== false,
    enableMemPattern: memory.pattern === true,
    logSeverityLevel: 3,
  };
}

/** Cores available to this process. */
export function defaultThreads(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/** onnxruntime-node as the model code's runtime, with this run's threads and device. */
export function nodeRuntime(opts: RuntimeOptions): OrtRuntime {
  return createRuntime(ort, {
    sessionOptions: (memory) => sessionOptions(opts, memory),
    loadErrorHint: opts.device && opts.device !== 'cpu' ? ` (with --device ${opts.device}; see the README's Devices section, or use --device cpu)` : undefined,
  });
}
