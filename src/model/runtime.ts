/**
 * The seam to ONNX Runtime. The core never imports a binding: the caller hands in onnxruntime-node's or
 * onnxruntime-web's namespace (both implement onnxruntime-common's API) through {@link createRuntime}, and every
 * adapter creates its sessions and tensors through the resulting {@link OrtRuntime}.
 */
import type { InferenceSession, Tensor, TensorConstructor } from 'onnxruntime-common';
import { ModelError } from './errors.js';
import { errorMessage } from '../base/errors.js';

/** Tensors by input or output name. */
export type Feeds = Record<string, Tensor>;

/** Per-session memory choices. */
export interface SessionMemory {
  /**
   * Keep freed buffers in ONNX Runtime's arena for the next run (default true). Without it every large buffer is
   * fresh pages at every run: the exported SAM ViT-B encoder, whose global attention holds [12, 4096, 4096] floats per
   * operator, runs about twice as long that way.
   */
  arena?: boolean;
  /**
   * ONNX Runtime's memory pattern (default false here; ONNX Runtime's own default is true): from the second run on,
   * all intermediate tensors of a run come from one block of the arena, planned from the first run. That block does
   * not fit in the pieces the first run left free, so the arena grows by the size of a run's tensors once more
   * (the ViT-B encoder: +0.9 GB, the decoder's per-prompt graph: +0.4 GB) for no measurable speed.
   */
  pattern?: boolean;
}

/** What the model code needs from an ONNX Runtime binding. */
export interface OrtRuntime {
  /**
   * Creates a session from a model's bytes or, where the binding reads files itself (Node), its path. `label` names
   * the model in errors.
   */
  createSession(model: Uint8Array | string, label: string, memory?: SessionMemory): Promise<InferenceSession>;
  /** A float32 tensor of the binding's own class (a session accepts only those). */
  float32(data: Float32Array, dims: readonly number[]): Tensor;
  /** An int64 tensor of the binding's own class. */
  int64(data: BigInt64Array, dims: readonly number[]): Tensor;
}

/** The part of an onnxruntime-node or onnxruntime-web namespace the runtime uses. */
export interface OrtBinding {
  InferenceSession: {
    create(model: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession>;
    create(path: string, options?: InferenceSession.SessionOptions): Promise<InferenceSession>;
  };
  Tensor: TensorConstructor;
}

/** How sessions are made: the options for a session, and an optional hint appended to load errors. */
export interface RuntimeSettings {
  sessionOptions(memory: SessionMemory): InferenceSession.SessionOptions;
  loadErrorHint?: string;
}

/**
 * An OrtRuntime over a binding, e.g. `createRuntime(ort, { sessionOptions: () => ({ executionProviders: ['wasm'] }) })`
 * with `import * as ort from 'onnxruntime-web'`.
 */
export function createRuntime(binding: OrtBinding, settings: RuntimeSettings): OrtRuntime {
  return {
    async createSession(model, label, memory = {}) {
      try {
        const options = settings.sessionOptions(memory);
        return typeof model === 'string'
          ? await binding.InferenceSession.create(model, options)
          : await binding.InferenceSession.create(model, options);
      } catch (err) {
        const msg = errorMessage(err);
        throw new ModelError(`${label}: ONNX Runtime cannot load it: ${msg.split('\n')[0]}${settings.loadErrorHint ?? ''}`);
      }
    },
    float32: (data, dims) => new binding.Tensor('float32', data, dims),
    int64: (data, dims) => new binding.Tensor('int64', data, dims),
  };
}
