/**
 * What a failed request's span says about its error. Provider error text can carry
 * secrets and the user's own content: a 401 that echoes the API key, a 400 or a
 * moderation refusal that quotes the prompt, a gateway that dumps the request. Spans go
 * to collectors, vendors and dashboards that see neither, so by default the span gets:
 *
 * - the structured facts: HTTP status, the provider's error type and code (identifier-like
 *   values only), and the error's class as `error.type`;
 * - a message made of those facts and the provider's text, reduced to a safe summary:
 *   1. key-shaped strings are replaced by `[REDACTED]`: `sk-…` and `sk-ant-…` keys,
 *      `Bearer …` tokens, the values of `x-api-key`, `api_key`, `token`, `secret`,
 *      `password`, `authorization` fields, and any other long token holding a run of 16+
 *      characters that mixes letters and digits (keys, JWTs, base64, request ids);
 *   2. quoted spans ('…', "…", `…`, “…”) are replaced by `'…'`: providers quote what they
 *      echo from the request;
 *   3. any run of 8 or more characters that also occurs in a string of the request body is
 *      replaced by `[…]`, quoted or not: request content is never included (the first
 *      8,000,000 characters of the request are searched; beyond that only rule 2 applies);
 *   4. at most 300 characters.
 * - an `exception` event with that message, and the stack frames without the original
 *   message line.
 *
 * With content capture on (`captureMessageContent`), which already puts the messages on
 * the span, the error's own message and stack are recorded unchanged.
 */

export interface ErrorSummary {
  /** The error's class name (`error.type`), or `_OTHER`. */
  readonly type: string;
  readonly status?: number;
  /** The provider's error type, e.g. `invalid_request_error`, `overloaded_error`. */
  readonly providerType?: string;
  /** The provider's error code, e.g. `invalid_api_key`, `rate_limit_exceeded`. */
  readonly code?: string;
  /** For the span status and the exception event. */
  readonly message: string;
  /** Stack frames under a first line of `type: message`; absent when the error has none. */
  readonly stacktrace?: string;
}

export interface SummaryOptions {
  /** The request body as sent: its strings are the content that must not leak. */
  readonly request: unknown;
  /** Content capture is on: keep the error's own message and stack. */
  readonly verbatim: boolean;
}

const MAX_MESSAGE = 300;
/** Provider text looked at (the rest is dropped before any pattern runs). */
const MAX_SCANNED = 2000;
/** Shortest run of characters treated as echoed request content. */
const ECHO_RUN = 8;
/**
 * Request characters searched for echoes (~10 ns each, only when a request failed); a
 * larger request is checked up to here, its quoted echoes still removed.
 */
const MAX_REQUEST_CHARS = 8_000_000;

export function summarizeError(error: unknown, options: SummaryOptions): ErrorSummary {
  const type = errorClass(error);
  const fields = providerFields(error);
  const ownMessage = error instanceof Error ? error.message : typeof error === 'string' ? error : '';
  const stack = error instanceof Error && typeof error.stack === 'string' ? error.stack : undefined;
  if (options.verbatim) return { type, ...fields.facts, message: ownMessage, ...(stack ? { stacktrace: stack } : {}) };

  const text = safeText(fields.text ?? stripStatusPrefix(ownMessage, fields.facts.status), options.request);
  const head = [fields.facts.status, fields.facts.providerType, fields.facts.code === undefined ? undefined : `(${fields.facts.code})`]
    .filter((part) => part !== undefined)
    .join(' ');
  const message = truncate(head && text ? `${head}: ${text}` : head || text || type);
  const frames = stack === undefined ? undefined : stackFrames(stack);
  return { type, ...fields.facts, message, ...(frames ? { stacktrace: `${type}: ${message}\n${frames}` } : {}) };
}

/** The provider's text made safe: secrets redacted, quotes and echoed request content removed. */
export function safeText(text: string, request: unknown): string {
  let safe = redactSecrets(text.slice(0, MAX_SCANNED));
  safe = removeQuoted(safe);
  safe = removeEchoes(safe, requestStrings(request));
  return safe.replace(/\s+/g, ' ').trim();
}

