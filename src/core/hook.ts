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
import type { PlanCall, PlannedCall, ResponseReader } from './adapter.js';
import { countingAttempts } from './attempts.js';
import { InjectedOption } from './injected-option.js';
import type { RequestLifecycle } from './lifecycle.js';
import { isAbortError, isSdkStream, observeStream } from './observe-stream.js';
import { exposeRawResponses } from './raw-response.js';
import { runRecorded } from './recorded-request.js';
import { refusedCall } from './refused-call.js';
import type { RequestRuntime } from './runtime.js';
import { logInternalError, safely } from './safely.js';
import { TappedBody, UnreadResponse } from './unread-response.js';
import { isDict } from './values.js';
import { watchIdle } from './watchdog.js';

interface ApiPromiseLike extends PromiseLike<unknown> {
  _thenUnwrap?: (transform: (value: unknown, props: unknown) => unknown) => unknown;
  responsePromise?: PromiseLike<unknown>;
}

export type SdkMethod = (this: unknown, ...args: unknown[]) => unknown;

export function instrumentMethod(original: SdkMethod, plan: PlanCall, runtime: RequestRuntime): SdkMethod {
  return function instrumented(this: unknown, ...args: unknown[]): unknown {
    const settings = runtime.providerSettings;
    let planned: PlannedCall | undefined;
    try {
      planned = plan(args[0], this, settings, args);
    } catch (error) {
      logInternalError('planning a request', error);
    }
    if (!planned) return original.apply(this, args);
    // Only budgets rewrite a request (a fallback's model): the closure is made only for them.
    const replan = runtime.watcher ? (body: unknown) => plan(body, this, settings, withFirst(args, body)) : noReplan;
    const parent = context.active();
    const begun = runtime.begin(planned, args[0], replan, parent);
    if (!begun) return original.apply(this, args);
    // Refused before sending: the caller gets the watch's error through an object that
    // answers like the SDK's own promise.
    if (begun.refusal) return refusedCall(begun.refusal);
    const { request, call } = begun;

    const sentArgs = call.body === args[0] ? args : withFirst(args, call.body);
    const injected = call.injection && isDict(call.body) ? new InjectedOption(call.body, call.injection) : undefined;
    let result: unknown;
    try {
      const requestContext = countingAttempts(trace.setSpan(parent, request.span), request);
      // Marked as recorded: the `fetch` the SDK calls (costFetch, the global fetch) passes it by.
      result = runRecorded(requestContext, () => original.apply(this, sentArgs));
    } catch (error) {
      request.end(isAbortError(error) ? 'cancelled' : 'error', error);
      throw error;
    }
    try {
      const reader = request.content?.observing(call.reader) ?? call.reader;
      return observeResult(result, request, reader, optionsSignal(args[1]), runtime.idleTimeoutMs, injected);
    } catch (error) {
      logInternalError('observing a response', error);
      return result;
    }
  };
}

const noReplan = (): undefined => undefined;

/** `args` with `first` in place of its first element. */
function withFirst(args: readonly unknown[], first: unknown): unknown[] {
  const copy = args.slice();
  copy[0] = first;
  return copy;
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
  if (reader.attach) safely('attaching a reader', undefined, () => reader.attach?.(request));

  // The raw response, once it arrives: what an unread stream had received is read from it
  // when the stream is collected. Held in its own object, so nothing here reaches the stream.
  const unread = new UnreadResponse(request, reader);
  // A raw body handed out (asResponse) can count what it had received when the timer ends it.
  const tapped = new TappedBody();
  const onValue = (value: unknown): unknown => {
    try {
      if (isSdkStream(value)) observeStream(value, request, reader, () => unread.count());
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
  const onFailure = (error: unknown): void => {
    request.readSettled();
    request.end(isAbortError(error) ? 'cancelled' : 'error', error);
  };
  // Until the response arrives the request is in flight, never idle; from then on, a body
  // nobody parses (for example `asResponse()` alone) ends as abandoned. The span starts then
  // at the latest (`DeferredSpan`): nothing of either has to run while the caller waits.
  request.readStarted();
  const responded = (): void => {
    request.readSettled();
    request.span.start();
    watchIdle(request, idleMs, () => tapped.count());
  };

  if (typeof result._thenUnwrap === 'function') {
    if (result.responsePromise) {
      result.responsePromise.then((props: unknown) => {
        responded();
        unread.responded(props);
      }, onFailure);
    } else responded();
    const observed = result._thenUnwrap(onValue);
    // Not in a closure: nothing kept with the request may reach the promise (and its stream).
    try {
      exposeRawResponses(observed, { request, reader, injected, signal, tapped });
    } catch (error) {
      logInternalError('observing raw responses', error);
    }
    return observed;
  }
  // Not an APIPromise (an SDK helper returned a plain promise): observe it the plain way.
  return Promise.resolve(result).then(
    (value) => {
      responded();
      return onValue(value);
    },
    (error: unknown) => {
      onFailure(error);
      throw error;
    },
  );
}

function isThenable(value: unknown): value is ApiPromiseLike {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}
