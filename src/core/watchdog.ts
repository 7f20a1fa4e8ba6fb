/**
 * Ends requests nobody consumes: a stream that is never iterated keeps its connection
 * (and would keep its span) open forever. The timer never keeps the process alive, and
 * costs nothing per chunk: chunks only bump a counter that the timer compares.
 *
 * Before such a request ends, `countArrived` (where given) reads what its body had already
 * received, without waiting for the network, and counts it: those events were generated and
 * billed although nobody read them. Bounded by `COUNT_ARRIVED_MS`.
 */
import type { RequestLifecycle } from './lifecycle.js';
import { logInternalError } from './safely.js';

/** Counts what an unread body had received; `undefined` when there is nothing to read. */
export type CountArrived = () => Promise<void> | undefined;

/** The longest an abandoned request waits for what had arrived to be counted. */
const COUNT_ARRIVED_MS = 1000;

interface Collected {
  readonly request: RequestLifecycle;
  /** The stream's own controller: aborting it closes the connection the stream held. */
  readonly controller: AbortController;
  readonly countArrived: CountArrived | undefined;
  /** True when something else still reads the body (the owner was only one way to it): nothing ends then. */
  readonly readElsewhere: (() => boolean) | undefined;
}

// One registry for the process: a FinalizationRegistry holds nothing but what is registered
// with it, and every entry leaves when its request ends.
const collected = new FinalizationRegistry<Collected>(({ request, controller, countArrived, readElsewhere }) => {
  try {
    if (readElsewhere?.()) return;
  } catch {
    // unknown: treat as unread
  }
  endUnread(request, countArrived, () => {
    try {
      controller.abort();
    } catch {
      // the connection is gone already
    }
  });
});

/** Ends `request` as `abandoned` after `idleMs` with no activity and nothing in flight. */
export function watchIdle(request: RequestLifecycle, idleMs: number, countArrived?: CountArrived): void {
  if (request.ended) return;
  let seen = request.activityCount;
  const timer = setTimeout(function check() {
    if (request.ended) return;
    if (request.readsInFlight > 0 || request.activityCount !== seen) {
      seen = request.activityCount;
      timer.refresh();
      return;
    }
    endUnread(request, countArrived);
  }, idleMs);
  timer.unref();
  request.onEnd(() => clearTimeout(timer));
}

/**
 * Ends `request` as `abandoned` if `owner` (the SDK's stream) is garbage collected first,
 * and closes its connection. Nothing this package keeps may reach `owner`, or it is never
 * collected: `controller` must be the stream's controller, not the stream, and
 * `countArrived` must not reach it either.
 */
export function watchCollected(
  owner: object,
  request: RequestLifecycle,
  controller: AbortController,
  countArrived?: CountArrived,
  readElsewhere?: () => boolean,
): void {
  const token = {};
  collected.register(owner, { request, controller, countArrived, readElsewhere }, token);
  request.onEnd(() => collected.unregister(token));
}

function endUnread(request: RequestLifecycle, countArrived: CountArrived | undefined, then?: () => void): void {
  const finish = () => {
    request.end('abandoned');
    then?.();
  };
  let counting: Promise<void> | undefined;
  try {
    counting = countArrived?.();
  } catch (error) {
    logInternalError('counting what an unread response had received', error);
  }
  if (!counting) {
    finish();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, COUNT_ARRIVED_MS);
    timer.unref();
  });
  Promise.race([counting.catch((error: unknown) => logInternalError('counting what an unread response had received', error)), bound]).then(() => {
    clearTimeout(timer);
    finish();
  }, finish);
}
