/**
 * Ends requests nobody consumes: a stream that is never iterated keeps its connection
 * (and would keep its span) open forever. The timer never keeps the process alive, and
 * costs nothing per chunk: chunks only bump a counter that the timer compares.
 */
import type { RequestRecord } from './record.js';

const collected = new FinalizationRegistry<RequestRecord>((record) => record.finish('abandoned'));

/** Ends `record` as `abandoned` after `idleMs` with no activity and nothing in flight. */
export function watchIdle(record: RequestRecord, idleMs: number): void {
  let seen = record.activity;
  const timer = setTimeout(function check() {
    if (record.finished) return;
    if (record.pending > 0 || record.activity !== seen) {
      seen = record.activity;
      timer.refresh();
      return;
    }
    record.finish('abandoned');
  }, idleMs);
  timer.unref();
  record.onFinish(() => clearTimeout(timer));
}

/** Ends `record` as `abandoned` if `owner` (the SDK's stream) is garbage collected first. */
export function watchCollected(owner: object, record: RequestRecord): void {
  const token = {};
  collected.register(owner, record, token);
  record.onFinish(() => collected.unregister(token));
}
