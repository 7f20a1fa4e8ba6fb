/**
 * Watches an SDK stream without changing what it is. Both SDKs' `Stream` reads chunks
 * through its own `iterator` factory: `[Symbol.asyncIterator]`, `tee()`,
 * `toReadableStream()`, the `.stream()` helpers, openai 7's normalising iterator and
 * Anthropic's native tracing all go through it. Replacing that one own property (no
 * Proxy, no new object) is therefore the single point that sees every chunk, every
 * `return()` and every error, whichever API the consumer uses.
 */
import type { ResponseReader } from './adapter.js';
import type { RequestLifecycle } from './lifecycle.js';
import type { StreamOutcome } from './model.js';
import { logInternalError } from './safely.js';
import { watchCollected, type CountArrived } from './watchdog.js';

/** The parts of an SDK `Stream` this module touches. */
export interface SdkStream {
  iterator: (...args: unknown[]) => AsyncIterator<unknown>;
  controller: AbortController;
}

export function isSdkStream(value: unknown): value is SdkStream {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<SdkStream>;
  return typeof candidate.iterator === 'function' && typeof candidate.controller?.signal === 'object';
}

/** Errors the SDKs raise when the request was aborted on purpose. */
export function isAbortError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const name = (error as { name?: unknown }).name;
  const ctor = (error as { constructor?: { name?: unknown } }).constructor?.name;
  return name === 'AbortError' || name === 'APIUserAbortError' || ctor === 'APIUserAbortError';
}

/** `countArrived` reads what the response had received if the stream is collected unread (it must not reach the stream). */
export function observeStream(stream: SdkStream, request: RequestLifecycle, reader: ResponseReader, countArrived?: CountArrived): void {
  // Closures below hold the controller, never the stream: a stream nobody reads must stay
  // collectable, or its connection (and the provider's billing) runs to the end unseen.
  const controller = stream.controller;
  const source = stream.iterator;
  let claimed = false;
  stream.iterator = function observedIterator(this: unknown, ...args: unknown[]) {
    const inner = source.apply(this, args);
    // The SDK refuses a second iteration itself; only the first one is ours to watch.
    if (claimed) return inner;
    claimed = true;
    return observeIterator(inner, request, reader, controller);
  };

  request.followAbort(controller.signal);
  // The idle timer was armed when the request started (hook.ts); a stream object adds the
  // one thing a timer cannot see: being garbage collected unread.
  watchCollected(stream, request, controller, countArrived);
}

function observeIterator(
  inner: AsyncIterator<unknown>,
  request: RequestLifecycle,
  reader: ResponseReader,
  controller: AbortController,
): AsyncIterableIterator<unknown> {
  const signal = controller.signal;
  const endedBy = (fallback: StreamOutcome): StreamOutcome => (signal.aborted ? 'cancelled' : fallback);
  const watch = request.watch;
  const present = reader.presentChunk;

  // Plain `.then` chains rather than `async` functions: one promise per chunk instead of
  // three, each of which the context manager's promise hooks would otherwise pay for.
  const onStep = (step: IteratorResult<unknown>): IteratorResult<unknown> | Promise<IteratorResult<unknown>> => {
    if (step.done) {
      request.readSettled();
      request.end(endedBy(request.cleanEndOutcome));
      return step;
    }
    const visible = readChunk(step.value, request, reader);
    request.chunkArrived(visible);
    // A response that is complete is charged in full and never stopped: its consumer has
    // already seen the provider finish (the usage chunk after `finish_reason`, say).
    if (watch !== undefined && !request.sawTerminal && !request.ended) stopIfOver(request, inner, controller);
    if (visible) {
      request.readSettled();
      return present === undefined ? step : presented(step, reader);
    }
    const stopped = request.stopError;
    if (stopped) {
      request.readSettled();
      throw stopped;
    }
    // A chunk the consumer must not see (the injected usage chunk): read on.
    return inner.next().then(onStep, onError);
  };
  const onError = (error: unknown): never => {
    request.readSettled();
    request.end(isAbortError(error) ? 'cancelled' : 'error', error);
    throw error;
  };

  const observed: AsyncIterableIterator<unknown> = {
    // One parameter, not a rest parameter: that would allocate an array on every chunk.
    // (`for await` passes none; an async generator treats `next()` and `next(undefined)` alike.)
    next(value?: unknown) {
      // The chunk that crossed the limit was delivered; the read after it gets the watch's error.
      const stopped = request.stopError;
      if (stopped) return Promise.reject(stopped);
      request.readStarted();
      let step: Promise<IteratorResult<unknown>>;
      try {
        step = inner.next(value);
      } catch (error) {
        return Promise.resolve().then(() => onError(error));
      }
      return step.then(onStep, onError);
    },
    async return(value?: unknown) {
      request.end(endedBy('broken'));
      return inner.return ? inner.return(value) : { done: true, value };
    },
    async throw(error?: unknown) {
      request.end(endedBy('broken'));
      if (inner.throw) return inner.throw(error);
      throw error;
    },
    [Symbol.asyncIterator]() {
      return observed;
    },
  };
  return observed;
}

/**
 * A watch's verdict after a chunk: once over a limit, the request ends as
 * `budget_exceeded` and its HTTP request is aborted at once, so the provider stops
 * generating (and billing); the consumer learns of it on its next read.
 */
function stopIfOver(request: RequestLifecycle, inner: AsyncIterator<unknown>, controller: AbortController): void {
  let error: Error | undefined;
  try {
    error = request.watch?.onChunk(request);
  } catch (failure) {
    logInternalError('checking a budget', failure);
  }
  if (!error) return;
  request.stop(error);
  controller.abort();
  // Let the SDK's own iterator unwind (its `finally` releases the response body).
  try {
    inner.return?.()?.catch(() => undefined);
  } catch {
    // the abort above already released the request
  }
}

/** `step` with the chunk as the consumer receives it (a new result only when it differs). */
function presented(step: IteratorResult<unknown>, reader: ResponseReader): IteratorResult<unknown> {
  let value: unknown;
  try {
    value = reader.presentChunk!(step.value);
  } catch (error) {
    logInternalError('presenting a stream chunk', error);
    return step;
  }
  return value === step.value ? step : { done: false, value };
}

/** The per-chunk hot path: the adapter's reader, which must never throw into the stream. */
function readChunk(chunk: unknown, request: RequestLifecycle, reader: ResponseReader): boolean {
  try {
    return reader.readChunk(chunk, request);
  } catch (error) {
    logInternalError('reading a stream chunk', error);
    return true;
  }
}
