/**
 * Which provider API a plain HTTP request calls, from its method and URL: a POST to a known
 * API path under a provider's own base URL or one the user listed. Runs for every request the
 * instrumented global `fetch` sees, so anything that is not a POST is turned away first.
 */
import type { HttpEndpoint } from '../core/http-endpoint.js';

export interface MatchedEndpoint {
  readonly endpoint: HttpEndpoint;
  /** The base URL the request was made under (no trailing slash). */
  readonly baseURL: string;
  readonly url: URL;
}

/** `scheme://host[:port]/path` without a trailing slash; `undefined` for what is not an http(s) URL. */
export function normaliseBaseURL(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

export class EndpointMatcher {
  /** Request URL (origin and path) → the endpoint and base it names. */
  private readonly known = new Map<string, { endpoint: HttpEndpoint; baseURL: string }>();

  constructor(endpoints: readonly HttpEndpoint[], baseURLs: readonly string[]) {
    for (const endpoint of endpoints) {
      for (const base of [...endpoint.officialBaseURLs, ...baseURLs]) {
        const baseURL = normaliseBaseURL(base);
        if (baseURL === undefined) continue;
        for (const path of endpoint.paths) {
          const key = `${baseURL}${path}`;
          if (!this.known.has(key)) this.known.set(key, { endpoint, baseURL });
        }
      }
    }
  }

  match(method: string, url: string): MatchedEndpoint | undefined {
    if (method.toUpperCase() !== 'POST') return undefined;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return undefined;
    }
    const found = this.known.get(`${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`);
    return found ? { ...found, url: parsed } : undefined;
  }
}