const REDACTED = '[REDACTED]';

export function redactSecrets(text: string): string {
  return (
    text
      // Authorization-like fields: keep the name, drop the value.
      .replace(/\b(x-api-key|api[_-]?key|token|secret|password|authorization)(["']?\s*[:=]\s*["']?)(bearer\s+)?[^\s"',;}]+/gi, `$1$2$3${REDACTED}`)
      .replace(/\bbearer\s+[A-Za-z0-9._~+/=-]{6,}/gi, `Bearer ${REDACTED}`)
      .replace(/\bsk-(?:ant-)?[A-Za-z0-9_*-]{6,}/g, REDACTED)
      // Any other long token with a 16+ character run mixing letters and digits.
      .replace(/[A-Za-z0-9+/=_.~-]{16,}/g, (token) => (hasMixedRun(token) ? REDACTED : token))
  );
}

function hasMixedRun(token: string): boolean {
  return token.split(/[-_.~]/).some((part) => part.length >= 16 && /[A-Za-z]/.test(part) && /\d/.test(part));
}

/** Quoted spans: a quote opens after a non-letter (so "model's" is no quote) and closes before one. */
function removeQuoted(text: string): string {
  return text
    .replace(/(^|[^\p{L}\p{N}])'[^'\n]*'(?![\p{L}\p{N}])/gu, "$1'…'")
    .replace(/"[^"\n]*"/g, "'…'")
    .replace(/`[^`\n]*`/g, "'…'")
    .replace(/“[^”\n]*”/g, "'…'")
    .replace(/‘[^’\n]*’/g, "'…'");
}

/** Replaces every run of `ECHO_RUN`+ characters of `text` that occurs in one of `strings`. */
function removeEchoes(text: string, strings: readonly string[]): string {
  if (text.length < ECHO_RUN || strings.length === 0) return text;
  // Hash every window of the (short) text, then roll a hash over each request string once.
  const windows = new Map<number, number[]>();
  const maybe = new Uint8Array(1 << 13); // one bit per hash & 0xffff: skips most map look-ups
  forEachWindow(text, (hash, i) => {
    const list = windows.get(hash);
    if (list) list.push(i);
    else windows.set(hash, [i]);
    maybe[(hash & 0xffff) >> 3]! |= 1 << (hash & 7);
  });
  const echoed = new Uint8Array(text.length);
  let scanned = 0;
  for (const value of strings) {
    if (scanned >= MAX_REQUEST_CHARS) break;
    scanned += value.length;
    forEachWindow(value, (hash, j) => {
      if ((maybe[(hash & 0xffff) >> 3]! & (1 << (hash & 7))) === 0) return;
      for (const i of windows.get(hash) ?? []) {
        if (text.startsWith(value.slice(j, j + ECHO_RUN), i)) echoed.fill(1, i, i + ECHO_RUN);
      }
    });
  }
  let out = '';
  for (let i = 0; i < text.length; ) {
    if (echoed[i]) {
      while (i < text.length && echoed[i]) i++;
      out += '[…]';
    } else out += text[i++];
  }
  return out;
}

/** Calls `visit` with a rolling hash of every `ECHO_RUN`-character window of `text`. */
function forEachWindow(text: string, visit: (hash: number, start: number) => void): void {
  let top = 1; // 31^(ECHO_RUN - 1)
  for (let k = 1; k < ECHO_RUN; k++) top = Math.imul(top, 31);
  let hash = 0;
  for (let i = 0; i < text.length; i++) {
    if (i >= ECHO_RUN) hash = (hash - Math.imul(text.charCodeAt(i - ECHO_RUN), top)) | 0;
    hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
    if (i >= ECHO_RUN - 1) visit(hash, i - ECHO_RUN + 1);
  }
}

/** The string values of a request body (depth- and count-bounded): what the user sent. */
function requestStrings(request: unknown): string[] {
  const strings: string[] = [];
  const seen = new Set<unknown>();
  const walk = (value: unknown, depth: number): void => {
    if (strings.length >= 10_000 || depth > 12) return;
    if (typeof value === 'string') {
      if (value.length >= ECHO_RUN) strings.push(value);
      return;
    }
    if (typeof value !== 'object' || value === null || seen.has(value)) return;
    seen.add(value);
    try {
      for (const item of Array.isArray(value) ? value : Object.values(value)) walk(item, depth + 1);
    } catch {
      // a getter that throws: the rest of the body is still walked
    }
  };
  walk(request, 0);
  return strings;
}

interface ProviderFields {
  facts: { status?: number; providerType?: string; code?: string };
  /** The provider's own message, when the error carries the parsed body. */
  text?: string;
}

/**
 * Reads the SDK error's parsed body: openai's `error` is `{ message, type, code, param }`;
 * Anthropic's is the whole body `{ type: 'error', error: { type, message } }`.
 */
function providerFields(error: unknown): ProviderFields {
  if (typeof error !== 'object' || error === null) return { facts: {} };
  const record = error as Record<string, unknown>;
  const facts: ProviderFields['facts'] = {};
  const status = record.status;
  if (typeof status === 'number' && Number.isInteger(status) && status >= 100 && status <= 599) facts.status = status;
  const body = asObject(record.error);
  const inner = asObject(body?.error) ?? body;
  const providerType = identifier(inner?.type);
  if (providerType !== undefined && providerType !== 'error') facts.providerType = providerType;
  const code = identifier(inner?.code) ?? identifier(record.code);
  if (code !== undefined) facts.code = code;
  const text = typeof inner?.message === 'string' ? inner.message : undefined;
  return text === undefined ? { facts } : { facts, text };
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** Short identifier-like values only (a "code" that is free text or a secret is dropped). */
function identifier(value: unknown): string | undefined {
  const text = typeof value === 'number' && Number.isInteger(value) ? String(value) : value;
  if (typeof text !== 'string' || !/^[A-Za-z0-9_.:-]{1,64}$/.test(text)) return undefined;
  return redactSecrets(text) === text ? text : undefined;
}

/** The SDKs prefix the status ("401 Incorrect API key…"); the status is already in the head. */
function stripStatusPrefix(message: string, status: number | undefined): string {
  return status !== undefined && message.startsWith(`${status} `) ? message.slice(String(status).length + 1) : message;
}

function stackFrames(stack: string): string | undefined {
  const lines = stack.split('\n');
  const first = lines.findIndex((line) => /^\s+at /.test(line));
  return first < 0 ? undefined : lines.slice(first).join('\n');
}

function truncate(text: string): string {
  return text.length <= MAX_MESSAGE ? text : `${text.slice(0, MAX_MESSAGE - 1)}…`;
}

/** The error's class name, else its `name`, else `_OTHER` (the conventions' `error.type`). */
export function errorClass(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const ctor = (error as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof ctor === 'string' && ctor !== 'Object' && ctor !== 'Error') return ctor;
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string' && name.length > 0) return name;
  }
  return '_OTHER';
}

/**
 * An error a provider reported inside a well-formed stream (`{"error": {...}}`, an `error`
 * event), for bodies read as they pass rather than through an SDK. Named `APIError`, as the
 * SDKs name it, so `error.type` is the same whichever way the request was made.
 */
export function providerStreamError(details: unknown): Error {
  const fields = typeof details === 'object' && details !== null ? (details as Record<string, unknown>) : {};
  const message = typeof fields.message === 'string' ? fields.message : 'the provider reported an error in the stream';
  const error = new Error(message);
  error.name = 'APIError';
  return Object.assign(error, {
    type: typeof fields.type === 'string' ? fields.type : undefined,
    code: typeof fields.code === 'string' ? fields.code : undefined,
  });
}
