/**
 * The JSON a `fetch` call sends, read without consuming anything the call needs, and a way
 * to send a changed body of the same kind (so the `Content-Type` fetch derives from the body
 * does not change). A body that cannot be read that way (a stream, form data) is left alone,
 * and so is the request.
 */

export interface RequestText {
  readonly text: string;
  /** Builds the body to send for `text` in place of the original; absent when the body must be sent as it is. */
  readonly replace?: (text: string) => unknown;
}

type FetchInput = string | URL | Request;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export async function readRequestText(input: FetchInput, init: RequestInit | undefined): Promise<RequestText | undefined> {
  const fixedLength = hasContentLength(init?.headers) || (input instanceof Request && input.headers.has('content-length'));
  const given = init?.body;
  if (given !== undefined && given !== null) {
    const text = await bodyText(given);
    if (text === undefined) return undefined;
    // A caller-set Content-Length would no longer match a changed body.
    return fixedLength ? { text } : { text, replace: replacement(given) };
  }
  if (input instanceof Request && input.body !== null && !input.bodyUsed) {
    // The clone's body is a branch of the original's: reading it leaves the original whole.
    // Never replaced: that would take a new Request.
    return { text: await input.clone().text() };
  }
  return undefined;
}

async function bodyText(body: unknown): Promise<string | undefined> {
  if (typeof body === 'string') return body;
  try {
    if (body instanceof ArrayBuffer) return strictUtf8.decode(body);
    if (ArrayBuffer.isView(body)) return strictUtf8.decode(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
    if (typeof Blob === 'function' && body instanceof Blob) return strictUtf8.decode(await body.arrayBuffer());
  } catch {
    return undefined; // not UTF-8: not a JSON body
  }
  return undefined;
}

function replacement(body: unknown): ((text: string) => unknown) | undefined {
  if (typeof body === 'string') return (text) => text;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return (text) => new TextEncoder().encode(text);
  if (typeof Blob === 'function' && body instanceof Blob) return (text) => new Blob([text], { type: body.type });
  return undefined;
}

function hasContentLength(headers: RequestInit['headers']): boolean {
  if (headers === undefined || headers === null) return false;
  try {
    return new Headers(headers).has('content-length');
  } catch {
    return true; // unreadable headers: assume the body must stay as it is
  }
}
