/**
 * An incremental Server-Sent Events parser over raw bytes, for observing a response body as
 * it passes (body-tap.ts). It never holds more than the current unfinished line, scans each
 * byte once (native `indexOf` for line ends), and reports every event with the byte range of
 * its block, so a caller that forwards the bytes can cut or edit whole blocks exactly.
 *
 * Follows the WHATWG rules the SDKs' own decoders follow: lines end in `\r\n`, `\n` or `\r`
 * (a `\r` at the end of a read waits for the next byte before it is decided); `:` starts a
 * comment; `data` lines join with `\n`; one space after the colon is dropped; a blank line
 * dispatches the event, and a block that never ends (the body stops mid-event) is not
 * dispatched. A byte-order mark at the start of the body is skipped.
 */

export interface SseEvent {
  /** The `event:` field; `undefined` when the block had none. */
  readonly type: string | undefined;
  readonly data: string;
}

/**
 * Receives each event with the absolute byte range of its block (from the block's first
 * line to the end of the blank line that closed it). Returning `true` stops the current
 * `push`: the bytes after the block are left unread.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: a handler that only reads returns nothing; `true` stops the scan.
export type SseEventHandler = (event: SseEvent, blockStart: number, blockEnd: number) => boolean | void;

const LF = 10;
const CR = 13;
const COLON = 58;
const SPACE = 32;

const decoder = new TextDecoder();

export class SseFrames {
  /** Absolute offset of the next byte `push` receives. */
  private offset = 0;
  /** The current line's bytes from earlier reads (copies: the reads are the caller's). */
  private lineParts: Uint8Array[] = [];
  /** The previous read ended in `\r`: a `\n` first in the next read belongs to it. */
  private pendingCR = false;
  private type: string | undefined;
  private data: string | undefined;
  private blockStart = 0;
  private lastBoundary = 0;
  /** The byte-order mark's bytes seen so far at the start of the body; `undefined` once decided. */
  private bomSeen: number[] | undefined = [];

  /** Absolute offset just past the last complete block: every byte before it is decided. */
  get boundary(): number {
    return this.lastBoundary;
  }

  /** Bytes received so far. */
  get received(): number {
    return this.offset;
  }

  /** Reads `chunk`; returns the offset where `onEvent` stopped it, else `undefined`. */
  push(chunk: Uint8Array, onEvent: SseEventHandler): number | undefined {
    const base = this.offset;
    const length = chunk.length;
    this.offset += length;
    let position = 0;
    if (this.bomSeen !== undefined) position = this.skipByteOrderMark(chunk);
    if (this.pendingCR && length > 0) {
      this.pendingCR = false;
      // The `\r` that ended the previous read was a line end: `\r\n` when this read starts with `\n`.
      const end = chunk[0] === LF ? 1 : 0;
      if (this.finishLine(undefined, 0, 0, base + end, onEvent)) return base + end;
      position = Math.max(position, end);
    }
    let nextLF = chunk.indexOf(LF, position);
    let nextCR = chunk.indexOf(CR, position);
    while (position < length) {
      if (nextLF !== -1 && nextLF < position) nextLF = chunk.indexOf(LF, position);
      if (nextCR !== -1 && nextCR < position) nextCR = chunk.indexOf(CR, position);
      let lineEnd: number;
      if (nextCR === -1 || (nextLF !== -1 && nextLF < nextCR)) lineEnd = nextLF;
      else lineEnd = nextCR;
      if (lineEnd === -1) {
        this.lineParts.push(chunk.slice(position));
        return undefined;
      }
      let after = lineEnd + 1;
      if (chunk[lineEnd] === CR) {
        if (after === length) {
          // Decided by the next read's first byte (or by `finish`).
          this.keepLine(chunk, position, lineEnd);
          this.pendingCR = true;
          return undefined;
        }
        if (chunk[after] === LF) after++;
      }
      if (this.finishLine(chunk, position, lineEnd, base + after, onEvent)) return base + after;
      position = after;
    }
    return undefined;
  }

  /** The body ended: a line cut by the end is finished, an unfinished block is dropped. */
  finish(onEvent: SseEventHandler): void {
    if (this.pendingCR) {
      this.pendingCR = false;
      this.finishLine(undefined, 0, 0, this.offset, onEvent);
    }
    this.lineParts = [];
    this.type = undefined;
    this.data = undefined;
  }

  /** Skips a byte-order mark at the start of the body, however the first reads split it; returns where the text starts. */
  private skipByteOrderMark(chunk: Uint8Array): number {
    const seen = this.bomSeen!;
    let position = 0;
    while (position < chunk.length) {
      if (chunk[position] !== BOM[seen.length]) {
        // Not a mark: the bytes taken so far begin the first line.
        if (seen.length > 0) this.lineParts.push(Uint8Array.from(seen));
        this.bomSeen = undefined;
        return position;
      }
      seen.push(chunk[position]!);
      position++;
      if (seen.length === BOM.length) {
        this.bomSeen = undefined;
        return position;
      }
    }
    return position;
  }

  private keepLine(chunk: Uint8Array, start: number, end: number): void {
    if (end > start) this.lineParts.push(chunk.slice(start, end));
  }

  /**
   * One line is complete: its bytes are the kept parts plus `chunk[start, end)` (no chunk
   * when the line was kept whole). `next` is the absolute offset after its line end.
   */
  private finishLine(chunk: Uint8Array | undefined, start: number, end: number, next: number, onEvent: SseEventHandler): boolean {
    let line: Uint8Array;
    let from: number;
    let to: number;
    if (this.lineParts.length === 0) {
      if (chunk === undefined) {
        line = EMPTY;
        from = to = 0;
      } else {
        line = chunk;
        from = start;
        to = end;
      }
    } else {
      if (chunk !== undefined && end > start) this.lineParts.push(chunk.subarray(start, end));
      line = concat(this.lineParts);
      this.lineParts = [];
      from = 0;
      to = line.length;
    }
    if (from === to) return this.dispatch(next, onEvent);
    if (line[from] === COLON) return false; // a comment
    const colon = line.indexOf(COLON, from);
    const nameEnd = colon === -1 || colon >= to ? to : colon;
    let valueStart = nameEnd === to ? to : nameEnd + 1;
    if (valueStart < to && line[valueStart] === SPACE) valueStart++;
    if (isField(line, from, nameEnd, DATA)) {
      const value = decoder.decode(line.subarray(valueStart, to));
      this.data = this.data === undefined ? value : `${this.data}\n${value}`;
    } else if (isField(line, from, nameEnd, EVENT)) {
      this.type = decoder.decode(line.subarray(valueStart, to));
    }
    // `id`, `retry` and unknown fields say nothing about usage.
    return false;
  }

  /** A blank line: the block ends here, and its event (if it had data) is dispatched. */
  private dispatch(next: number, onEvent: SseEventHandler): boolean {
    const start = this.blockStart;
    this.blockStart = next;
    this.lastBoundary = next;
    const data = this.data;
    const type = this.type;
    this.data = undefined;
    this.type = undefined;
    if (data === undefined) return false;
    return onEvent({ type, data }, start, next) === true;
  }
}

const EMPTY = new Uint8Array(0);
const BOM = [0xef, 0xbb, 0xbf];
const DATA = [100, 97, 116, 97]; // "data"
const EVENT = [101, 118, 101, 110, 116]; // "event"

function isField(line: Uint8Array, from: number, to: number, name: readonly number[]): boolean {
  if (to - from !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (line[from + i] !== name[i]) return false;
  return true;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let length = 0;
  for (const part of parts) length += part.length;
  const joined = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  return joined;
}
