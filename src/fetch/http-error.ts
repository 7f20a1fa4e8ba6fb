/**
 * The error a request through `fetch` ends with when the provider answers with an error
 * status. Named as both SDKs name theirs (`RateLimitError`, ...), so `error.type` is the same
 * whichever way the request was made; the body is the caller's to read, so no provider text
 * is copied.
 */
const NAMES: Readonly<Record<number, string>> = {
  400: 'BadRequestError',
  401: 'AuthenticationError',
  403: 'PermissionDeniedError',
  404: 'NotFoundError',
  409: 'ConflictError',
  422: 'UnprocessableEntityError',
  429: 'RateLimitError',
};

export function httpStatusError(status: number): Error {
  const error = new Error(`the provider answered HTTP ${status}`);
  error.name = NAMES[status] ?? (status >= 500 ? 'InternalServerError' : 'APIError');
  return Object.assign(error, { status });
}
