/**
 * The emulator's HTTP server: routing, body and script parsing, scripted HTTP errors,
 * the request log, and lifecycle. Wire formats live in one module per endpoint; a
 * new endpoint is one entry in ROUTES.
 */

import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleMessages } from './anthropic-messages.js';
import { handleAnthropicCountTokens, handleResponsesInputTokens } from './count-tokens.js';
import { anthropicErrorBody, openaiErrorBody } from './errors.js';
import { Exchange } from './exchange.js';
import type { JsonObject } from './json.js';
import { isObject } from './json.js';
import { handleChatCompletions } from './openai-chat.js';
import { handleCompletions, handleEmbeddings } from './openai-legacy.js';
import type { RouteRequest } from './openai-responses.js';
import { handleCancelResponse, handleResponses, handleRetrieveResponse } from './openai-responses.js';
import { ids } from './random.js';
import { replayMismatch, replayRecording } from './replay.js';
import { mergeScripts, parseScriptHeader, scriptKey, ScriptError, validateScript } from './script.js';
import { echoedErrorMessage } from './echo.js';
import { loadTokenizer } from './tokenizer.js';
import type { EmulatorOptions, EmulatorProvider, EmulatorRequestLog, EmulatorScript, Recording } from './types.js';
import { EMULATOR_SCRIPT_HEADER } from './types.js';

type Handler = (exchange: Exchange, body: JsonObject, request: RouteRequest) => Promise<void>;

interface Route {
  /** Exact path, or with `{name}` segments that become `request.params.name`. */
  path: string;
  /** Default POST. */
  method?: 'GET' | 'POST';
  /** The request carries no JSON body (GET, and POSTs like `/cancel`). */
  noBody?: boolean;
  provider: EmulatorProvider;
  /** The recording `api` this endpoint can replay. */
  api: string;
  /** Undefined: the endpoint only serves replays for now. */
  handle?: Handler;
}

const ROUTES: Route[] = [
  { path: '/v1/chat/completions', provider: 'openai', api: 'chat.completions', handle: handleChatCompletions },
  { path: '/v1/completions', provider: 'openai', api: 'completions', handle: handleCompletions },
  { path: '/v1/embeddings', provider: 'openai', api: 'embeddings', handle: handleEmbeddings },
  { path: '/v1/responses', provider: 'openai', api: 'responses', handle: handleResponses },
  // Before `/v1/responses/{id}`, which would otherwise take it for a response id.
  { path: '/v1/responses/input_tokens', provider: 'openai', api: 'responses.input_tokens', handle: handleResponsesInputTokens },
  {
    path: '/v1/responses/{id}',
    method: 'GET',
    noBody: true,
    provider: 'openai',
    api: 'responses.retrieve',
    handle: handleRetrieveResponse,
  },
  {
    path: '/v1/responses/{id}/cancel',
    noBody: true,
    provider: 'openai',
    api: 'responses.cancel',
    handle: handleCancelResponse,
  },
  { path: '/v1/messages', provider: 'anthropic', api: 'messages', handle: handleMessages },
  { path: '/v1/messages/count_tokens', provider: 'anthropic', api: 'messages.count_tokens', handle: handleAnthropicCountTokens },
];

const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** Connections waiting to be accepted (the kernel caps it at net.core.somaxconn). */
const ACCEPT_BACKLOG = 4096;

export interface EmulatorEvents {
  /** A request arrived (its log entry is live and will be updated). */
  request: [EmulatorRequestLog];
  /** The server is done with a request (`endedAt` is set). */
  requestEnd: [EmulatorRequestLog];
}

export class ProviderEmulator extends EventEmitter<EmulatorEvents> {
  /** Every request since start (or the last `reset()`), in arrival order. */
  requests: EmulatorRequestLog[] = [];

  private readonly host: string;
  private readonly requestedPort: number;
  private defaultScript: EmulatorScript;
  private readonly recordings = new Map<string, Recording>();
  private readonly attempts = new Map<string, number>();
  private server: Server | undefined;
  private port: number | undefined;
  private starting: Promise<void> | undefined;
  private stopping = false;
  private nextId = 1;

  constructor(options: EmulatorOptions = {}) {
    super();
    this.host = options.host ?? '127.0.0.1';
    this.requestedPort = options.port ?? 0;
    this.defaultScript = validateScript(options.defaultScript ?? {});
  }

  get url(): string {
    if (this.port === undefined) throw new Error('ProviderEmulator: call start() first');
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `http://${host}:${this.port}`;
  }

  /** For `new OpenAI({ baseURL })`. */
  get openaiBaseURL(): string {
    return `${this.url}/v1`;
  }

