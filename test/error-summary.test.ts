/**
 * Provider error text on spans: a server that echoes the API key or the prompt into its
 * error (the emulator's `errorEcho`), through both SDKs, as an HTTP error and mid-stream.
 * By default the span carries the status, the provider's error type and code, and a
 * summary with no key and no request content; with content capture on, the full text.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { EmulatorScript } from '../src/emulator/index.js';
import { redactSecrets, safeText, summarizeError } from '../src/core/error-summary.js';
import { useHarness } from './helpers/harness.js';
import { attr, onlySpan, script } from './helpers/spans.js';

const harness = useHarness();
const { otel } = harness;
afterEach(() => {
  otel.instrumentation.setConfig({});
  otel.reset();
});

const OPENAI_KEY = 'sk-proj-Hx7Q2mZp9LrT4vWb8NcY3kJd6FgS1aEu';
const ANTHROPIC_KEY = 'sk-ant-api03-Rk4Tz9Qm2Xb7Lp5Wn8Vc3Hj6Dg1Fs0Ay-Zt4Qe7';
const PROMPT = 'The launch code for the northern silo is tango seven niner';

type Provider = 'openai' | 'anthropic';

/** Runs one streaming request that fails as scripted; returns the error the caller saw. */
async function fail(provider: Provider, s: EmulatorScript): Promise<unknown> {
  try {
    if (provider === 'openai') {
      const client = harness.openai({ apiKey: OPENAI_KEY });
      const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: PROMPT }], stream: true }, script(s));
      for await (const _chunk of stream) {
        // read until the error
      }
    } else {
      const client = harness.anthropic({ apiKey: ANTHROPIC_KEY });
      const stream = await client.messages.create(
        { model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: PROMPT }], stream: true },
        script(s),
      );
      for await (const _event of stream) {
        // read until the error
      }
    }
  } catch (error) {
    return error;
  }
  assert.fail('the request did not fail');
}

/** Everything the span would export about its error, as one string. */
function exported(span: ReturnType<typeof onlySpan>): string {
  return JSON.stringify({ status: span.status, attributes: span.attributes, events: span.events });
}

/** No run of 12 characters of the prompt anywhere in `text`. */
function assertNoPrompt(text: string): void {
  for (let i = 0; i + 12 <= PROMPT.length; i++) assert.ok(!text.includes(PROMPT.slice(i, i + 12)), `prompt text leaked: ${PROMPT.slice(i, i + 12)}`);
}

const KEY: Record<Provider, string> = { openai: OPENAI_KEY, anthropic: ANTHROPIC_KEY };

for (const provider of ['openai', 'anthropic'] as const) {
  describe(`${provider}: hostile error text`, () => {
    it('a 401 that echoes the API key: the status and codes are kept, the key is not', async () => {
      const error = await fail(provider, { status: 401, errorEcho: 'api-key' });
      assert.ok(String((error as Error).message).includes(KEY[provider]), 'the caller still sees the SDK error as sent');
      const span = onlySpan(await otel.settle());
      assert.equal(span.status.code, 2);
      assert.equal(attr(span, 'http.response.status_code'), 401);
      assert.equal(attr(span, 'error.type'), 'AuthenticationError');
      assert.equal(attr(span, 'llm_cost.error.provider_type'), provider === 'openai' ? 'invalid_request_error' : 'authentication_error');
      if (provider === 'openai') assert.equal(attr(span, 'llm_cost.error.code'), 'invalid_api_key');
      assert.ok(!exported(span).includes(KEY[provider].slice(8)), exported(span));
      assert.match(span.status.message ?? '', /^401 /);
      assert.match(span.status.message ?? '', /\[REDACTED\]/);
      const exception = span.events.find((e) => e.name === 'exception');
      assert.equal(exception?.attributes?.['exception.message'], span.status.message);
      assert.match(String(exception?.attributes?.['exception.stacktrace']), /^AuthenticationError: 401 .*\n\s+at /);
    });

    it('a 400 that echoes the prompt, quoted and not: no request content on the span', async () => {
      await fail(provider, { status: 400, errorEcho: 'prompt' });
      const span = onlySpan(await otel.settle());
      assert.equal(attr(span, 'http.response.status_code'), 400);
      assert.equal(attr(span, 'error.type'), 'BadRequestError');
      assertNoPrompt(exported(span));
      assert.match(span.status.message ?? '', /rejected by the safety system/, 'the provider text that is not the prompt stays');
    });

    it('a mid-stream error that echoes the prompt: no request content on the span', async () => {
      await fail(provider, { errorAfterChunks: 2, errorEcho: 'prompt' });
      const span = onlySpan(await otel.settle());
      assert.equal(attr(span, 'llm_cost.stream.outcome'), 'error');
      assertNoPrompt(exported(span));
    });

    it('with content capture on, the error text is recorded as sent', async () => {
      otel.instrumentation.setConfig({ captureMessageContent: true });
      await fail(provider, { status: 401, errorEcho: 'api-key' });
      const span = onlySpan(await otel.settle());
      assert.ok((span.status.message ?? '').includes(KEY[provider]));
    });
  });
}

