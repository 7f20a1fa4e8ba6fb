/**
 * Hides an injected option's `"<field>":null` member from an SDK by cutting it out of the
 * bytes before the SDK parses them: the SDK then reads, decodes and parses exactly the bytes
 * the server sends without the option, and the consumer gets the SDK's own chunk object, not
 * a copy (stream-usage.ts keeps the copy for what is not cut here).
 *
 * Why: with the member parsed and then copied away, an OpenAI chat chunk cost 1.09–1.10× an
 * uninstrumented one on Node 24 in side-by-side pairs (`bench/child.ts`), and 1.05 without
 * the option; each read is now searched in place (about a tenth of its bytes for a one-event
 * read) and shortened with `copyWithin`, with nothing copied but the view.
 *
 * Only what is certain is cut: the member directly before the event's closing `}` (or before
 * trailing members whose keys and values are plain strings, as OpenAI's `obfuscation`), in an
 * event whose end (`}` and a blank line) is in the same read. Anything else (a split event,
 * `\r\n` line ends, escapes, spaces around `:`) is left as it is, and copied later instead.
 *
 * Raw bodies a caller reads (`asResponse()`, `withResponse().response`, `costFetch`) are cut by
 * frame-editor.ts: they read through the prototype's `getReader`, which is not wrapped here.
 */

const LF = 10;
const QUOTE = 34;
const COMMA = 44;
const COLON = 58;
const BACKSLASH = 92;
const CLOSE_BRACE = 125;
/** Trailing plain-string members allowed after the null member (OpenAI sends one). */
const MAX_TRAILING_MEMBERS = 4;
/** Longest plain string looked through for a trailing member's key or value. */
const MAX_PLAIN_STRING = 256;

/** `,"field":null` as bytes, with its search table: what one event loses. */
export interface NullMember {
  readonly bytes: Uint8Array;
  /** Boyer–Moore–Horspool shifts by the byte under the window's last position. */
  readonly shifts: Uint8Array;
}

export function nullMember(field: string): NullMember {
  const bytes = new TextEncoder().encode(`,${JSON.stringify(field)}:null`);
  const shifts = new Uint8Array(256).fill(Math.min(bytes.length, 255));
  for (let i = 0; i < bytes.length - 1; i++) shifts[bytes[i]!] = Math.min(bytes.length - 1 - i, 255);
  return { bytes, shifts };
}

/**
 * Cuts every certain `member` out of `bytes`, in place (what follows moves up); returns the
 * length of what is left. A read of one event is searched in about a tenth of its bytes.
 */
export function cutNullMembers(bytes: Uint8Array, member: NullMember): number {
  const needle = member.bytes;
  const shifts = member.shifts;
  const size = needle.length;
  const lastByte = needle[size - 1]!;
  let length = bytes.length;
  let at = size - 1;
  while (at < length) {
    const byte = bytes[at]!;
    if (byte === lastByte && matchesAt(bytes, at + 1 - size, needle) && endsEvent(bytes, at + 1, length)) {
      bytes.copyWithin(at + 1 - size, at + 1, length);
      length -= size;
      continue;
    }
    at += shifts[byte]!;
  }
  return length;
}

function matchesAt(bytes: Uint8Array, start: number, needle: Uint8Array): boolean {
  for (let i = 0; i < needle.length - 1; i++) if (bytes[start + i] !== needle[i]) return false;
  return true;
}

/**
 * Whether only the object's closing `}` and the event's end (`\n\n`) follow `from`, after at
 * most a few plain-string members (`,"obfuscation":"…"`): the member before `from` is then
 * certainly one of the event's top-level object, whatever came before it.
 */
function endsEvent(bytes: Uint8Array, from: number, length: number): boolean {
  let at = from;
  for (let members = 0; members <= MAX_TRAILING_MEMBERS; members++) {
    if (bytes[at] === CLOSE_BRACE) return at + 2 < length && bytes[at + 1] === LF && bytes[at + 2] === LF;
    if (bytes[at] !== COMMA || bytes[at + 1] !== QUOTE) return false;
    const keyEnd = plainStringEnd(bytes, at + 2, length);
    if (keyEnd < 0 || bytes[keyEnd + 1] !== COLON || bytes[keyEnd + 2] !== QUOTE) return false;
    const valueEnd = plainStringEnd(bytes, keyEnd + 3, length);
    if (valueEnd < 0) return false;
    at = valueEnd + 1;
  }
  return false;
}

/** The closing quote of a plain string (no escapes) whose content starts at `from`, or -1. */
function plainStringEnd(bytes: Uint8Array, from: number, length: number): number {
  const limit = Math.min(length, from + MAX_PLAIN_STRING);
  for (let i = from; i < limit; i++) {
    const byte = bytes[i];
    if (byte === QUOTE) return i;
    if (byte === BACKSLASH) return -1;
  }
  return -1;
}

interface ReadStep {
  readonly done?: boolean;
  value?: unknown;
}

type NextMethod = (this: unknown, value?: unknown) => Promise<ReadStep>;

/**
 * Makes the reads the SDK will make of `body` come out with the member cut: its async iterator (openai 4
 * to 6, web and Node bodies) and its `getReader()` reader (openai 7), as own properties of
 * this one body. Returns false when the body offers neither.
 */
export function cutNullMemberFromSdkReads(body: unknown, field: string): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const member = nullMember(field);
  const cut = cutSafely((step: ReadStep): void => {
    const bytes = step.value;
    if (step.done === true || !(bytes instanceof Uint8Array)) return;
    const length = cutNullMembers(bytes, member);
    if (length < bytes.length) step.value = bytes.subarray(0, length);
  });
  const target = body as { [Symbol.asyncIterator]?: unknown; getReader?: unknown };
  let wrapped = false;
  const iterate = target[Symbol.asyncIterator];
  if (typeof iterate === 'function') {
    target[Symbol.asyncIterator] = function cutIterator(this: unknown, ...args: unknown[]) {
      return cutReads(iterate.apply(this, args), 'next', cut);
    };
    wrapped = true;
  }
  const getReader = target.getReader;
  if (typeof getReader === 'function') {
    target.getReader = function cutReader(this: unknown, ...args: unknown[]) {
      return cutReads(getReader.apply(this, args), 'read', cut);
    };
    wrapped = true;
  }
  return wrapped;
}

/**
 * `source` with its `method` (`next` or `read`) cutting each step's bytes before anyone
 * else sees them: our reaction is registered on the very promise returned, before the
 * caller's, and promise reactions run in order. No second promise is handed out.
 */
function cutReads(source: unknown, method: 'next' | 'read', cut: (step: ReadStep) => void): unknown {
  if (typeof source !== 'object' || source === null) return source;
  const reads = source as Record<'next' | 'read', unknown>;
  const original = reads[method];
  if (typeof original !== 'function') return source;
  const read = original as NextMethod;
  reads[method] = function cutRead(this: unknown, value?: unknown) {
    // `next(undefined)` and `read(undefined)` are `next()` and `read()` for these readers.
    const pending = read.call(this, value);
    if (pending instanceof Promise) pending.then(cut, ignore);
    return pending;
  };
  return source;
}

const ignore = (): undefined => undefined;

/** Cutting must never reach the SDK's read as an error: a failure leaves the bytes, and the copy hides the member. */
function cutSafely(cut: (step: ReadStep) => void): (step: ReadStep) => void {
  return (step) => {
    try {
      if (typeof step === 'object' && step !== null) cut(step);
    } catch {
      // left for the copy in the reader (stream-usage.ts)
    }
  };
}
