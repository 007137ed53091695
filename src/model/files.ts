/**
 * Where a model folder's files come from: a folder on disk (src/node/model-folder.ts) or a URL (./url-files.ts).
 * Paths are relative to the folder and always use '/'.
 */
export interface ModelFiles {
  /** The folder or URL, for messages. */
  readonly location: string;
  /** How messages name a file of the folder. */
  label(rel: string): string;
  exists(rel: string): Promise<boolean>;
  /** The file as text; a ModelError naming the file when it cannot be read. */
  readText(rel: string): Promise<string>;
  /** The file's bytes (the decoder graph optimiser reads them). */
  readBytes(rel: string): Promise<Uint8Array>;
  /**
   * What the runtime loads: the path where it reads files itself (Node; external data next to it works), else bytes,
   * which the source need not keep afterwards (the caller keeps them when it reads them again).
   */
  model(rel: string): Promise<Uint8Array | string>;
  /** The .onnx files present, for messages (empty when the source cannot list, like a URL). */
  listOnnx(): Promise<string[]>;
  /** Lets go of what was kept while loading (fetched bodies); called once the sessions exist. */
  close(): void;
}
