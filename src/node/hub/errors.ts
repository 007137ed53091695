import { HubApiError } from '@huggingface/hub';

/**
 * What went wrong while resolving a model, so callers can react (e.g. suggest HF_TOKEN or `models pull`).
 * 'unsafe': a revision, or a name the server returned (file path, blob id, commit), that could name a path
 * outside the cache; refused before anything is written and never retried.
 */
export type HubErrorKind = 'not-found' | 'unauthorized' | 'offline-miss' | 'network' | 'integrity' | 'unsafe';

/** A model-resolution failure with a message meant for end users. */
export class HubError extends Error {
  readonly kind: HubErrorKind;

  constructor(kind: HubErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HubError';
    this.kind = kind;
  }
}

/** Where a failure happened, to phrase the message. */
export interface ErrorContext {
  id: string;
  revision: string;
  endpoint: string;
  /** Repository path being fetched, when the failure concerns one file. */
  file?: string;
}

/** HTTP status of a failed hub call, if the error carries one. */
export function httpStatus(err: unknown): number | undefined {
  if (err instanceof HubApiError) return err.statusCode;
  return undefined;
}

/** Whether another attempt may succeed: transport failures, 5xx and 429, never 4xx answers. */
export function isTransient(err: unknown): boolean {
  if (err instanceof HubError) return err.kind === 'network' || err.kind === 'integrity';
  const status = httpStatus(err);
  if (status !== undefined) return status >= 500 || status === 429 || status === 408;
  return true;
}

/** Turns whatever a hub call threw into a {@link HubError}; HubErrors pass through unchanged. */
export function toHubError(err: unknown, ctx: ErrorContext): HubError {
  if (err instanceof HubError) return err;
  const status = httpStatus(err);
  if (status === 401 || status === 403) {
    // The hub also answers 401 for repositories that do not exist, to avoid leaking private names.
    return new HubError(
      'unauthorized',
      `model ${ctx.id}: access denied — set HF_TOKEN for private or gated models` +
        (status === 401 ? ' (or check that the id is spelled correctly)' : ''),
      { cause: err },
    );
  }
  if (status === 404) {
    const what = ctx.file ? `file ${ctx.file}` : 'repository';
    return new HubError('not-found', `model ${ctx.id}: ${what} not found on the hub (revision ${ctx.revision})`, {
      cause: err,
    });
  }
  const detail = describe(err);
  return new HubError(
    'network',
    `model ${ctx.id}: could not download${ctx.file ? ` ${ctx.file}` : ''} from ${ctx.endpoint}: ${detail}` +
      ' (set HF_HUB_OFFLINE=1 to use only the local cache, or pass --model <folder>)',
    { cause: err },
  );
}

/** One line for an error, including the cause that undici hides behind "fetch failed". */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? err.cause.message : undefined;
  return cause && cause !== err.message ? `${err.message} (${cause})` : err.message;
}
