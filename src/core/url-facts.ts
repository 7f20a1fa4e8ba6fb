/**
 * Host name and port of a URL string, parsed once per distinct string. A client's base URL
 * is the same on every request, and `new URL` (plus a thrown TypeError for a string that is
 * not absolute) was the largest single part of planning a request.
 */
import { boundedMemo } from './bounded-memo.js';

export interface UrlFacts {
  /** `URL.hostname`, as given (IPv6 in brackets). */
  readonly hostname: string;
  /** The explicit port, or the scheme's default (80 for http:, 443 otherwise). */
  readonly port: number;
}

/** `undefined` when `url` is not an absolute URL. */
export const urlFacts: (url: string) => UrlFacts | undefined = boundedMemo(parse, 256);

/** A scheme first (after what `URL` trims): anything else (a path, '') is not absolute and would only throw. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: URL parsing trims C0 controls and spaces first; so does this test.
const ABSOLUTE = /^[\x00-\x20]*[a-z][a-z0-9+.-]*:/i;

function parse(url: string): UrlFacts | undefined {
  if (!ABSOLUTE.test(url)) return undefined;
  try {
    const parsed = new URL(url);
    return { hostname: parsed.hostname, port: parsed.port ? Number(parsed.port) : parsed.protocol === 'http:' ? 80 : 443 };
  } catch {
    return undefined;
  }
}
