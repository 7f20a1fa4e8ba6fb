/**
 * Reads an HTTP response body as its bytes pass to the caller, for requests whose body the
 * caller reads itself (`fetch` through `costFetch`, an SDK's raw `asResponse()` body): SSE
 * events or the JSON body go to the same provider reader the SDK hooks use, and drive the
 * same request lifecycle. Knows no SDK and no provider; where a request option was injected,
 * its traces are cut from the bytes (frame-editor.ts) so the caller gets what the server
 * sends without it.
 *
 * This is the byte-level half; body-tap.ts (web streams) and node-body.ts (Node streams)
 * move the bytes.
 */
import type { ResponseReader } from './adapter.js';
import { FrameEditor } from './frame-editor.js';
import type { RequestLifecycle } from './lifecycle.js';
import { isAbortError } from './observe-stream.js';
import { logInternalError } from './safely.js';
import { SseFrames, type SseEvent } from './sse-frames.js';
import { isDict } from './values.js';

export type BodyFormat = 'sse' | 'json';

export interface BodyObservation {
  readonly request: RequestLifecycle;
  readonly reader: ResponseReader;
  readonly format: BodyFormat;
  /**
   * The member an injected option makes the server add as `null` to every event (`usage`):
   * it is cut from the bytes, and so are the events the reader says the caller must not see.
   */
  readonly hiddenNullField?: string;
  /** The caller's abort signal: a body that ends after it fired ended `cancelled`. */
  readonly signal?: AbortSignal;
}

/** A JSON body larger than this is passed on unread (its usage is then estimated). */
const MAX_JSON_CHARS = 32 * 1024 * 1024;

const noStop = (): void => undefined;

export class BodyObserver {
  private readonly frames: SseFrames | undefined;
  private editor: FrameEditor | undefined;
  private readonly decoder: InstanceType<typeof TextDecoder> | undefined;
  private jsonParts: string[] | undefined;
  private jsonLength = 0;
  /** Set while reading what arrived for a body nobody reads: its events are counted, not "handed to the caller". */
  private unread = false;
  private stoppedWith: Error | undefined;
  /** Called once when a watch stops the request: the body's source must be released. */
  onStop: () => void = noStop;

  constructor(private readonly observation: BodyObservation) {
    if (observation.format === 'sse') {
      this.frames = new SseFrames();
      if (observation.hiddenNullField !== undefined) this.editor = new FrameEditor(observation.hiddenNullField);
    } else {
      this.decoder = new TextDecoder();
      this.jsonParts = [];
    }
  }

  get request(): RequestLifecycle {
    return this.observation.request;
  }

  /** The watch's error, once it stopped the request: the caller's next read gets it. */
  get stopped(): Error | undefined {
    return this.stoppedWith;
  }

  /** Bytes must wait for the rest of their event before they are handed on (an option's traces are hidden). */
  get edits(): boolean {
    return this.editor !== undefined;
  }

  /**
   * Reads one piece of the body; returns the bytes to hand to the caller: `chunk` itself,
   * a prefix of it (a watch stopped the request mid-read), edited bytes, or nothing yet.
   */
  take(chunk: Uint8Array, unread = false): Uint8Array | undefined {
    this.unread = unread;
    try {
      if (this.frames) return this.takeEvents(this.frames, chunk);
      this.takeJson(chunk);
    } catch (error) {
      logInternalError('reading a response body', error);
      // Our fault, not the body's: stop editing, and hand on everything held (this read included) as it came.
      const editor = this.editor;
      this.editor = undefined;
      if (editor) return editor.releaseAll();
    } finally {
      this.unread = false;
    }
    return chunk;
  }

  /**
   * The body ended; returns the bytes still held back. `unread`: it ended while what had
   * arrived was read for a request ending unread, which ends it (as abandoned), not this.
   */
  ended(unread = false): Uint8Array | undefined {
    const request = this.observation.request;
    let rest: Uint8Array | undefined;
    this.unread = unread;
    try {
      if (this.frames) {
        this.frames.finish(this.onEvent);
        rest = this.editor?.releaseAll();
        if (!unread) request.end(this.observation.signal?.aborted ? 'cancelled' : request.cleanEndOutcome);
      } else this.endJson(unread);
    } catch (error) {
      logInternalError('reading the end of a response body', error);
      if (!unread) request.end('completed');
    } finally {
      this.unread = false;
    }
    return rest;
  }

