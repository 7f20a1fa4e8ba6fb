/**
 * Error bodies in the exact shapes the SDKs parse: `APIError.generate` reads
 * `{error: {...}}` for OpenAI and `{type: 'error', error: {type, message}}` for
 * Anthropic, and picks the error class from the HTTP status.
 */

interface ErrorDefaults {
  type: string;
  code: string | null;
  message: string;
}

const OPENAI_ERRORS: Record<number, ErrorDefaults> = {
  400: { type: 'invalid_request_error', code: null, message: 'Invalid request.' },
  401: { type: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided.' },
  403: { type: 'invalid_request_error', code: null, message: 'You are not allowed to sample from this model.' },
  404: {
    type: 'invalid_request_error',
    code: 'model_not_found',
    message: 'The model does not exist or you do not have access to it.',
  },
  429: { type: 'requests', code: 'rate_limit_exceeded', message: 'Rate limit reached for requests.' },
  500: {
    type: 'server_error',
    code: null,
    message: 'The server had an error while processing your request. Sorry about that!',
  },
  503: { type: 'server_error', code: null, message: 'The server is overloaded or not ready yet.' },
};

const ANTHROPIC_ERRORS: Record<number, ErrorDefaults> = {
  400: { type: 'invalid_request_error', code: null, message: 'Invalid request.' },
  401: { type: 'authentication_error', code: null, message: 'invalid x-api-key' },
  403: {
    type: 'permission_error',
    code: null,
    message: 'Your API key does not have permission to use the specified resource.',
  },
  404: { type: 'not_found_error', code: null, message: 'The requested resource could not be found.' },
  413: { type: 'request_too_large', code: null, message: 'Request exceeds the maximum allowed number of bytes.' },
  429: { type: 'rate_limit_error', code: null, message: 'Number of requests has exceeded your rate limit.' },
  500: { type: 'api_error', code: null, message: 'Internal server error' },
  529: { type: 'overloaded_error', code: null, message: 'Overloaded' },
};

function defaultsFor(table: Record<number, ErrorDefaults>, status: number): ErrorDefaults {
  return table[status] ?? (status >= 500 ? table[500] : table[400]);
}

export interface ErrorOverrides {
  type?: string;
  message?: string;
}

export function openaiErrorBody(status: number, overrides: ErrorOverrides = {}): { error: Record<string, unknown> } {
  const defaults = defaultsFor(OPENAI_ERRORS, status);
  return {
    error: {
      message: overrides.message ?? defaults.message,
      type: overrides.type ?? defaults.type,
      param: null,
      code: defaults.code,
    },
  };
}

export function anthropicErrorBody(status: number, overrides: ErrorOverrides = {}, requestId?: string): Record<string, unknown> {
  const type = overrides.type ?? defaultsFor(ANTHROPIC_ERRORS, status).type;
  const message = overrides.message ?? messageForAnthropicType(type) ?? defaultsFor(ANTHROPIC_ERRORS, status).message;
  const body: Record<string, unknown> = { type: 'error', error: { type, message } };
  if (requestId !== undefined) body.request_id = requestId;
  return body;
}

function messageForAnthropicType(type: string): string | undefined {
  return Object.values(ANTHROPIC_ERRORS).find((entry) => entry.type === type)?.message;
}

/** OpenAI chat/completions mid-stream error: a `data:` line the SDK turns into `APIError`. */
export function openaiStreamError(overrides: ErrorOverrides = {}): { error: Record<string, unknown> } {
  return openaiErrorBody(500, overrides);
}

/** Anthropic mid-stream error, sent as `event: error`. Real streams fail mostly with overload. */
export function anthropicStreamError(overrides: ErrorOverrides = {}): Record<string, unknown> {
  return anthropicErrorBody(529, { type: overrides.type ?? 'overloaded_error', message: overrides.message });
}

/** Responses API mid-stream `error` event (`ResponseErrorEvent`). */
export function responsesStreamError(sequenceNumber: number, overrides: ErrorOverrides = {}): Record<string, unknown> {
  return {
    type: 'error',
    code: overrides.type ?? 'server_error',
    message: overrides.message ?? OPENAI_ERRORS[500].message,
    param: null,
    sequence_number: sequenceNumber,
  };
}
