/**
 * Host name and port of a URL string, parsed once per distinct string. A client's base URL
 * is the same on every request, and `new URL` (plus a thrown TypeError for a string that is
 * not absolute) was the largest single part of planning a request.
 *
 * The cache holds only what a pure function returns for its argument, so sharing it across
 * instrumentation instances changes no result; it is bounded so that a process that builds
 * URLs per request cannot make it grow.
 */
export interface UrlFacts {
  /** `URL.hostname`, as given (IPv6 in brackets). */
  readonly hostname: string;
  /** The explicit port, or the scheme's default (80 for http:, 443 otherwise). */
  readonly port: number;
}

const MAX_CACHED = 256;

/** `undefined` when `url` is not an absolute URL. */
export function urlFacts(url: string): UrlFacts | undefined {
  const known = cache.get(url);
  if (known !== undefined || cache.has(url)) return known;
  const facts = parse(url);
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(url, facts);
  return facts;
}

const cache = new Map<string, UrlFacts | undefined>();

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
