/**
 * Disabling, re-enabling and unpatching at run time: the SDK methods are restored exactly
 * (the very same functions), and requests made while disabled get no span.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { it } from 'node:test';
import { anthropicTargets } from '../src/providers/anthropic/targets.js';
import { createOpenAIState, openaiTargets } from '../src/providers/openai/targets.js';
import type { PatchTarget } from '../src/core/patch-target.js';
import { useHarness } from './helpers/harness.js';
import { script } from './helpers/spans.js';

const harness = useHarness();
const { otel } = harness;
const requireHere = createRequire(__filename);

type Wrapped = ((...args: unknown[]) => unknown) & { __wrapped?: boolean; __original?: unknown };
const methodsOf = (targets: PatchTarget[]) => targets.map((t) => ({ label: t.label, get: () => (t.owner as Record<string, Wrapped>)[t.method]! }));

it('disable() restores the original methods, enable() wraps them again, and only enabled requests get spans', async () => {
  const methods = [
    ...methodsOf(openaiTargets(requireHere('openai'), createOpenAIState())),
    ...methodsOf(anthropicTargets(requireHere('@anthropic-ai/sdk'), () => 'suppress')),
  ];
  assert.ok(methods.length >= 3);
  const originals = methods.map((m) => {
    const wrapped = m.get();
    assert.equal(wrapped.__wrapped, true, `${m.label} is wrapped while enabled`);
    return wrapped.__original;
  });

  otel.instrumentation.disable();
  for (const [i, m] of methods.entries()) assert.equal(m.get(), originals[i], `${m.label} is the original function again`);
  const client = harness.openai();
  const ask = async () => {
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true },
      script({ outputTokens: 3 }),
    );
    let n = 0;
    for await (const _chunk of stream) n++;
    return n;
  };
  assert.ok((await ask()) > 0);
  const sent = harness.emulator.requests.at(-1)!.body as { stream_options?: unknown };
  assert.equal(sent.stream_options, undefined, 'a disabled instrumentation changes nothing in the request');
  await otel.instrumentation.flush();
  assert.equal(otel.spans().length, 0);

  otel.instrumentation.enable();
  methods.forEach((m, i) => {
    assert.equal(m.get().__wrapped, true, `${m.label} wrapped again`);
    assert.equal(m.get().__original, originals[i], `${m.label} wraps the same original`);
  });
  await ask();
  assert.equal((await otel.settle(1)).length, 1);

  // Twice in a row is harmless both ways.
  otel.instrumentation.disable();
  otel.instrumentation.disable();
  for (const [i, m] of methods.entries()) assert.equal(m.get(), originals[i]);
  otel.instrumentation.enable();
  otel.instrumentation.enable();
  for (const [i, m] of methods.entries()) assert.equal(m.get().__original, originals[i], `${m.label} not double-wrapped`);
});
