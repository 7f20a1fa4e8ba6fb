/**
 * A web `Response` with another body and everything else the same: status, status text,
 * headers, and (as own properties, since a constructed `Response` cannot set them) `url`,
 * `redirected` and `type`. The original keeps its body untouched until the new body is read.
 */

/** The parts of a web `Response` this module reads. */
export interface WebResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  readonly url: string;
  readonly redirected: boolean;
  readonly type: string;
  readonly body: ReadableStream<Uint8Array> | null;
  readonly bodyUsed: boolean;
}

/** A web `Response` of this runtime whose body has not been read. */
export function isUnreadWebResponse(value: unknown): value is WebResponse {
  if (typeof Response !== 'function' || !(value instanceof Response)) return false;
  return !value.bodyUsed && value.body !== null && typeof value.body.getReader === 'function';
}

export function rewrapResponse(response: WebResponse, body: ReadableStream<Uint8Array>): Response {
  const wrapped = new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  for (const name of ['url', 'redirected', 'type'] as const) {
    Object.defineProperty(wrapped, name, { value: response[name], enumerable: false, configurable: true });
  }
  return wrapped;
}

/** How a body is read: SSE events, a JSON document, or neither (left alone). */
export function bodyFormat(headers: Headers): 'sse' | 'json' | undefined {
  const type = headers.get('content-type')?.toLowerCase() ?? '';
  if (type.startsWith('text/event-stream')) return 'sse';
  if (type.startsWith('application/json') || /^application\/[\w.+-]*\+json/.test(type)) return 'json';
  return undefined;
}
