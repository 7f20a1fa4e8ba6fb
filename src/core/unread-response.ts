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

/** For an SDK stream: reads its response body's received bytes once the stream is gone. */
export class UnreadResponse {
  private response: { body?: unknown; headers?: { get?: unknown } } | undefined;

  constructor(
    private readonly request: RequestLifecycle,
    private readonly reader: ResponseReader,
  ) {}

  /** The SDK's response props arrived (`{ response }`): the body to read if the stream is collected. */
  responded(props: unknown): void {
    const candidate = typeof props === 'object' && props !== null ? (props as { response?: unknown }).response : undefined;
    if (typeof candidate === 'object' && candidate !== null) this.response = candidate;
  }

  count(): Promise<void> | undefined {
    const held = this.response;
    this.response = undefined;
    const headers = held?.headers;
    if (!held || typeof headers?.get !== 'function' || bodyFormat(headers as Headers) !== 'sse') return undefined;
    const observation = { request: this.request, reader: this.reader, format: 'sse' as const };
    const body = held.body;
    if (isNodeReadableBody(body)) {
      countBufferedNodeBody(body, observation);
      return undefined;
    }
    if (!(body instanceof ReadableStream) || body.locked) return undefined;
    const tap = new BodyTap(body, observation);
    return tap.countArrived().finally(() => tap.release());
  }
}

/**
 * For a raw body handed to the caller: the tap is held weakly (the idle timer holds this),
 * so that the caller's dropping the body still lets it be collected.
 */
export class TappedBody {
  private tap: WeakRef<BodyTap> | undefined;

  /** A raw body was handed out through this tap. */
  set(tap: BodyTap): void {
    this.tap = new WeakRef(tap);
  }

  count(): Promise<void> | undefined {
    return this.tap?.deref()?.countArrived();
  }
}
