/**
 * The raw HTTP response of an SDK request, for callers who read it themselves:
 * `create(...).asResponse()` and the `response` of `create(...).withResponse()`.
 *
 * Its body is observed as the caller reads it (body-tap.ts, node-body.ts), so the request
 * ends with what the body carried instead of waiting for the idle timer, and the caller gets
 * the body the server sent without this package:
 * - `asResponse()`: the caller parses the body, so an injected usage option is taken back out
 *   of the request if it has not been sent yet (injected-option.ts; always in time when
 *   `asResponse()` is called in the same step as `create()`). If it was sent, its traces are
 *   cut from the bytes (web bodies; a Node body cannot be edited and keeps them).
 * - `withResponse()`: most callers iterate `data` and look at `response` only for headers, so
 *   the option stays (usage is then reported); a caller who reads `response.body` instead gets
 *   it with the option's traces cut. The SDK stream is kept alive with the body, so that
 *   collecting the unread stream does not abort the connection being read.
 */
import type { ResponseReader } from './adapter.js';
import type { BodyObservation } from './body-observer.js';
import { BodyTap, watchedReadable } from './body-tap.js';
import type { InjectedOption } from './injected-option.js';
import type { RequestLifecycle } from './lifecycle.js';
import { isNodeReadableBody, observeNodeBody } from './node-body.js';
import { isSdkStream } from './observe-stream.js';
import { bodyFormat, isUnreadWebResponse, rewrapResponse } from './rewrap-response.js';
import { safely } from './safely.js';

export interface RawResponseContext {
  readonly request: RequestLifecycle;
  readonly reader: ResponseReader;
  readonly injected: InjectedOption | undefined;
  /** The caller's abort signal (the request options' `signal`). */
  readonly signal: AbortSignal | undefined;
  /** Receives the tap of a raw body handed out, for the idle timer (held weakly there). */
  readonly tapped: { set(tap: BodyTap): void };
}

interface RawResponseMethods {
  asResponse?: (...args: unknown[]) => unknown;
  withResponse?: (...args: unknown[]) => unknown;
}

/** Puts observing `asResponse` and `withResponse` on the promise returned to the caller. */
export function exposeRawResponses(promise: unknown, context: RawResponseContext): void {
  if (typeof promise !== 'object' || promise === null) return;
  const methods = promise as RawResponseMethods;
  const asResponse = methods.asResponse;
  const withResponse = methods.withResponse;
  // `withResponse` calls `asResponse` itself in most versions: that call is not the caller's.
  let insideWithResponse = false;
  if (typeof asResponse === 'function') {
    define(promise, 'asResponse', function observedAsResponse(this: unknown, ...args: unknown[]): unknown {
      if (insideWithResponse) return asResponse.apply(this, args);
      const hide = safely('withdrawing an injected option', false, () => context.injected !== undefined && !context.injected.withdraw());
      const raw = asResponse.apply(this, args);
      if (!isThenable(raw)) return raw;
      return raw.then((response) => safely('observing a raw response', response, () => observeRaw(response, context, hide, true)));
    });
  }
  if (typeof withResponse === 'function') {
    define(promise, 'withResponse', function observedWithResponse(this: unknown, ...args: unknown[]): unknown {
      let pending: unknown;
      insideWithResponse = true;
      try {
        pending = withResponse.apply(this, args);
      } finally {
        insideWithResponse = false;
      }
      if (!isThenable(pending)) return pending;
      return pending.then((result) => {
        safely('observing a raw response', undefined, () => {
          if (typeof result !== 'object' || result === null || !('response' in result)) return;
          const parts = result as { response: unknown; data?: unknown };
          const hide = context.injected !== undefined && !context.injected.wasWithdrawn;
          parts.response = observeRaw(parts.response, context, hide, false, parts.data);
        });
        return result;
      });
    });
  }
}

/**
 * Observes `response`'s body from the caller's first read. Returns what the caller gets: a
 * web `Response` with the observed body, or the same Node-bodied response observed in place.
 */
function observeRaw(response: unknown, context: RawResponseContext, hide: boolean, own: boolean, keepAlive?: unknown): unknown {
  const { request, reader, injected, signal } = context;
  // An ended request has nothing left to count; only an option's traces would still matter.
  if (request.ended && !hide) return response;
  if (typeof response !== 'object' || response === null) return response;
  const headers = (response as { headers?: { get?: unknown } }).headers;
  if (typeof headers?.get !== 'function') return response;
  const format = bodyFormat(headers as Headers);
  if (format === undefined) return response;
  const observation: BodyObservation = {
    request,
    reader,
    format,
    signal,
    hiddenNullField: hide && format === 'sse' ? injected?.injection.nullField : undefined,
  };
  if (isUnreadWebResponse(response)) {
    // The original response lives as long as the tap: collecting it would cancel its unread body.
    const tap = new BodyTap(response.body!, observation, keepAlive === undefined ? response : [response, keepAlive]);
    context.tapped.set(tap);
    // Only `asResponse()` hands out the one way to this body; a `withResponse()` caller
    // usually reads `data` and drops `response`, which must not end anything.
    const body = own ? watchedReadable(tap, request) : tap.readable();
    return rewrapResponse(response, body);
  }
  const nodeBody = (response as { body?: unknown; bodyUsed?: unknown }).body;
  if (isNodeReadableBody(nodeBody) && (response as { bodyUsed?: unknown }).bodyUsed !== true) {
    // A Node body is the one the SDK stream reads too: once that stream is iterated, its
    // reads are its own (observed there), not the caller's.
    observeNodeBody(nodeBody, observation, keepAlive, isSdkStream(keepAlive) ? iterationStarted(keepAlive) : undefined);
  }
  return response;
}

/** Whether `stream` has been iterated, from now on (its own `iterator` factory, wrapped once more). */
function iterationStarted(stream: { iterator: (...args: unknown[]) => AsyncIterator<unknown> }): () => boolean {
  let started = false;
  const source = stream.iterator;
  stream.iterator = function iteratorStarted(this: unknown, ...args: unknown[]) {
    started = true;
    return source.apply(this, args);
  };
  return () => started;
}

/**
 * An own method on the promise, by assignment: `Object.defineProperty` is a runtime call each
 * time (about 1 µs of each `create()` for the two methods), an assignment a cached transition.
 * The methods are then enumerable own properties of the promise, which nothing enumerates.
 */
function define(target: object, name: 'asResponse' | 'withResponse', value: (...args: unknown[]) => unknown): void {
  (target as RawResponseMethods)[name] = value;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}
