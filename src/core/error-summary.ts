/** How an error is named and described on a span. */

/** The error's class name, else its `name`, else `_OTHER` (the conventions' `error.type`). */
export function errorType(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const ctor = (error as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof ctor === 'string' && ctor !== 'Object' && ctor !== 'Error') return ctor;
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string' && name.length > 0) return name;
  }
  return '_OTHER';
}

export function errorMessage(error: unknown): string | undefined {
  return error instanceof Error ? error.message : undefined;
}

/**
 * An error a provider reported inside a well-formed stream (`{"error": {...}}`, an `error`
 * event), for bodies read as they pass rather than through an SDK. Named `APIError`, as the
 * SDKs name it, so `error.type` is the same whichever way the request was made.
 */
export function providerStreamError(details: unknown): Error {
  const fields = typeof details === 'object' && details !== null ? (details as Record<string, unknown>) : {};
  const message = typeof fields.message === 'string' ? fields.message : 'the provider reported an error in the stream';
  const error = new Error(message);
  error.name = 'APIError';
  return Object.assign(error, {
    type: typeof fields.type === 'string' ? fields.type : undefined,
    code: typeof fields.code === 'string' ? fields.code : undefined,
  });
}