  /** For `new Anthropic({ baseURL })` (the SDK appends `/v1/messages`). */
  get anthropicBaseURL(): string {
    return this.url;
  }

  /** Listens on the configured host and port (0 = a random free port). */
  start(): Promise<void> {
    this.starting ??= this.listen().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async listen(): Promise<void> {
    if (this.server) return;
    // Load o200k now (once per process) so the first request is not slower than the rest:
    // tests time first chunks and aborts.
    await loadTokenizer();
    this.stopping = false;
    const server = createServer({ noDelay: true }, (req, res) => {
      this.handle(req, res).catch(() => {
        // Only reachable before the request is logged (e.g. an unreadable body).
        if (!res.headersSent) res.writeHead(400).end();
        else res.destroy();
      });
    });
    // Idle keep-alive connections are left for the clients to close (the SDKs do after ~4 s),
    // as a provider's servers keep them longer than any SDK does. With Node's default of 5 s,
    // a process whose event loop runs late (a loaded machine, tests running client and
    // emulator in one process) could close a connection just as its client sent the next
    // request on it: ECONNRESET, "Connection error." in the SDK.
    server.keepAliveTimeout = 0;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // A deep accept queue (Node's default is 511): a test opening 1,000 connections at once
      // on a loaded machine, whose event loop accepts them slowly, otherwise overflows it, and
      // the kernel resets the connections it dropped (ECONNRESET in the SDK).
      server.listen({ port: this.requestedPort, host: this.host, backlog: ACCEPT_BACKLOG }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Closes the server and every open connection, streams in flight included. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.stopping = true;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
    this.port = undefined;
  }

  /** Registers a recording for `{ replay: id }` scripts. */
  addRecording(id: string, record: Recording): void {
    this.recordings.set(id, record);
  }

  setDefaultScript(script: EmulatorScript): void {
    this.defaultScript = validateScript(script);
  }

  /** Clears the request log and the `failTimes` attempt counters. */
  reset(): void {
    this.requests = [];
    this.attempts.clear();
    this.nextId = 1;
  }

  /** Resolves with the log once at least `count` requests have arrived. */
  waitForRequests(count: number, timeoutMs = 5000): Promise<EmulatorRequestLog[]> {
    return this.waitFor(
      () => (this.requests.length >= count ? this.requests.slice() : undefined),
      'request',
      timeoutMs,
      () => `waitForRequests(${count}): only ${this.requests.length} after ${timeoutMs} ms`,
    );
  }

  /** Resolves once the server is done with request `id` (its `endedAt` is set). */
  waitForRequestEnd(id: number, timeoutMs = 5000): Promise<EmulatorRequestLog> {
    return this.waitFor(
      () => {
        const log = this.requests.find((entry) => entry.id === id);
        return log?.endedAt !== undefined ? log : undefined;
      },
      'requestEnd',
      timeoutMs,
      () => `waitForRequestEnd(${id}): not ended after ${timeoutMs} ms`,
    );
  }

  private waitFor<T>(check: () => T | undefined, event: keyof EmulatorEvents, timeoutMs: number, describe: () => string): Promise<T> {
    const ready = check();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise<T>((resolve, reject) => {
      const listener = (): void => {
        const value = check();
        if (value === undefined) return;
        cleanup();
        resolve(value);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(describe()));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.off(event, listener);
      };
      this.on(event, listener);
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const matched = matchRoute(url.pathname);
    const route = matched?.route;
    // Unknown paths still get an error body shaped for the SDK that most likely sent them.
    const guessed: EmulatorProvider = url.pathname.startsWith('/v1/messages') ? 'anthropic' : 'openai';
    const provider = route?.provider ?? guessed;
    const raw = await readBody(req);
    let body: unknown;
    let bodyError: string | undefined;
    try {
      body = raw.length > 0 ? JSON.parse(raw) : undefined;
    } catch {
      bodyError = 'We could not parse the JSON body of your request.';
    }

    let script: EmulatorScript = this.defaultScript;
    let scriptError: string | undefined;
    try {
      script = mergeScripts(this.defaultScript, parseScriptHeader(req.headers[EMULATOR_SCRIPT_HEADER]));
    } catch (error) {
      if (!(error instanceof ScriptError)) throw error;
      scriptError = `${EMULATOR_SCRIPT_HEADER}: ${error.message}`;
    }

    if (script.errorEcho !== undefined) {
      script = { ...script, errorMessage: echoedErrorMessage(provider, script.errorEcho, req.headers, body) };
    }

    const streamedGet = route?.method === 'GET' && url.searchParams.get('stream') === 'true';
    const stream = (isObject(body) && body.stream === true) || streamedGet;
    const log: EmulatorRequestLog = {
      id: this.nextId++,
      provider,
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      body,
      headers: req.headers,
      script,
      stream,
      status: 0,
      startedAt: Date.now(),
      chunksSent: 0,
      outputTokensSent: 0,
      clientClosedEarly: false,
      completed: false,
    };
    this.requests.push(log);
    const requestId = provider === 'anthropic' ? ids.anthropicRequest() : ids.openaiRequest();
    const exchange = new Exchange(
      res,
      log,
      script,
      provider,
      requestId,
      () => this.stopping,
      (ended) => this.emit('requestEnd', ended),
    );
    this.emit('request', log);
    try {
      const request: RouteRequest = { params: matched?.params ?? {}, query: url.searchParams };
      await this.dispatch(exchange, route, url, body, bodyError, scriptError, request);
    } catch (error) {
      // An emulator bug must still end the request visibly, not hang the client.
      const message = error instanceof Error ? error.message : String(error);
      if (!res.headersSent) sendError(exchange, 500, { message: `emulator failure: ${message}` });
      else await exchange.drop();
    }
  }

  private async dispatch(
    exchange: Exchange,
    route: Route | undefined,
    url: URL,
    body: unknown,
    bodyError: string | undefined,
    scriptError: string | undefined,
    request: RouteRequest,
  ): Promise<void> {
    const { script, log } = exchange;
    const stream = log.stream;
    if (!(await exchange.sleep(script.firstChunkDelayMs ?? 0))) return;

    if (!route || log.method !== (route.method ?? 'POST')) {
      return sendError(exchange, 404, { message: `Unknown request URL: ${log.method} ${url.pathname}.` });
    }
    if (scriptError !== undefined) return sendError(exchange, 400, { message: scriptError });
    if (route.noBody && body === undefined) body = {};
    if (bodyError !== undefined || !isObject(body)) {
      return sendError(exchange, 400, { message: bodyError ?? 'The request body must be a JSON object.' });
    }
    if (this.shouldFail(route, script)) {
      return sendError(exchange, script.status ?? 500, { type: script.errorType, message: script.errorMessage });
    }
    if (script.replay !== undefined) {
      const recording = this.recordings.get(script.replay);
      const problem = recording ? replayMismatch(recording, route.api, stream) : 'no such recording';
      if (!recording || problem !== undefined) {
        return sendError(exchange, 400, { message: `replay "${script.replay}": ${problem}` });
      }
      return replayRecording(exchange, recording, stream);
    }
    if (!route.handle) {
      return sendError(exchange, 400, {
        message: `${url.pathname} is only served from recordings so far: send a { replay } script.`,
      });
    }
    await route.handle(exchange, body, request);
  }

  /** Scripted failures: always with `status` alone, the first N attempts with `failTimes`. */
  private shouldFail(route: Route, script: EmulatorScript): boolean {
    if (script.failTimes === undefined) return script.status !== undefined;
    const key = scriptKey(route.path, script);
    const attempt = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, attempt);
    return attempt <= script.failTimes;
  }
}

function matchRoute(pathname: string): { route: Route; params: Record<string, string> } | undefined {
  for (const route of ROUTES) {
    if (!route.path.includes('{')) {
      if (route.path === pathname) return { route, params: {} };
      continue;
    }
    const names: string[] = [];
    const pattern = route.path.replace(/\{(\w+)\}/g, (_whole, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    const match = new RegExp(`^${pattern}$`).exec(pathname);
    if (!match) continue;
    const params: Record<string, string> = {};
    for (const [i, name] of names.entries()) params[name] = decodeURIComponent(match[i + 1] ?? '');
    return { route, params };
  }
  return undefined;
}

function sendError(exchange: Exchange, status: number, overrides: { type?: string; message?: string }): void {
  const body = exchange.provider === 'anthropic' ? anthropicErrorBody(status, overrides, exchange.requestId) : openaiErrorBody(status, overrides);
  // Retryable statuses: tell the SDKs to retry at once, so retry tests stay fast.
  // (`retry-after: 0` alone makes both SDKs fall back to their ~0.5 s backoff.)
  const retryHeaders: Record<string, string> = status === 429 || status >= 500 ? { 'retry-after': '0', 'retry-after-ms': '1' } : {};
  exchange.sendJson(status, body, retryHeaders);
  exchange.finish('http_error');
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Creates and starts an emulator. */
export async function startEmulator(options?: EmulatorOptions): Promise<ProviderEmulator> {
  const emulator = new ProviderEmulator(options);
  await emulator.start();
  return emulator;
}
