/**
 * The hook's body, shared by every patched SDK method: plan the call with the provider
 * adapter, start the record, call the SDK inside the span's context, and observe what
 * comes back without changing its type.
 *
 * The SDKs return an `APIPromise` (lazy parsing, `withResponse()`, `asResponse()`, used
 * by their own helpers). Observing it through its own `_thenUnwrap` returns another
 * `APIPromise` of the same class, so all of that keeps working; a plain `.then()` would
 * not. Failures before a body exists are seen on `responsePromise`, a passive listen that
 * neither consumes the body nor changes what the caller receives.
 */
import { context, trace } from '@opentelemetry/api';
import { admitRequest, type Admission } from '../budget/admit.js';
import type { Budget } from '../budget/budget.js';
import type { AdapterOptions, PlanCall, ResponseReader } from './adapter.js';
import { countingAttempts } from './attempts.js';
import { isAbortError, isSdkStream, observeStream } from './observe-stream.js';
import type { RequestRecord } from './record.js';
import { refusedCall } from './refused-call.js';
import type { RequestTracker } from './tracker.js';
import { logInternalError, safely } from './safely.js';
import { watchIdle } from './watchdog.js';

interface ApiPromiseLike extends PromiseLike<unknown> {
  _thenUnwrap?: (transform: (value: unknown, props: unknown) => unknown) => unknown;
  responsePromise?: PromiseLike<unknown>;
}

export type SdkMethod = (this: unknown, ...args: unknown[]) => unknown;

const NO_BUDGETS: readonly Budget[] = [];

export function instrumentMethod(original: SdkMethod, plan: PlanCall, tracker: RequestTracker): SdkMethod {
  return function instrumented(this: unknown, ...args: unknown[]): unknown {
    if (!tracker.enabled) return original.apply(this, args);
    const options: AdapterOptions = tracker.adapterOptions;
    let call = safely('planning a request', undefined, () => plan(args[0], this, options, args));
    if (!call) return original.apply(this, args);
    const budgets = safely('finding budgets', NO_BUDGETS, () => tracker.budgets());
    let admission: Admission | undefined;
    if (budgets.length > 0) {
      const planned = call;
      const replan = (body: unknown) => plan(body, this, options, [body, ...args.slice(1)]);
      const pricing = tracker.pricing;
      admission = safely('checking budgets', undefined, () => admitRequest(planned, budgets, args[0], replan, pricing));
      if (admission) call = admission.call;
    }
    const started = call;
    const record = safely('starting a span', undefined, () => tracker.start(started));
    if (admission) {
      const { guard, refusal } = admission;
      if (refusal) {
        // Refused before sending: the span ends now, and the caller gets the budget's error
        // through an object that answers like the SDK's own promise.
        if (record) {
          record.budget = guard;
          record.sent = false;
          record.finish('budget_exceeded', refusal);
        }
        return refusedCall(refusal);
      }
      if (record) {
        record.budget = guard;
        safely('watching a budget', undefined, () => guard.attach(record));
      } else safely('releasing a budget', undefined, () => guard.settle(undefined, undefined));
    }
    if (!record) return original.apply(this, args);

    const sentArgs = call.body === args[0] ? args : [call.body, ...args.slice(1)];
    let result: unknown;
    try {
      const requestContext = countingAttempts(trace.setSpan(context.active(), record.span), record);
      result = context.with(requestContext, () => original.apply(this, sentArgs));
    } catch (error) {
      record.finish(isAbortError(error) ? 'cancelled' : 'error', error);
      throw error;
    }
    return safely('observing a response', result, () =>
      observeResult(result, record, record.content?.observing(call.reader) ?? call.reader, optionsSignal(args[1]), tracker.idleTimeoutMs),
    );
  };
}

function optionsSignal(options: unknown): AbortSignal | undefined {
  if (typeof options !== 'object' || options === null) return undefined;
  const signal = (options as { signal?: unknown }).signal;
  return signal instanceof AbortSignal ? signal : undefined;
}

function observeResult(
  result: unknown,
  record: RequestRecord,
  reader: ResponseReader,
  signal: AbortSignal | undefined,
  idleMs: number,
): unknown {
  if (!isThenable(result)) {
    record.finish('completed');
    return result;
  }
  if (signal) {
    const onAbort = () => record.finish('cancelled');
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    record.onFinish(() => signal.removeEventListener('abort', onAbort));
  }

  const onValue = (value: unknown): unknown => {
    try {
      if (isSdkStream(value)) observeStream(value, record, reader);
      else {
        reader.readResponse(value, record);
        record.finish('completed');
      }
    } catch (error) {
      logInternalError('reading a response', error);
      record.finish('completed');
    }
    return value;
  };
  const onFailure = (error: unknown): void => record.finish(isAbortError(error) ? 'cancelled' : 'error', error);

  // Until the response arrives the request is in flight, not idle; after that, a body
  // nobody parses (for example `asResponse()` alone) ends as abandoned.
  record.pending++;
  watchIdle(record, idleMs);
  const settled = () => {
    record.pending--;
  };

  if (typeof result._thenUnwrap === 'function') {
    result.responsePromise?.then(settled, (error: unknown) => {
      settled();
      onFailure(error);
    });
    if (!result.responsePromise) settled();
    return result._thenUnwrap((value) => onValue(value));
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
