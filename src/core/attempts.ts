/**
 * Counts the HTTP attempts behind one logical request, the SDK's own retries included.
 *
 * The SDKs retry inside the method we wrap (openai 4–7, @anthropic-ai/sdk: a loop around
 * `fetch` after 408/409/429/5xx and connection errors), so one span already covers every
 * attempt; what it cannot see is how many there were. Node announces every outgoing HTTP
 * request on diagnostics channels: `undici:request:create` for `fetch` (openai ≥5,
 * @anthropic-ai/sdk ≥0.50, and undici passed as a custom fetch) and
 * `http.client.request.start` for `node:http` (node-fetch in openai 4 and older Anthropic
 * SDKs). Both fire synchronously in the async context of the code that sent the request,
 * so the active OpenTelemetry context tells which request an attempt belongs to. Nothing of
 * the SDK is touched, and the user's requests are only looked at, never changed.
 *
 * This needs a context manager (every tracing setup registers one; NodeSDK does). Without
 * one, or with a custom `fetch` that uses neither transport, no attempt is seen and the
 * span carries no attempts attribute: unknown rather than a guess.
 */
import { createContextKey, context as otelContext, type Context } from '@opentelemetry/api';
import { subscribe } from 'node:diagnostics_channel';
import * as sc from '../semconv.js';
import type { RequestLifecycle } from './lifecycle.js';
import { logInternalError } from './safely.js';
import { urlFacts } from './url-facts.js';

const ATTEMPTS_KEY = createContextKey('otel-llm-cost: the request whose HTTP attempts are counted');

const UNDICI_REQUEST_CREATE = 'undici:request:create';
const HTTP_CLIENT_REQUEST_START = 'http.client.request.start';

// Subscribed once per process: the channels are process-wide, and each message finds its
// request through the active context, whichever instrumentation instance started it.
let subscribed = false;

/** `context` with `request` as the request its HTTP attempts count towards. */
export function countingAttempts(context: Context, request: RequestLifecycle): Context {
  if (!subscribed) subscribeOnce();
  return context.setValue(ATTEMPTS_KEY, request);
}

function subscribeOnce(): void {
  subscribed = true;
  try {
    subscribe(UNDICI_REQUEST_CREATE, (message) => {
      const request = (message as { request?: { origin?: unknown; path?: unknown } } | undefined)?.request;
      countAttempt(() => hostOf(request?.origin, request?.path));
    });
    subscribe(HTTP_CLIENT_REQUEST_START, (message) => {
      const request = (message as { request?: { host?: unknown; path?: unknown } } | undefined)?.request;
      countAttempt(() => (typeof request?.host === 'string' ? bare(request.host) : undefined) ?? hostOf(undefined, request?.path));
    });
  } catch (error) {
    logInternalError('subscribing to HTTP diagnostics channels', error);
  }
}

/** Runs on every HTTP request of the process: one context lookup unless it is one of ours. */
function countAttempt(host: () => string | undefined): void {
  try {
    const request = otelContext.active().getValue(ATTEMPTS_KEY) as RequestLifecycle | undefined;
    if (request === undefined || request.ended) return;
    // Another request made on the way (an Azure AD token fetch, a custom fetch's own
    // calls) goes to another host and is not an attempt of this one.
    const expected = request.call.description.attributes[sc.ATTR_SERVER_ADDRESS];
    if (typeof expected === 'string' && host() !== bare(expected)) return;
    request.noteAttempt();
  } catch (error) {
    logInternalError('counting an HTTP attempt', error);
  }
}

/** The host name of an undici origin, or of an absolute request path (a request through a proxy). */
function hostOf(origin: unknown, path: unknown): string | undefined {
  for (const candidate of [path, origin]) {
    if (candidate instanceof URL) return bare(candidate.hostname);
    // A relative path (the usual undici `path`) is skipped without throwing.
    const facts = typeof candidate === 'string' ? urlFacts(candidate) : undefined;
    if (facts) return bare(facts.hostname);
  }
  return undefined;
}

/** IPv6 hosts come bracketed from URLs and bare from `node:http`. */
function bare(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
