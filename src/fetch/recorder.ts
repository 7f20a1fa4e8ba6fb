/**
 * Records provider requests made with plain `fetch` (the Vercel AI SDK, hand-written
 * clients) on the same path as the SDK hooks: the provider's plan, the budget watcher's
 * admission, `RequestRuntime.start` (same span, attributes, metrics, `onCost`), and the
 * response body read as it passes (core/body-tap.ts) by the same provider readers.
 *
 * What the caller gets is what `fetch` gave, with the body observed: the same bytes, the same
 * end, errors and cancellation; a budget stop cancels the body and errors the caller's next
 * read with the budget's error. A request something already records (a hooked SDK call, an
 * outer `costFetch`) passes straight through.
 */
import { context, trace } from '@opentelemetry/api';
import type { PlannedCall, ProviderSettings, ResponseReader } from '../core/adapter.js';
import { countingAttempts } from '../core/attempts.js';
import { BodyTap, watchedReadable } from '../core/body-tap.js';
import type { HttpEndpoint } from '../core/http-endpoint.js';
import type { RequestLifecycle } from '../core/lifecycle.js';
import { isAbortError } from '../core/observe-stream.js';
import { insideRecordedRequest, runRecorded } from '../core/recorded-request.js';
import { bodyFormat, isUnreadWebResponse, rewrapResponse } from '../core/rewrap-response.js';
import type { RequestRuntime } from '../core/runtime.js';
import { logInternalError, safely } from '../core/safely.js';
import { isDict } from '../core/values.js';
import { watchIdle } from '../core/watchdog.js';
import { EndpointMatcher, type MatchedEndpoint } from './endpoint-match.js';
import { httpStatusError } from './http-error.js';
import { readRequestText, type RequestText } from './request-body.js';

export type FetchFunction = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export interface FetchCall {
  /** The `fetch` that sends the request. */
  readonly inner: FetchFunction;
  /**
   * The inner `fetch` is this runtime's own (it answers with this runtime's `Response`),
   * so an injected usage option can be hidden from the body: only then is one injected.
   */
  readonly ownRuntimeFetch: boolean;
  /** Base URLs listed for this wrapper, besides the instrumentation's `fetchBaseURLs`. */
  readonly baseURLs: readonly string[];
}

interface Started {
  readonly request: RequestLifecycle;
  readonly call: PlannedCall;
  /** The body to send in place of the caller's, when the plan or a budget changed it. */
  readonly sentBody: unknown;
}

export class FetchRecorder {
  private matchers = new Map<string, EndpointMatcher>();

  constructor(
    private readonly runtime: RequestRuntime,
    private readonly endpoints: readonly HttpEndpoint[],
    /** The instrumentation's `fetchBaseURLs`, read at each request. */
    private readonly baseURLs: () => readonly string[],
  ) {}

  /** Sends `input`/`init` through `via.inner`, recording it when it calls a provider API this package knows. */
  async fetch(via: FetchCall, input: string | URL | Request, init?: RequestInit): Promise<Response> {
    if (insideRecordedRequest()) return via.inner(input, init);
    const matched = safely('recognising a request', undefined, () => this.match(via, input, init));
    if (!matched) return via.inner(input, init);
    let text: RequestText | undefined;
    try {
      text = await readRequestText(input, init);
    } catch (error) {
      logInternalError('reading a request body', error);
    }
    if (!text) return via.inner(input, init);
    const readText = text;
    const started = safely('starting a request', undefined, () => this.start(matched, readText, via.ownRuntimeFetch));
    if (!started) return via.inner(input, init);
    if ('refusal' in started) throw started.refusal;
    return this.send(via, input, init, started);
  }

  private match(via: FetchCall, input: string | URL | Request, init: RequestInit | undefined): MatchedEndpoint | undefined {
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    const url = input instanceof Request ? input.url : String(input);
    return this.matcher(via.baseURLs).match(method, url);
  }

  /** One matcher per list of base URLs (the instrumentation's plus the wrapper's), built once. */
  private matcher(extra: readonly string[]): EndpointMatcher {
    const bases = [...this.baseURLs(), ...extra];
    const key = bases.join('\n');
    let matcher = this.matchers.get(key);
    if (!matcher) {
      // Bounded: the lists come from configuration and `costFetch` calls, not from requests.
      if (this.matchers.size >= 64) this.matchers.clear();
      matcher = new EndpointMatcher(this.endpoints, bases);
      this.matchers.set(key, matcher);
    }
    return matcher;
  }

