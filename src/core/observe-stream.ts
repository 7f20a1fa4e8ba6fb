/**
 * Watches an SDK stream without changing what it is. Both SDKs' `Stream` reads chunks
 * through its own `iterator` factory: `[Symbol.asyncIterator]`, `tee()`,
 * `toReadableStream()`, the `.stream()` helpers, openai 7's normalising iterator and
 * Anthropic's native tracing all go through it. Replacing that one own property (no
 * Proxy, no new object) is therefore the single point that sees every chunk, every
 * `return()` and every error, whichever API the consumer uses.
 */
import type { ResponseReader } from './adapter.js';
import type { StreamOutcome } from './model.js';
import { nowMs, type RequestBudget, type RequestRecord } from './record.js';
import { logInternalError } from './safely.js';
import { watchCollected } from './watchdog.js';

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

export function observeStream(stream: SdkStream, record: RequestRecord, reader: ResponseReader): void {
  const signal = stream.controller.signal;
  const source = stream.iterator;
  let claimed = false;
  stream.iterator = function observedIterator(this: unknown, ...args: unknown[]) {
    const inner = source.apply(this, args);
    // The SDK refuses a second iteration itself; only the first one is ours to watch.
    if (claimed) return inner;
    claimed = true;
    return observeIterator(inner, record, reader, stream.controller);
  };

  // With a read in flight, let that read decide: the SDK aborts its own controller while
  // unwinding from a network error too, and the read then rejects with the real cause.
  const onAbort = () => {
    if (record.pending === 0) record.finish('cancelled');
  };
  if (signal.aborted) onAbort();
  else {
    signal.addEventListener('abort', onAbort, { once: true });
    record.onFinish(() => signal.removeEventListener('abort', onAbort));
  }
  // The idle timer was armed when the request started (instrument-call.ts); a stream
  // object adds the one thing a timer cannot see: being garbage collected unread.
  watchCollected(stream, record);
}

function observeIterator(
  inner: AsyncIterator<unknown>,
  record: RequestRecord,
  reader: ResponseReader,
  controller: AbortController,
): AsyncIterableIterator<unknown> {
  const signal = controller.signal;
  const endedBy = (fallback: StreamOutcome): StreamOutcome => (signal.aborted ? 'cancelled' : fallback);

  // Plain `.then` chains rather than `async` functions: one promise per chunk instead of
  // three, each of which the context manager's promise hooks would otherwise pay for.
  const onStep = (step: IteratorResult<unknown>): IteratorResult<unknown> | Promise<IteratorResult<unknown>> => {
    if (step.done) {
      record.pending--;
      record.finish(endedBy(record.sawTerminal ? 'completed' : record.unterminatedOutcome));
      return step;
    }
    const visible = readChunk(step.value, record, reader);
    if (visible) {
      record.pending--;
      record.chunks++;
    }
    if (record.budget !== undefined) stopIfOverBudget(record, record.budget, inner, controller);
    if (visible) return step;
    if (record.stoppedBy) {
      record.pending--;
      throw record.stoppedBy;
    }
    // A chunk the consumer must not see (the injected usage chunk): read on.
    return inner.next().then(onStep, onError);
  };
  const onError = (error: unknown): never => {
    record.pending--;
    record.finish(isAbortError(error) ? 'cancelled' : 'error', error);
    throw error;
  };

  const observed: AsyncIterableIterator<unknown> = {
    next(...args: [] | [unknown]) {
      // The chunk that crossed the limit was delivered; the read after it gets the budget's error.
      if (record.stoppedBy) return Promise.reject(record.stoppedBy);
      record.pending++;
      let step: Promise<IteratorResult<unknown>>;
      try {
        step = inner.next(...args);
      } catch (error) {
        return Promise.resolve().then(() => onError(error));
      }
      return step.then(onStep, onError);
    },
    async return(value?: unknown) {
      record.finish(endedBy('broken'));
      return inner.return ? inner.return(value) : { done: true, value };
    },
    async throw(error?: unknown) {
      record.finish(endedBy('broken'));
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
 * A budget's verdict after a chunk: once over the limit, the request ends as
 * `budget_exceeded` and its HTTP request is aborted at once, so the provider stops
 * generating (and billing); the consumer learns of it on its next read.
 */
function stopIfOverBudget(
  record: RequestRecord,
  budget: RequestBudget,
  inner: AsyncIterator<unknown>,
  controller: AbortController,
): void {
  let error: Error | undefined;
  try {
    error = budget.check(record);
  } catch (failure) {
    logInternalError('checking a budget', failure);
  }
  if (!error) return;
  record.stoppedBy = error;
  record.finish('budget_exceeded', error);
  controller.abort();
  // Let the SDK's own iterator unwind (its `finally` releases the response body).
  try {
    inner.return?.()?.catch(() => undefined);
  } catch {
    // the abort above already released the request
  }
}

/** The per-chunk hot path: one counter bump and the adapter's reader. */
function readChunk(chunk: unknown, record: RequestRecord, reader: ResponseReader): boolean {
  record.activity++;
  if (record.firstChunkAt === undefined) record.firstChunkAt = nowMs();
  try {
    return reader.readChunk(chunk, record);
  } catch (error) {
    logInternalError('reading a stream chunk', error);
    return true;
  }
}
