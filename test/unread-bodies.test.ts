/**
 * A response the caller holds but does not read ends as `abandoned` after `abandonedTimeoutMs`.
 * Where this package hands out the body itself (`costFetch`, raw SDK bodies), what had arrived
 * by then is read, counted, and kept for the caller, who can still read every byte. An SDK
 * stream that is never iterated cannot be read without taking its bytes from the caller: it
 * ends with no output counted, and stays whole.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { costFetch } from '../src/index.js';
import { EMULATOR_SCRIPT_HEADER } from '../src/emulator/index.js';
import { useHarness } from './helpers/harness.js';
import { readText, sameIds } from './helpers/raw-bodies.js';
import { attr, onlySpan, script } from './helpers/spans.js';

const IDLE_MS = 300;
const harness = useHarness({ abandonedTimeoutMs: IDLE_MS });
const { otel } = harness;
const messages = [{ role: 'user' as const, content: 'Tell me a story.' }];
const body = { model: 'gpt-4o-mini', messages, stream: true };
const burst = { outputTokens: 300, burst: true };

const init = (): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', [EMULATOR_SCRIPT_HEADER]: JSON.stringify(burst) },
  body: JSON.stringify(body),
});

/** Waits for the one span, which ends only after the idle timeout. */
async function abandoned() {
  let spans = otel.spans();
  for (let wait = 0; wait < 100 && spans.length === 0; wait++) {
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS / 3));
    await otel.instrumentation.flush();
    spans = otel.spans();
  }
  return onlySpan(spans);
}

describe('a body held but not read', () => {
  it('costFetch: abandoned with what had arrived counted; the caller then reads every byte', async () => {
    const recorded = costFetch(undefined, { baseURLs: [harness.emulator.openaiBaseURL] });
    const url = `${harness.emulator.openaiBaseURL}/chat/completions`;
    const plain = sameIds(await readText((await fetch(url, init())).body));
    const response = await recorded(url, init());
    const span = await abandoned();
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'abandoned');
    assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'reported');
    assert.equal(attr(span, 'gen_ai.usage.output_tokens'), 300);
    assert.equal(sameIds(await readText(response.body)), plain);
  });

  it('asResponse(): abandoned with what had arrived counted; the caller then reads every byte', async () => {
    const client = harness.openai();
    const response = await client.chat.completions.create({ ...body, stream: true }, script(burst)).asResponse();
    const span = await abandoned();
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'abandoned');
    // Taken back before sending: the body carries no usage, its output is estimated from the text.
    assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'estimated');
    assert.ok(Math.abs((attr(span, 'gen_ai.usage.output_tokens') as number) - 300) <= 10);
    const text = await readText(response.body);
    assert.match(text, /data: \[DONE\]/);
    assert.ok(!text.includes('"usage"'));
  });

  it('an SDK stream never iterated: abandoned with no output counted, and still whole', async () => {
    const client = harness.openai();
    const stream = await client.chat.completions.create({ ...body, stream: true }, script(burst));
    const span = await abandoned();
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'abandoned');
    assert.equal(attr(span, 'gen_ai.usage.output_tokens'), 0);
    let chunks = 0;
    for await (const _chunk of stream) chunks++;
    assert.ok(chunks > 10, `every chunk is still there (${chunks})`);
  });
});