  /** Plans, admits and starts the request; a refusal comes back for the caller to receive. */
  private start(matched: MatchedEndpoint, text: RequestText, ownRuntimeFetch: boolean): Started | { refusal: Error } | undefined {
    let body: unknown;
    try {
      body = JSON.parse(text.text);
    } catch {
      return undefined; // not JSON: not a request we can read
    }
    if (!isDict(body) || Array.isArray(body)) return undefined;
    const replace = text.replace;
    const resource = endpointResource(matched);
    const settings: ProviderSettings = {
      // Injected only where its traces can be cut from the body the caller reads.
      injectStreamUsage: this.runtime.providerSettings.injectStreamUsage && replace !== undefined && ownRuntimeFetch,
    };
    const plan = (candidate: unknown): PlannedCall | undefined => {
      const planned = matched.endpoint.plan(candidate, resource, settings, [candidate]);
      // A body that cannot be replaced cannot be rewritten by a budget either.
      return planned && replace === undefined ? { ...planned, rewrite: undefined } : planned;
    };
    const planned = plan(body);
    if (!planned) return undefined;
    const begun = this.runtime.begin(planned, body, plan);
    if (!begun || begun.refusal) return begun;
    const { request, call } = begun;
    const sentBody = call.body !== body && replace ? replace(JSON.stringify(call.body)) : undefined;
    return { request, call, sentBody };
  }

  private async send(via: FetchCall, input: string | URL | Request, init: RequestInit | undefined, started: Started): Promise<Response> {
    const { request, call } = started;
    const sentInit = started.sentBody === undefined ? init : { ...init, body: started.sentBody as RequestInit['body'] };
    const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined) ?? undefined;
    const reader = request.content?.observing(call.reader) ?? call.reader;
    const tapped: { tap?: BodyTap } = {};
    safely('watching a request', undefined, () => this.watch(request, reader, signal, tapped));
    let response: Response;
    try {
      const requestContext = countingAttempts(trace.setSpan(context.active(), request.span), request);
      response = await runRecorded(requestContext, () => via.inner(input, sentInit));
    } catch (error) {
      request.readSettled();
      request.end(signal?.aborted === true || isAbortError(error) ? 'cancelled' : 'error', error);
      throw error;
    }
    request.readSettled();
    return safely('observing a response', response, () => observeResponse(response, request, reader, call, signal, tapped));
  }

  private watch(request: RequestLifecycle, reader: ResponseReader, signal: AbortSignal | undefined, tapped: { tap?: BodyTap }): void {
    if (signal) request.followAbort(signal);
    reader.attach?.(request);
    // In flight until the response arrives; after that, a body nobody reads ends as abandoned.
    request.readStarted();
    watchIdle(request, this.runtime.idleTimeoutMs, () => tapped.tap?.countArrived());
  }
}

/**
 * What the caller gets: an error status ends the request at once (its body is the caller's);
 * an SSE or JSON body is observed as it is read.
 */
function observeResponse(
  response: Response,
  request: RequestLifecycle,
  reader: ResponseReader,
  call: PlannedCall,
  signal: AbortSignal | undefined,
  tapped: { tap?: BodyTap },
): Response {
  if (!response.ok) {
    request.end('error', httpStatusError(response.status));
    return response;
  }
  const format = bodyFormat(response.headers);
  if (format === undefined || !isUnreadWebResponse(response)) {
    request.end('completed');
    return response;
  }
  // The original response lives as long as the tap: collecting it would cancel its unread body.
  const tap = new BodyTap(
    response.body!,
    { request, reader, format, signal, hiddenNullField: format === 'sse' ? call.injection?.nullField : undefined },
    response,
  );
  tapped.tap = tap;
  return rewrapResponse(response, watchedReadable(tap, request));
}

/** The client-shaped description of the endpoint the plans read (`_client.baseURL`, Azure's `apiVersion`). */
function endpointResource(matched: MatchedEndpoint): { _client: Record<string, unknown> } {
  const apiVersion = matched.url.searchParams.get('api-version');
  return { _client: { baseURL: matched.baseURL, ...(apiVersion ? { apiVersion } : {}) } };
}