  /** Reading the body failed; returns the bytes still held back (handed on before the error, as they would have been). */
  failed(error: unknown): Uint8Array | undefined {
    const aborted = this.observation.signal?.aborted === true || isAbortError(error);
    this.observation.request.end(aborted ? 'cancelled' : 'error', error);
    return this.editor?.releaseAll();
  }

  /** The caller cancelled the body. */
  cancelled(): void {
    this.observation.request.end(this.observation.signal?.aborted ? 'cancelled' : 'broken');
  }

  private takeEvents(frames: SseFrames, chunk: Uint8Array): Uint8Array | undefined {
    const editor = this.editor;
    if (!editor) {
      const stoppedAt = frames.push(chunk, this.onEvent);
      if (stoppedAt === undefined) return chunk;
      return chunk.subarray(0, stoppedAt - (frames.received - chunk.length));
    }
    editor.append(chunk);
    const stoppedAt = frames.push(chunk, this.onEvent);
    return editor.release(stoppedAt ?? frames.boundary);
  }

  private readonly onEvent = (event: SseEvent, blockStart: number, blockEnd: number): boolean => {
    const request = this.observation.request;
    const editor = this.editor;
    // Once the request has ended, events matter only for what the caller must not see.
    if (request.ended && !editor) return false;
    const json = parseEvent(event);
    if (json === undefined) return false;
    const nullField = this.observation.hiddenNullField;
    const carriedNull = editor !== undefined && nullField !== undefined && json[nullField] === null;
    let visible = true;
    try {
      visible = this.observation.reader.readChunk(json, request);
    } catch (error) {
      logInternalError('reading a stream event', error);
    }
    if (editor) {
      if (!visible) editor.dropBlock(blockStart, blockEnd);
      else if (carriedNull) editor.dropNullMember(blockStart, blockEnd);
    }
    if (request.ended || this.unread) return false;
    request.chunkArrived(visible);
    const watch = request.watch;
    if (watch === undefined || request.sawTerminal) return false;
    let stop: Error | undefined;
    try {
      stop = watch.onChunk(request);
    } catch (error) {
      logInternalError('checking a budget', error);
    }
    if (!stop) return false;
    // The event that crossed the limit is handed on; the caller's next read gets the error.
    this.stoppedWith = stop;
    request.stop(stop);
    try {
      this.onStop();
    } catch (error) {
      logInternalError('stopping a response body', error);
    }
    return true;
  };

  private takeJson(chunk: Uint8Array): void {
    const parts = this.jsonParts;
    if (!parts || !this.decoder) return;
    const text = this.decoder.decode(chunk, { stream: true });
    this.jsonLength += text.length;
    if (this.jsonLength > MAX_JSON_CHARS) this.jsonParts = undefined;
    else parts.push(text);
  }

  private endJson(unread: boolean): void {
    const request = this.observation.request;
    const parts = this.jsonParts;
    if (!parts || !this.decoder) {
      if (!unread) request.end('completed');
      return;
    }
    parts.push(this.decoder.decode());
    this.jsonParts = undefined;
    let body: unknown;
    try {
      body = JSON.parse(parts.join(''));
    } catch (error) {
      if (!unread) request.end('error', error);
      return;
    }
    try {
      this.observation.reader.readResponse(body, request);
    } catch (error) {
      logInternalError('reading a response', error);
    }
    if (!unread) request.end('completed');
  }
}

/** The event's JSON object; `undefined` for `[DONE]`, keep-alives and anything not an object. */
function parseEvent(event: SseEvent): Record<string, unknown> | undefined {
  const data = event.data;
  if (data.length === 0 || data === '[DONE]') return undefined;
  try {
    const value: unknown = JSON.parse(data);
    return isDict(value) && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
