/**
 * The hook's body, shared by every patched SDK method: plan the call with the provider
 * adapter, let the watcher (budgets) admit it, start the request, call the SDK inside the
 * span's context, and observe what comes back without changing its type.
 *
 * The SDKs return an `APIPromise` (lazy parsing, `withResponse()`, `asResponse()`, used
 * by their own helpers). Observing it through its own `_thenUnwrap` returns another
 * `APIPromise` of the same class, so all of that keeps working; a plain `.then()` would
 * not. Failures before a body exists are seen on `responsePromise`, a passive listen that
 * neither consumes the body nor changes what the caller receives.
 */
import { context, trace } from '@opentelemetry/api';
import type { PlanCall, ResponseReader } from './adapter.js';
import { countingAttempts } from './attempts.js';
import { InjectedOption } from './injected-option.js';
import type { RequestLifecycle } from './lifecycle.js';
import { isAbortError, isSdkStream, observeStream } from './observe-stream.js';
import { exposeRawResponses } from './raw-response.js';
import { runRecorded } from './recorded-request.js';
import { refusedCall } from './refused-call.js';
import type { RequestRuntime } from './runtime.js';
import { logInternalError, safely } from './safely.js';
import { countUnreadResponse, tapCounter } from './unread-response.js';
import { watchIdle } from './watchdog.js';

interface ApiPromiseLike extends PromiseLike<unknown> {
  _thenUnwrap?: (transform: (value: unknown, props: unknown) => unknown) => unknown;
  responsePromise?: PromiseLike<unknown>;
}

export type SdkMethod = (this: unknown, ...args: unknown[]) => unknown;

export function instrumentMethod(original: SdkMethod, plan: PlanCall, runtime: RequestRuntime): SdkMethod {
  return function instrumented(this: unknown, ...args: unknown[]): unknown {
    const settings = runtime.providerSettings;
    const planned = safely('planning a request', undefined, () => plan(args[0], this, settings, args));
    if (!planned) return original.apply(this, args);
    const replan = (body: unknown) => plan(body, this, settings, [body, ...args.slice(1)]);
    const begun = runtime.begin(planned, args[0], replan);
    if (!begun) return original.apply(this, args);
    // Refused before sending: the caller gets the watch's error through an object that
    // answers like the SDK's own promise.
    if (begun.refusal) return refusedCall(begun.refusal);
    const { request, call } = begun;

    const sentArgs = call.body === args[0] ? args : [call.body, ...args.slice(1)];
    const injection = call.injection;
    const injected = injection ? safely('watching an injected option', undefined, () => InjectedOption.watch(call.body, injection)) : undefined;
    let result: unknown;
    try {
      const requestContext = countingAttempts(trace.setSpan(context.active(), request.span), request);
      // Marked as recorded: the `fetch` the SDK calls (costFetch, the global fetch) passes it by.
      result = runRecorded(requestContext, () => original.apply(this, sentArgs));
    } catch (error) {
      request.end(isAbortError(error) ? 'cancelled' : 'error', error);
      throw error;
    }
    const reader = request.content?.observing(call.reader) ?? call.reader;
    return safely('observing a response', result, () => observeResult(result, request, reader, optionsSignal(args[1]), runtime.idleTimeoutMs, injected));
  };
}

function optionsSignal(options: unknown): AbortSignal | undefined {
  if (typeof options !== 'object' || options === null) return undefined;
  const signal = (options as { signal?: unknown }).signal;
  return signal instanceof AbortSignal ? signal : undefined;
}

function observeResult(
  result: unknown,
  request: RequestLifecycle,
  reader: ResponseReader,
  signal: AbortSignal | undefined,
  idleMs: number,
  injected: InjectedOption | undefined,
): unknown {
  if (!isThenable(result)) {
    request.end('completed');
    return result;
  }
  if (signal) request.followAbort(signal);
  safely('attaching a reader', undefined, () => reader.attach?.(request));

  // The raw response, once it arrives: what an unread stream had received is read from it
  // when the stream is collected. Held in its own object, so nothing here reaches the stream.
  const arrived = countUnreadResponse(request, reader);
  const onValue = (value: unknown): unknown => {
    try {
      if (isSdkStream(value)) observeStream(value, request, reader, arrived.count);
      else {
        reader.readResponse(value, request);
        request.end('completed');
      }
    } catch (error) {
      logInternalError('reading a response', error);
      request.end('completed');
    }
    return value;
  };
  const onFailure = (error: unknown): void => request.end(isAbortError(error) ? 'cancelled' : 'error', error);

  // Until the response arrives the request is in flight, not idle; after that, a body
  // nobody parses (for example `asResponse()` alone) ends as abandoned.
  request.readStarted();
  // A raw body handed out (asResponse) can count what it had received when the timer ends it.
  const rawBody = tapCounter();
  watchIdle(request, idleMs, rawBody.count);
  const settled = () => request.readSettled();

  if (typeof result._thenUnwrap === 'function') {
    if (result.responsePromise) {
      result.responsePromise.then(
        (props: unknown) => {
          settled();
          arrived.responded(props);
        },
        (error: unknown) => {
          settled();
          onFailure(error);
        },
      );
    } else settled();
    const observed = result._thenUnwrap((value) => onValue(value));
    // Not in a closure: nothing kept with the request may reach the promise (and its stream).
    try {
      exposeRawResponses(observed, { request, reader, injected, signal, tapped: rawBody.set });
    } catch (error) {
      logInternalError('observing raw responses', error);
    }
    return observed;
  }
  // Not an APIPromise (an SDK helper returned a plain promise): observe it the plain way.
  return Promise.resolve(result).then(
    (value) => {
      settled();
      return onValue(value);
    },
    (error: unknown) => {
      settled();
      onFailure(error);
      throw error;
    },
  );
}

function isThenable(value: unknown): value is ApiPromiseLike {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}
