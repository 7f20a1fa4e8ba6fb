/**
 * Ends requests nobody consumes: a stream that is never iterated keeps its connection
 * (and would keep its span) open forever. The timer never keeps the process alive, and
 * costs nothing per chunk: chunks only bump a counter that the timer compares.
 */
import type { RequestLifecycle } from './lifecycle.js';

interface Collected {
  readonly request: RequestLifecycle;
  /** The stream's own controller: aborting it closes the connection the stream held. */
  readonly controller: AbortController;
}

// One registry for the process: a FinalizationRegistry holds nothing but what is registered
// with it, and every entry leaves when its request ends.
const collected = new FinalizationRegistry<Collected>(({ request, controller }) => {
  request.end('abandoned');
  try {
    controller.abort();
  } catch {
    // the connection is gone already
  }
});

/** Ends `request` as `abandoned` after `idleMs` with no activity and nothing in flight. */
export function watchIdle(request: RequestLifecycle, idleMs: number): void {
  let seen = request.activityCount;
  const timer = setTimeout(function check() {
    if (request.ended) return;
    if (request.readsInFlight > 0 || request.activityCount !== seen) {
      seen = request.activityCount;
      timer.refresh();
      return;
    }
    request.end('abandoned');
  }, idleMs);
  timer.unref();
  request.onEnd(() => clearTimeout(timer));
}

/**
 * Ends `request` as `abandoned` if `owner` (the SDK's stream) is garbage collected first,
 * and closes its connection. Nothing this package keeps may reach `owner`, or it is never
 * collected: `controller` must be the stream's controller, not the stream.
 */
export function watchCollected(owner: object, request: RequestLifecycle, controller: AbortController): void {
  const token = {};
  collected.register(owner, { request, controller }, token);
  request.onEnd(() => collected.unregister(token));
}
