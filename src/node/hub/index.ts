export { resolveModel, parseHubId, DTYPE_SUFFIX, type ResolveOptions, type ResolvedModel } from './resolve.js';
export { HubError, type HubErrorKind } from './errors.js';
export { hubCacheDir, cachedSnapshot } from './cache.js';
export { KNOWN_MODELS, DEFAULT_MODEL_ID, knownModel, type KnownModel } from './known-models.js';
export { formatProgress, type DownloadProgress } from './progress.js';
export { requiredFiles, type DtypeChoice, type ModelDtype } from './files.js';
