/**
 * Hides, byte for byte, the traces an injected request option leaves in an SSE body: whole
 * event blocks the reader says the caller must not see, and a `"field": null` member the
 * option makes the server add to every other event. What leaves is exactly what the server
 * sends without the option (verified against the emulator, which follows the API).
 *
 * Bytes wait here only until the block they belong to is complete (at most one block); a
 * block is copied once, when it completes, so the work stays linear in the body's size.
 */
import { concat } from './sse-frames.js';

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;

export class FrameEditor {
  /** Bytes received but not handed on, from absolute offset `heldStart`. */
  private held: Uint8Array[] = [];
  private heldStart = 0;
  private heldLength = 0;
  /** Absolute ranges to leave out, sorted, all inside the held bytes. */
  private cuts: [number, number][] = [];
  private readonly key: Uint8Array;

  constructor(
    /** The member the option adds as `null` to every event (`usage`). */
    nullField: string,
  ) {
    this.key = new TextEncoder().encode(JSON.stringify(nullField));
  }

  /** The next read of the body (after the parser has seen it: its events' edits are known). */
  append(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.held.push(chunk);
    this.heldLength += chunk.length;
  }

  /** Leaves out the block `[start, end)`. */
  dropBlock(start: number, end: number): void {
    this.cuts.push([start, end]);
  }

  /**
   * Leaves out the top-level `"field": null` member (with one adjacent comma) of the JSON
   * event in the block `[start, end)`. Returns false when it cannot be found exactly: the
   * block is then left as it is.
   */
  dropNullMember(start: number, end: number): boolean {
    const bytes = this.range(start, end);
    const found = nullMemberRange(bytes, this.key);
    if (!found) return false;
    this.cuts.push([start + found[0], start + found[1]]);
    return true;
  }

  /** Hands on every held byte before `upTo` (absolute), edited; keeps the rest. */
  release(upTo: number): Uint8Array | undefined {
    const end = Math.min(upTo, this.heldStart + this.heldLength);
    if (end <= this.heldStart) return undefined;
    // Nothing to cut and exactly the one read held: hand on that very read.
    if (this.cuts.length === 0 && this.held.length === 1 && end === this.heldStart + this.heldLength) {
      const only = this.held[0]!;
      this.held = [];
      this.heldStart = end;
      this.heldLength = 0;
      return only;
    }
    const all = concat(this.held);
    const from = this.heldStart;
    const segments: Uint8Array[] = [];
    let at = from;
    for (const [cutStart, cutEnd] of this.cuts) {
      if (cutStart > at) segments.push(all.subarray(at - from, cutStart - from));
      at = Math.max(at, cutEnd);
    }
    if (end > at) segments.push(all.subarray(at - from, end - from));
    this.cuts = [];
    // The rest is a copy: the bytes handed on become the caller's, who may transfer them.
    const rest = all.subarray(end - from);
    this.held = rest.length > 0 ? [rest.slice()] : [];
    this.heldStart = end;
    this.heldLength = rest.length;
    const out = concat(segments);
    return out.length > 0 ? out : undefined;
  }

  /** Everything still held, unedited beyond the cuts already decided (the body ended or failed). */
  releaseAll(): Uint8Array | undefined {
    return this.release(Number.POSITIVE_INFINITY);
  }

  /** The held bytes `[start, end)` as one array (a view when they lie in one read). */
  private range(start: number, end: number): Uint8Array {
    let offset = this.heldStart;
    for (const part of this.held) {
      if (start >= offset && end <= offset + part.length) return part.subarray(start - offset, end - offset);
      offset += part.length;
    }
    return concat(this.held).subarray(start - this.heldStart, end - this.heldStart);
  }
}

/**
 * Where `"key": null` sits at the top level of the JSON object in `bytes` (one SSE block),
 * as the range to remove with one adjacent comma: `,"key":null` after another member, else
 * `"key":null,` before one. `key` is the member name as JSON (quotes included).
 */
export function nullMemberRange(bytes: Uint8Array, key: Uint8Array): [number, number] | undefined {
  const candidates: [number, number][] = [];
  for (let at = indexOf(bytes, key, 0); at !== -1; at = indexOf(bytes, key, at + 1)) {
    if (isEscaped(bytes, at)) continue; // the quote belongs to a string's content
    const valueEnd = nullValueEnd(bytes, at + key.length);
    if (valueEnd !== -1) candidates.push([at, valueEnd]);
  }
  let member: [number, number] | undefined;
  if (candidates.length === 1) member = candidates[0];
  else if (candidates.length > 1) member = topLevel(bytes, candidates);
  if (!member) return undefined;
  const [keyStart, valueEnd] = member;
  let before = keyStart - 1;
  while (before >= 0 && isSpace(bytes[before]!)) before--;
  if (bytes[before] === COMMA) return [before, valueEnd];
  if (bytes[before] !== OPEN_BRACE) return undefined;
  let after = valueEnd;
  while (after < bytes.length && isSpace(bytes[after]!)) after++;
  if (bytes[after] === COMMA) {
    after++;
    while (after < bytes.length && isSpace(bytes[after]!)) after++;
    return [keyStart, after];
  }
  return [keyStart, valueEnd];
}

/** After a key ending at `from`: `: null` (any spaces) followed by a delimiter; the offset after `null`, or -1. */
function nullValueEnd(bytes: Uint8Array, from: number): number {
  let at = from;
  while (at < bytes.length && isSpace(bytes[at]!)) at++;
  if (bytes[at] !== COLON) return -1;
  at++;
  while (at < bytes.length && isSpace(bytes[at]!)) at++;
  if (bytes[at] !== 110 || bytes[at + 1] !== 117 || bytes[at + 2] !== 108 || bytes[at + 3] !== 108) return -1; // null
  at += 4;
  const next = bytes[at];
  return next === undefined || next === COMMA || next === CLOSE_BRACE || isSpace(next) ? at : -1;
}

/** The candidate at depth one of the first JSON object in `bytes` (one structural scan). */
function topLevel(bytes: Uint8Array, candidates: readonly [number, number][]): [number, number] | undefined {
  const starts = new Map(candidates.map((candidate) => [candidate[0], candidate]));
  let depth = 0;
  let inString = false;
  let found: [number, number] | undefined;
  for (let at = bytes.indexOf(OPEN_BRACE); at !== -1 && at < bytes.length; at++) {
    const byte = bytes[at]!;
    if (inString) {
      if (byte === BACKSLASH) at++;
      else if (byte === QUOTE) inString = false;
      continue;
    }
    if (byte === QUOTE) {
      if (depth === 1 && starts.has(at)) {
        if (found) return undefined; // two top-level members of one name: not an object we know
        found = starts.get(at);
      }
      inString = true;
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) depth++;
    else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      depth--;
      if (depth === 0) break;
    }
  }
  return found;
}

function isEscaped(bytes: Uint8Array, at: number): boolean {
  let backslashes = 0;
  for (let i = at - 1; i >= 0 && bytes[i] === BACKSLASH; i--) backslashes++;
  return backslashes % 2 === 1;
}

function isSpace(byte: number): boolean {
  return byte === 32 || byte === 9 || byte === 10 || byte === 13;
}

function indexOf(bytes: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0]!;
  for (let at = bytes.indexOf(first, from); at !== -1; at = bytes.indexOf(first, at + 1)) {
    if (at + needle.length > bytes.length) return -1;
    let i = 1;
    while (i < needle.length && bytes[at + i] === needle[i]) i++;
    if (i === needle.length) return at;
  }
  return -1;
}
