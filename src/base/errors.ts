/**
 * What a caught value says, the same way everywhere: JavaScript lets anything be thrown, so a `catch` gets an
 * `unknown`. Browser-safe, imports nothing; every layer (and the pages, scripts and bin/) uses these two instead
 * of spelling the test out.
 */

/** The message of a thrown value: an Error's own message, anything else as its string. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A thrown value as an Error: an Error itself, anything else wrapped with its string as the message. */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
