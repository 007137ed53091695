/**
 * The model's own error: missing files, broken ONNX, or a contract mismatch. The CLI maps it to exit code 2.
 */
export class ModelError extends Error {
  override name = 'ModelError';
}
