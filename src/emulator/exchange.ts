/**
 * One HTTP request/response pair as the endpoint modules see it: writing with light
 * backpressure, interruptible delays, and the bookkeeping of the request log. Every
 * write checks whether the client is still there, so a handler stops as soon as the
 * client goes away instead of writing into a dead socket.
 */

import type { ServerResponse } from 'node:http';
import type { EmulatorOutcome, EmulatorProvider, EmulatorRequestLog, EmulatorScript } from './types.js';

export type HeaderMap = Record<string, string>;

export class Exchange {
  private closed = false;
  private droppedByServer = false;
  private lastFlush: Promise<void> = Promise.resolve();
  private readonly closeWaiters = new Set<() => void>();

  constructor(
    readonly res: ServerResponse,
    readonly log: EmulatorRequestLog,
    readonly script: EmulatorScript,
    readonly provider: EmulatorProvider,
    readonly requestId: string,
    private readonly isStopping: () => boolean,
    private readonly onEnd: (log: EmulatorRequestLog) => void,
  ) {
    res.on('close', () => this.handleClose());
  }

  /** False once the client has gone away (or the socket was dropped). */
  get open(): boolean {
    return !this.closed && !this.res.destroyed;
  }

  /** Headers every response of this provider carries (request ids the SDKs log). */
  baseHeaders(): HeaderMap {
    if (this.provider === 'anthropic') return { 'request-id': this.requestId };
    return {
      'x-request-id': this.requestId,
      'openai-version': '2020-10-01',
      'openai-processing-ms': String(Math.max(1, Date.now() - this.log.startedAt)),
    };
  }

  /** Waits `ms`, resolving early when the client goes away. Returns whether it is still open. */
  async sleep(ms: number): Promise<boolean> {
    if (ms > 0 && this.open) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.closeWaiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        this.closeWaiters.add(done);
      });
    }
    return this.open;
  }

  /** Sends a whole JSON response; false when the client was already gone. */
  sendJson(status: number, body: unknown, headers: HeaderMap = {}): boolean {
    if (!this.open) return false;
    const payload = JSON.stringify(body);
    this.log.status = status;
    this.res.writeHead(status, {
      ...this.baseHeaders(),
      ...headers,
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(payload)),
    });
    this.res.end(payload);
    return true;
  }

  startEventStream(): void {
    if (!this.open) return;
    this.log.status = 200;
    this.res.writeHead(200, {
      ...this.baseHeaders(),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
    });
    // Headers go out now, so a client sees the response start even if nothing follows.
    this.res.flushHeaders();
  }

  /** Writes raw bytes; waits for 'drain' when the socket buffer is full. */
  async write(frame: string): Promise<boolean> {
    if (!this.open) return false;
    let flushed!: () => void;
    this.lastFlush = new Promise<void>((resolve) => (flushed = resolve));
    this.closeWaiters.add(flushed);
    const ok = this.res.write(frame, () => {
      this.closeWaiters.delete(flushed);
      flushed();
    });
    if (!ok) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.res.off('drain', done);
          this.closeWaiters.delete(done);
          resolve();
        };
        this.res.on('drain', done);
        this.closeWaiters.add(done);
      });
    }
    return this.open;
  }

  endResponse(): void {
    if (this.open) this.res.end();
  }

  /**
   * Kills the connection without a terminal event, like a network failure mid-stream.
   * Waits until the frames already written reached the socket, so the client sees
   * exactly the chunks counted in the log before the connection dies.
   */
  async drop(): Promise<void> {
    await this.lastFlush;
    this.droppedByServer = true;
    this.finish('dropped');
    this.res.socket?.destroy();
    this.res.destroy();
  }

  /** Output tokens of a non-streamed body (no chunks). */
  countBody(tokens: number): void {
    this.log.outputTokensSent += tokens;
  }

  countContent(tokens: number): void {
    this.log.chunksSent += 1;
    this.log.outputTokensSent += tokens;
  }

  /** Records how the request ended; the first outcome wins. */
  finish(outcome: EmulatorOutcome): void {
    if (this.log.endedAt !== undefined) return;
    this.log.outcome = outcome;
    this.log.completed = outcome === 'completed';
    if (outcome === 'client_closed') this.log.clientClosedEarly = true;
    this.log.endedAt = Date.now();
    this.onEnd(this.log);
  }

  private handleClose(): void {
    this.closed = true;
    for (const wake of [...this.closeWaiters]) wake();
    // 'close' also fires after a normal end; only an unfinished response is early.
    if (this.res.writableEnded || this.droppedByServer) return;
    this.finish(this.isStopping() ? 'server_stopped' : 'client_closed');
  }
}