describe('the summary rules', () => {
  it('redacts key-shaped strings', () => {
    const cases: [string, string][] = [
      ['Incorrect API key provided: sk-proj-abc123DEF456ghi789JKL.', 'Incorrect API key provided: [REDACTED].'],
      ['key sk-ant-api03-AbCdEf012345 rejected', 'key [REDACTED] rejected'],
      ['Authorization: Bearer eyJhbGciOi.JIUzI1NiJ9.abc', 'Authorization: Bearer [REDACTED]'],
      ['sent Bearer abcdefgh12345678 twice', 'sent Bearer [REDACTED] twice'],
      ['{"x-api-key": "abc-123-def"}', '{"x-api-key": "[REDACTED]"}'],
      ['api_key=hunter2hunter2', 'api_key=[REDACTED]'],
      ['AWS AKIAIOSFODNN7EXAMPLE leaked', 'AWS [REDACTED] leaked'],
      ['token ghp_16C7e42F292c6912E7710c838347Ae178B4a', 'token [REDACTED]'],
    ];
    for (const [input, expected] of cases) assert.equal(redactSecrets(input), expected, input);
  });

  it('keeps ordinary provider text, model names and numbers', () => {
    const text = "This model's maximum context length is 128000 tokens; claude-3-5-sonnet-20240620 and gpt-4o-mini-2024-07-18 exist.";
    assert.equal(safeText(text, {}), text);
  });

  it('removes quoted spans and anything the request contained', () => {
    const request = { messages: [{ role: 'user', content: 'please summarise my medical record number 4471' }] };
    assert.equal(
      safeText("Invalid 'messages[0].content': please summarise my medical record number 4471 was flagged", request),
      "Invalid '…': […] was flagged",
    );
  });

  it('builds the message from the structured fields, whatever the error', () => {
    const apiError = Object.assign(new Error('429 Rate limit reached for sk-proj-abcdefghij0123456789'), {
      status: 429,
      error: { message: 'Rate limit reached for sk-proj-abcdefghij0123456789', type: 'requests', code: 'rate_limit_exceeded' },
    });
    const summary = summarizeError(apiError, { request: {}, verbatim: false });
    assert.equal(summary.message, '429 requests (rate_limit_exceeded): Rate limit reached for [REDACTED]');
    assert.equal(summarizeError(new TypeError('terminated'), { request: {}, verbatim: false }).message, 'terminated');
    assert.equal(summarizeError(undefined, { request: {}, verbatim: false }).message, '_OTHER');
    const hostileCode = Object.assign(new Error('x'), { status: 400, error: { message: 'x', code: 'sk-proj-abcdefghij0123456789' } });
    assert.equal(summarizeError(hostileCode, { request: {}, verbatim: false }).code, undefined);
  });
});
