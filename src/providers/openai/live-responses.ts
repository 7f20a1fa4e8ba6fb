/**
 * Responses whose stream this process is reading right now, by response id, so that
 * `responses.cancel(id)` can end that stream's span as `cancelled` the moment the user
 * cancels. The API then lets the stream trail off with `*.done` events and no terminal
 * event; the record is already finished by then, so those cannot turn it into
 * `completed` or `truncated` (the first decision wins).
 *
 * Entries leave when their record finishes; the bound only guards against a flood of
 * streams that are all open at once.
 */
import type { RequestRecord } from '../../core/record.js';

export const LIVE_RESPONSES_LIMIT = 10_000;

const live = new Map<string, Set<RequestRecord>>();

export function trackLiveResponse(responseId: string, record: RequestRecord): void {
  if (record.finished) return;
  let records = live.get(responseId);
  if (!records) {
    if (live.size >= LIVE_RESPONSES_LIMIT) return;
    records = new Set();
    live.set(responseId, records);
  }
  records.add(record);
  const tracked = records;
  record.onFinish(() => {
    tracked.delete(record);
    if (tracked.size === 0 && live.get(responseId) === tracked) live.delete(responseId);
  });
}

/** Ends every stream of `responseId` this process is reading as `cancelled`. */
export function cancelLiveResponse(responseId: string): number {
  const records = live.get(responseId);
  if (!records) return 0;
  const cancelled = [...records];
  for (const record of cancelled) record.finish('cancelled');
  return cancelled.length;
}

export function liveResponseCount(): number {
  return live.size;
}
