/**
 * A web `ReadableStream` body observed as the caller reads it: `readable()` is what the
 * caller gets. It pulls from the real body only when the caller reads (no buffering of its
 * own, no read-ahead), hands on the same bytes (body-observer.ts decides them), passes the
 * real body's end, errors and the caller's cancel through, and tells the request about each.
 *
 * The tap never holds the stream it hands out, so that stream (and whatever holds it: the
 * `Response`) can be garbage collected while the tap lives on in a collection watch.
 */
import { BodyObserver, type BodyObservation } from './body-observer.js';
import type { RequestLifecycle } from './lifecycle.js';
import { logInternalError } from './safely.js';
import { watchCollected } from './watchdog.js';

type Read = { done: true } | { done: false; value: Uint8Array } | { failed: unknown };

/** Reading what has arrived stops at this many bytes (a body nobody reads can be long). */
const MAX_ARRIVED_BYTES = 8 * 1024 * 1024;

export class BodyTap {
  private readonly observer: BodyObserver;
  private upstream: ReadableStreamDefaultReader<Uint8Array> | undefined;
  /** Bytes decided but not handed on yet (read ahead by `countArrived`). */
  private readonly ready: Uint8Array[] = [];
  /** A read `countArrived` started and left pending: the next pull takes it over. */
  private pendingRead: Promise<Read> | undefined;
  private ahead: Promise<void> | undefined;
  private finished = false;
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly source: ReadableStream<Uint8Array>,
    observation: BodyObservation,
    /**
     * Held for as long as the tap is: the original response (undici cancels the unread body
     * of a collected response) and, for a raw SDK body, the SDK stream it belongs to (which,
     * collected, would abort the connection being read).
     */
    readonly keepAlive?: unknown,
  ) {
    this.observer = new BodyObserver(observation);
    this.observer.onStop = () => this.release();
  }

  /** The stream to hand the caller in place of `source`. */
  readable(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>(
      {
        pull: (controller) => (this.ahead ? this.ahead.then(() => this.fill(controller)) : this.fill(controller)),
        cancel: (reason) => this.cancel(reason),
      },
      { highWaterMark: 0 },
    );
  }

  /**
   * Reads, without waiting for the network, what the body has already received, and counts
   * its events (they were generated and billed). The bytes are kept for the caller, who may
   * still read them. Used when a request ends unread (idle, or collected).
   */
  countArrived(): Promise<void> {
    if (this.finished || this.failure) return Promise.resolve();
    this.ahead ??= this.readArrived().finally(() => {
      this.ahead = undefined;
    });
    return this.ahead;
  }

  /** Whether something other than this tap reads the body (the tap never did, and it is locked). */
  readElsewhere(): boolean {
    return this.upstream === undefined && this.source.locked;
  }

  /** Lets go of the body: cancels it (the connection closes). Never throws. */
  release(): void {
    this.finished = true;
    try {
      const cancelled = this.upstream ? this.upstream.cancel() : this.source.cancel();
      cancelled.catch(() => undefined);
    } catch {
      // locked by someone else, or already gone
    }
  }

  private fill(controller: ReadableStreamDefaultController<Uint8Array>): void | Promise<void> {
    const next = this.ready.shift();
    if (next) {
      controller.enqueue(next);
      return;
    }
    const stopped = this.observer.stopped;
    if (stopped) return controller.error(stopped);
    if (this.failure) return controller.error(this.failure.error);
    if (this.finished) return controller.close();
    return this.read().then((read) => {
      this.settle(read, false);
      return this.fill(controller);
    });
  }

  private read(): Promise<Read> {
    const pending = this.pendingRead;
    if (pending) {
      this.pendingRead = undefined;
      return pending;
    }
    const request = this.observer.request;
    this.upstream ??= this.source.getReader();
    request.readStarted();
    return this.upstream.read().then(
      (step): Read => {
        request.readSettled();
        return step.done ? { done: true } : { done: false, value: step.value };
      },
      (error: unknown): Read => {
        request.readSettled();
        return { failed: error };
      },
    );
  }

  private settle(read: Read, unread: boolean): number {
    if ('failed' in read) {
      if (this.finished) return 0;
      this.finished = true;
      const rest = this.observer.failed(read.failed);
      if (rest) this.ready.push(rest);
      this.failure = { error: read.failed };
      return 0;
    }
    if (read.done) {
      if (!this.finished) {
        this.finished = true;
        const rest = this.observer.ended(unread);
        if (rest) this.ready.push(rest);
      }
      return 0;
    }
    if (this.finished) return 0; // stopped: what came after the stop is not handed on
    const out = this.observer.take(read.value, unread);
    if (out) this.ready.push(out);
    return read.value.length;
  }

  private async readArrived(): Promise<void> {
    let bytes = 0;
    try {
      while (!this.finished && !this.failure && bytes < MAX_ARRIVED_BYTES) {
        const read = this.read();
        // A chunk already received settles within microtasks; one not yet received waits
        // for the network, past the next turn of the event loop.
        const first = await Promise.race([read, nextTurn()]);
        if (first === NOT_YET) {
          this.pendingRead = read;
          return;
        }
        bytes += this.settle(first, true);
      }
    } catch (error) {
      logInternalError('reading what a response had received', error);
    }
  }

  private cancel(reason: unknown): Promise<void> {
    if (!this.finished && !this.failure) {
      this.finished = true;
      this.observer.cancelled();
    }
    this.finished = true;
    const pending = this.upstream ?? this.source;
    return pending.cancel(reason);
  }
}

const NOT_YET = Symbol('not yet');
const nextTurn = (): Promise<typeof NOT_YET> => new Promise((resolve) => setImmediate(() => resolve(NOT_YET)));

/**
 * The body a caller gets from `tap`, watched for being collected unread: it then ends the
 * request as abandoned, with what had arrived counted, and lets go of the upstream body.
 */
export function watchedReadable(tap: BodyTap, request: RequestLifecycle): ReadableStream<Uint8Array> {
  const body = tap.readable();
  const release = new AbortController();
  release.signal.addEventListener('abort', () => tap.release(), { once: true });
  watchCollected(
    body,
    request,
    release,
    () => tap.countArrived(),
    () => tap.readElsewhere(),
  );
  return body;
}
