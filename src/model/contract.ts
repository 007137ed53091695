/**
 * Validation of ONNX sessions against the I/O contract, from the sessions' own metadata.
 */
import type { InferenceSession } from 'onnxruntime-common';
import { ModelError } from './errors.js';

/** Expected tensor: name, element type and rank (undefined: any). */
export interface TensorSpec {
  name: string;
  type: string;
  rank?: number;
  optional?: boolean;
}

type Meta = InferenceSession.ValueMetadata;

/** Throws a ModelError naming the file and the first difference from the specs. */
export function checkContract(file: string, role: 'input' | 'output', actual: readonly Meta[], specs: readonly TensorSpec[]): void {
  const byName = new Map(actual.map((m) => [m.name, m]));
  for (const spec of specs) {
    const m = byName.get(spec.name);
    if (!m) {
      if (spec.optional) continue;
      const found = actual.map((a) => a.name).join(', ');
      throw new ModelError(`${file}: has no ${role} '${spec.name}'; found: ${found || '(none)'}`);
    }
    if (!m.isTensor) throw new ModelError(`${file}: ${role} '${spec.name}' is not a tensor`);
    if (m.type !== spec.type) {
      throw new ModelError(`${file}: ${role} '${spec.name}' has element type ${m.type}, expected ${spec.type}`);
    }
    if (spec.rank !== undefined && m.shape.length !== spec.rank) {
      throw new ModelError(`${file}: ${role} '${spec.name}' has rank ${m.shape.length} [${m.shape.join(', ')}], expected rank ${spec.rank}`);
    }
  }
}

/** Names of a session's inputs or outputs. */
export function names(meta: readonly Meta[]): Set<string> {
  return new Set(meta.map((m) => m.name));
}

/** A fixed dimension of a tensor's metadata, or undefined when symbolic. */
export function fixedDim(meta: readonly Meta[], name: string, axis: number): number | undefined {
  const m = meta.find((x) => x.name === name);
  if (!m || !m.isTensor) return undefined;
  const d = m.shape[axis];
  return typeof d === 'number' && d > 0 ? d : undefined;
}
