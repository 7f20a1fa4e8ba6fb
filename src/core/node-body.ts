/**
 * A Node.js `Readable` response body (node-fetch, used by openai 4 and @anthropic-ai/sdk
 * 0.41 and older) observed in place as the caller reads it. Every way of reading a Readable
 * (`read()`, `'data'` events, `pipe`, async iteration, node-fetch's `text()` and `json()`)
 * goes through the stream's own `read`, so the instance's `read` is wrapped: it returns
 * exactly what it returned before, and its chunks go to the body observer. The end is seen
 * on `'end'`, a failure or an early `destroy()` on `'close'` (neither listener changes the
 * stream's mode or error handling).
 *
 * What cannot be done here: cutting bytes out (the stream's own buffer accounting owns
 * them), so an injected option is never hidden in a Node body; see raw-response.ts.
 */
import { BodyObserver, type BodyObservation } from './body-observer.js';
import { logInternalError } from './safely.js';

export interface NodeReadableBody {
  read(size?: number): unknown;
  once(event: string, listener: (...args: unknown[]) => void): unknown;
  destroy(error?: Error): unknown;
  readonly errored?: unknown;
  readonly readableEnded?: boolean;
  readonly destroyed?: boolean;
}

export function isNodeReadableBody(value: unknown): value is NodeReadableBody {
  if (typeof value !== 'object' || value === null) return false;
  const body = value as Partial<NodeReadableBody>;
  return typeof body.read === 'function' && typeof body.once === 'function' && typeof body.destroy === 'function';
}

const KEPT = Symbol('otel-llm-cost.kept-alive-with-body');

/**
 * Observes `body` from now on. `keepAlive` is kept as long as the body is (the SDK stream
 * it belongs to, which must not be collected and abort the connection while it is read).
 */
export function observeNodeBody(
  body: NodeReadableBody,
  observation: BodyObservation,
  keepAlive?: unknown,
  /** True while the reads are someone else's, already observed (the SDK's stream reading the same body). */
  readByOthers: () => boolean = () => false,
): void {
  if (body.readableEnded || body.destroyed) return;
  // A Node body's bytes cannot be edited in place: it is only read.
  const observer = new BodyObserver({ ...observation, hiddenNullField: undefined });
  let settled = false;
  const originalRead = body.read;
  const observe = (chunk: unknown) => {
    if (settled || readByOthers()) return;
    const bytes = asBytes(chunk);
    if (bytes) observer.take(bytes);
  };
  defineHidden(body, 'read', function read(this: unknown, ...args: [number?]) {
    const chunk = originalRead.apply(this, args);
    if (chunk !== null && chunk !== undefined) observe(chunk);
    return chunk;
  });
  if (keepAlive !== undefined) defineHidden(body, KEPT, keepAlive);
  observer.onStop = () => {
    settled = true;
    // Not from inside `read()`: the stream is mid-call there.
    process.nextTick(() => body.destroy(observer.stopped));
  };
  body.once('end', () => {
    if (settled || readByOthers()) return;
    settled = true;
    observer.ended();
  });
  body.once('close', () => {
    if (settled || readByOthers()) return;
    settled = true;
    const error = body.errored;
    if (error !== null && error !== undefined) observer.failed(error);
    else observer.cancelled();
  });
}

/**
 * Reads (for good: nobody else can any more) what a Node body had buffered, and counts its
 * events for the request, which is ending unread.
 */
export function countBufferedNodeBody(body: NodeReadableBody, observation: BodyObservation): void {
  if (body.readableEnded || body.destroyed) return;
  const observer = new BodyObserver({ ...observation, hiddenNullField: undefined });
  try {
    for (let chunk = body.read(); chunk !== null && chunk !== undefined; chunk = body.read()) {
      const bytes = asBytes(chunk);
      if (bytes) observer.take(bytes, true);
    }
  } catch (error) {
    logInternalError('reading what an unread response had received', error);
  }
}

function asBytes(chunk: unknown): Uint8Array | undefined {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  return undefined;
}

function defineHidden(target: object, key: PropertyKey, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable: false });
}
