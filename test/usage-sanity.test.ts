/**
 * Reported usage that no provider can mean (1e308, 10.5, -3) is not written as `reported`
 * nor priced: the request's estimate takes its place, and `diag` says so once per
 * provider and field. Through both SDKs, against an emulator that lies (`usageOverrides`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DiagLogLevel, diag } from '@opentelemetry/api';
import type { EmulatorScript } from '../src/emulator/index.js';
import { MAX_REPORTED_TOKENS } from '../src/core/usage-sanity.js';
import { sumPoints } from './helpers/otel.js';
import { useHarness } from './helpers/harness.js';
import { attr, onlySpan, script } from './helpers/spans.js';

const harness = useHarness();
const { otel } = harness;
const warnings: string[] = [];
before(() => {
  const note = (...args: unknown[]): void => {
    warnings.push(args.map(String).join(' '));
  };
  diag.setLogger(
    { error: note, warn: note, info: () => undefined, debug: () => undefined, verbose: () => undefined },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
});
after(() => {
  diag.disable();
});

const MESSAGES = [{ role: 'user' as const, content: 'Tell me about the tides.' }];

async function openaiStream(s: EmulatorScript): Promise<void> {
  const client = harness.openai();
  const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: MESSAGES, stream: true }, script(s));
  for await (const _chunk of stream) {
    // read it all: the usage chunk comes last
  }
}

async function anthropicStream(s: EmulatorScript): Promise<void> {
  const client = harness.anthropic();
  const stream = await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 200, messages: MESSAGES, stream: true }, script(s));
  for await (const _event of stream) {
    // read it all
  }
}

async function spentUsd(): Promise<number> {
  return sumPoints(await otel.metricPoints('llm_cost.spend'));
}

const warningsAbout = (provider: string, field: string) => warnings.filter((w) => w.includes(`${provider} reported ${field} =`));

describe('lying usage: rejected, estimated instead, said once', () => {
  it('openai: prompt_tokens 1e308 and completion_tokens 10.5', async () => {
    await openaiStream({ outputTokens: 30 });
    const honest = onlySpan(await otel.settle());
    otel.reset();
    const spentBefore = await spentUsd();
    for (let i = 0; i < 2; i++) await openaiStream({ outputTokens: 30, usageOverrides: { prompt_tokens: 1e308, completion_tokens: 10.5 } });
    const spans = await otel.settle(2);
    for (const span of spans) {
      assert.equal(attr(span, 'llm_cost.usage.input_tokens.source'), 'estimated');
      assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'estimated');
      assert.equal(attr(span, 'gen_ai.usage.input_tokens'), attr(honest, 'gen_ai.usage.input_tokens'), 'the exact estimate');
      assert.ok(Number.isInteger(attr(span, 'gen_ai.usage.output_tokens')));
      assert.ok((attr(span, 'llm_cost.cost.usd') as number) < 0.01);
    }
    assert.ok((await spentUsd()) - spentBefore < 0.01, 'the spend counter stays finite and small');
    assert.equal(warningsAbout('openai', 'input tokens').length, 1, warnings.join('\n'));
    assert.equal(warningsAbout('openai', 'output tokens').length, 1);
    assert.match(warningsAbout('openai', 'input tokens')[0]!, /= 1e\+308, not a whole number of tokens from 0 to 10,000,000/);
  });

  it('openai: a negative count, one over the ceiling, a string; a non-streaming body', async () => {
    const client = harness.openai();
    const lies = [
      { prompt_tokens: -3, completion_tokens: MAX_REPORTED_TOKENS + 1 },
      { prompt_tokens: '100', completion_tokens: '12' },
    ];
    for (const usageOverrides of lies) {
      otel.reset();
      await client.chat.completions.create({ model: 'gpt-4o-mini', messages: MESSAGES }, script({ outputTokens: 12, usageOverrides }));
      const span = onlySpan(await otel.settle());
      assert.equal(attr(span, 'llm_cost.usage.input_tokens.source'), 'estimated');
      assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'estimated');
      assert.equal(attr(span, 'gen_ai.usage.output_tokens'), 12, 'the body text, counted');
    }
  });

  it('anthropic: input_tokens 1e308 and output_tokens 10.5', async () => {
    await anthropicStream({ outputTokens: 30 });
    const honest = onlySpan(await otel.settle());
    otel.reset();
    await anthropicStream({ outputTokens: 30, usageOverrides: { input_tokens: 1e308, output_tokens: 10.5 } });
    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, 'llm_cost.usage.input_tokens.source'), 'estimated');
    assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'estimated');
    assert.ok(Number.isInteger(attr(span, 'gen_ai.usage.input_tokens')));
    assert.ok(Number.isInteger(attr(span, 'gen_ai.usage.output_tokens')));
    assert.ok((attr(span, 'llm_cost.cost.usd') as number) < 10 * (attr(honest, 'llm_cost.cost.usd') as number));
    assert.equal(warningsAbout('anthropic', 'input tokens').length, 1, warnings.join('\n'));
    assert.equal(warningsAbout('anthropic', 'output tokens').length, 1);
  });

  it('honest usage stays reported', async () => {
    await anthropicStream({ outputTokens: 30, usageOverrides: { input_tokens: 1234 } });
    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, 'llm_cost.usage.input_tokens.source'), 'reported');
    assert.equal(attr(span, 'gen_ai.usage.input_tokens'), 1234);
  });
});
