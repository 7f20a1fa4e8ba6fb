/**
 * What a response nobody read had received, counted when its request ends unread (idle, or
 * its stream collected): those events were generated and billed. Only the bytes the process
 * already holds are read (never waiting for the network), and only where no one else can
 * still read them: a collected SDK stream's body (nobody can iterate it any more), or a raw
 * body this package hands out itself (its bytes are kept for the caller; see body-tap.ts).
 *
 * Not possible: an SDK stream that is still referenced but never iterated (idle). Its body
 * belongs to the SDK's stream, which may still be iterated, and reading it would take those
 * bytes from the caller; such a request ends with its input estimated and no output.
 */
import type { ResponseReader } from './adapter.js';
import { BodyTap } from './body-tap.js';
import type { RequestLifecycle } from './lifecycle.js';
import { countBufferedNodeBody, isNodeReadableBody } from './node-body.js';
import { bodyFormat } from './rewrap-response.js';
import type { CountArrived } from './watchdog.js';

export interface UnreadResponse {
  /** The SDK's response props arrived (`{ response }`): the body to read if the stream is collected. */
  responded(props: unknown): void;
  readonly count: CountArrived;
}

/** For an SDK stream: reads its response body's received bytes once the stream is gone. */
export function countUnreadResponse(request: RequestLifecycle, reader: ResponseReader): UnreadResponse {
  let response: { body?: unknown; headers?: { get?: unknown } } | undefined;
  return {
    responded(props) {
      const candidate = typeof props === 'object' && props !== null ? (props as { response?: unknown }).response : undefined;
      if (typeof candidate === 'object' && candidate !== null) response = candidate;
    },
    count: () => {
      const held = response;
      response = undefined;
      const headers = held?.headers;
      if (!held || typeof headers?.get !== 'function' || bodyFormat(headers as Headers) !== 'sse') return undefined;
      const observation = { request, reader, format: 'sse' as const };
      const body = held.body;
      if (isNodeReadableBody(body)) {
        countBufferedNodeBody(body, observation);
        return undefined;
      }
      if (!(body instanceof ReadableStream) || body.locked) return undefined;
      const tap = new BodyTap(body, observation);
      return tap.countArrived().finally(() => tap.release());
    },
  };
}

export interface TapCounter {
  /** A raw body was handed out through this tap. */
  readonly set: (tap: BodyTap) => void;
  readonly count: CountArrived;
}

/**
 * For a raw body handed to the caller: the tap is held weakly (the idle timer holds this),
 * so that the caller's dropping the body still lets it be collected.
 */
export function tapCounter(): TapCounter {
  let tap: WeakRef<BodyTap> | undefined;
  return {
    set: (next) => {
      tap = new WeakRef(next);
    },
    count: () => tap?.deref()?.countArrived(),
  };
}
