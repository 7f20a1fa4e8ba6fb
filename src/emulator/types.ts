/**
 * Public types of the provider emulator. Kept free of runtime code so every module
 * (and users) can import them without loading the tokenizer or the HTTP server.
 */

import type { IncomingHttpHeaders } from 'node:http';

/** Request header carrying a per-request {@link EmulatorScript} as JSON. */
export const EMULATOR_SCRIPT_HEADER = 'x-emulator-script';

export type EmulatorProvider = 'openai' | 'anthropic';

/**
 * How the emulator should answer one request. Every field is optional; a request's
 * script is merged over the emulator's default script (request fields win).
 */
export interface EmulatorScript {
  /** Output tokens to generate (o200k_base). Default 20. Ignored when `text` is set. */
  outputTokens?: number;
  /** Send exactly this text (still cut by the request's max tokens). */
  text?: string;
  /** Delay before every SSE event after the first one. Default 0. */
  chunkDelayMs?: number;
  /** Delay before the response headers (and the first chunk) are sent. */
  firstChunkDelayMs?: number;
  /** Destroy the socket right after this many content chunks, with no terminal event. */
  dropAfterChunks?: number;
  /** After this many content chunks send the provider's mid-stream error event and end. */
  errorAfterChunks?: number;
  /** End the response cleanly after the content, without the terminal events. */
  omitTerminal?: boolean;
  /**
   * Send the whole stream in one write, as a fast provider's events arrive in one network
   * read: the SDK decodes them all at once and hands them to the consumer one by one.
   */
  burst?: boolean;
  /** Reply with this HTTP status and a provider-shaped error body instead. */
  status?: number;
  /** Error type for `status` replies and mid-stream errors (e.g. `overloaded_error`). */
  errorType?: string;
  /** Error message for `status` replies and mid-stream errors. */
  errorMessage?: string;
  /**
   * A hostile error message instead of `errorMessage`: one that echoes the caller's API key
   * (`'api-key'`) or the start of its prompt (`'prompt'`), as some servers and gateways do.
   */
  errorEcho?: 'api-key' | 'prompt';
  /** Fail only the first N attempts of requests carrying the same script (status default 500). */
  failTimes?: number;
  /** Answer with a tool call (after `text`, when `text` is also given). */
  toolCall?: { name: string; arguments: Record<string, unknown> };
  /** Anthropic: a thinking block; OpenAI Responses: a reasoning summary; streamed before the answer. */
  thinking?: string;
  /**
   * Hidden reasoning tokens, added to the reported output but never streamed: OpenAI chat
   * and Responses reasoning; Anthropic, the thinking a streamed summary left out (Claude 4).
   */
  reasoningTokens?: number;
  /** Cache-read input tokens, reported on top of the counted prompt. */
  cacheReadTokens?: number;
  /**
   * Anthropic, and OpenAI Responses (`input_tokens_details.cache_write_tokens`): cache-creation
   * input tokens, reported on top of the counted prompt.
   */
  cacheCreationTokens?: number;
  /**
   * Anthropic: 1-hour cache writes, reported on top of the counted prompt like
   * `cacheCreationTokens` (then the 5-minute writes): `cache_creation_input_tokens` is their
   * sum, split in `cache_creation.ephemeral_5m_input_tokens` / `ephemeral_1h_input_tokens`.
   */
  cacheCreation1hTokens?: number;
  /**
   * The `service_tier` the response reports. Default: OpenAI echoes the request's tier
   * (`default` for none or `auto`, `priority` for `fast`); Anthropic reports `standard`.
   */
  serviceTier?: string;
  /**
   * Server-side tool calls, sent before the answer as the providers do. Anthropic:
   * `server_tool_use` blocks (web_search, web_fetch, code_execution) with their result
   * blocks, and `usage.server_tool_use.web_search_requests` / `web_fetch_requests`.
   * OpenAI Responses: `web_search_call`, `file_search_call` and `code_interpreter_call`
   * items with their progress events (all code interpreter calls in one container).
   */
  serverToolCalls?: EmulatorServerToolCalls;
  /** Id of a recording registered with `addRecording`; its events are sent as recorded. */
  replay?: string;
  /** With `replay`: remove the provider usage from what is sent. */
  stripUsage?: boolean;
  /**
   * A server that lies about usage: these fields (dotted paths such as `prompt_tokens`,
   * `prompt_tokens_details.cached_tokens`, `input_tokens`) are set to these values in every
   * usage object sent (`1e308`, `10.5`, `-3`, a string…).
   */
  usageOverrides?: Record<string, number | string | boolean | null>;
}

export interface EmulatorServerToolCalls {
  web_search?: number;
  web_fetch?: number;
  code_execution?: number;
  file_search?: number;
  code_interpreter?: number;
}

/** One recorded provider exchange, as in the project's `recordings-*.jsonl` files. */
export interface Recording {
  provider: EmulatorProvider;
  api: string;
  stream: boolean;
  request?: unknown;
  /** Every SSE `data:` object, in order (streams only; `[DONE]` dropped). */
  events?: unknown[];
  /** The JSON body (non-streams only). */
  response?: unknown;
  reported_usage?: unknown;
  usage_summary?: unknown;
  source_repo?: string;
  source_path?: string;
  source_commit?: string;
  [key: string]: unknown;
}

/**
 * How a request ended, from the server's side.
 * - `completed`: the whole response was written, terminal events included.
 * - `http_error`: an error status with an error body was sent.
 * - `stream_error`: a mid-stream error event was sent (`errorAfterChunks`).
 * - `omitted_terminal`: ended cleanly without terminal events (`omitTerminal`).
 * - `dropped`: the emulator destroyed the socket (`dropAfterChunks`).
 * - `client_closed`: the client went away before the response was fully written.
 * - `server_stopped`: `stop()` closed the connection mid-response.
 */
export type EmulatorOutcome = 'completed' | 'http_error' | 'stream_error' | 'omitted_terminal' | 'dropped' | 'client_closed' | 'server_stopped';

export interface EmulatorRequestLog {
  /** 1, 2, 3… in arrival order; reset by `reset()`. */
  id: number;
  provider: EmulatorProvider;
  method: string;
  /** Path including the query string, as received. */
  path: string;
  /** Parsed JSON body (`undefined` when the body was not JSON). */
  body: unknown;
  headers: IncomingHttpHeaders;
  /** The effective script (default merged with the request header). */
  script: EmulatorScript;
  /** Whether the request asked for SSE. */
  stream: boolean;
  /** HTTP status sent (0 until the headers are written). */
  status: number;
  startedAt: number;
  /** Set once the server is done with the request, whatever the outcome. */
  endedAt?: number;
  /** Content chunks written (text, thinking and tool-argument deltas). */
  chunksSent: number;
  /** o200k tokens of the content written so far (what the client could have seen). */
  outputTokensSent: number;
  /** True when the client closed the connection before the server finished writing. */
  clientClosedEarly: boolean;
  /** True only when the full successful response, terminal events included, was written. */
  completed: boolean;
  outcome?: EmulatorOutcome;
}

export interface EmulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a random free port). */
  port?: number;
  defaultScript?: EmulatorScript;
}
