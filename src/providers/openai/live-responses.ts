/**
 * Responses whose stream this instrumentation is reading right now, by response id, so
 * that `responses.cancel(id)` can end that stream's span as `cancelled` the moment the user
 * cancels. The API then lets the stream trail off with `*.done` events and no terminal
 * event; the request has already ended by then, so those cannot turn it into `completed` or
 * `truncated` (the first decision wins).
 *
 * Entries leave when their request ends; the bound only guards against a flood of streams
 * that are all open at once.
 */
import type { CancellableRequest } from '../../core/adapter.js';

export const LIVE_RESPONSES_LIMIT = 10_000;

export class LiveResponses {
  private readonly live = new Map<string, Set<CancellableRequest>>();

  constructor(private readonly limit = LIVE_RESPONSES_LIMIT) {}

  track(responseId: string, request: CancellableRequest): void {
    if (request.ended) return;
    let requests = this.live.get(responseId);
    if (!requests) {
      if (this.live.size >= this.limit) return;
      requests = new Set();
      this.live.set(responseId, requests);
    }
    requests.add(request);
    const tracked = requests;
    request.onEnd(() => {
      tracked.delete(request);
      if (tracked.size === 0 && this.live.get(responseId) === tracked) this.live.delete(responseId);
    });
  }

  /** Ends every stream of `responseId` being read as `cancelled`; returns how many. */
  cancel(responseId: string): number {
    const requests = this.live.get(responseId);
    if (!requests) return 0;
    const cancelled = [...requests];
    for (const request of cancelled) request.cancel();
    return cancelled.length;
  }

  get size(): number {
    return this.live.size;
  }
}
