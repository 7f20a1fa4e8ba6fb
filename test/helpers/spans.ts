import assert from 'node:assert/strict';
import type { tracing } from '@opentelemetry/sdk-node';
import { EMULATOR_SCRIPT_HEADER, type EmulatorScript } from '../../src/emulator/index.js';

type ReadableSpan = tracing.ReadableSpan;

/** Per-request options that script the emulator. */
export const script = (s: EmulatorScript) => ({ headers: { [EMULATOR_SCRIPT_HEADER]: JSON.stringify(s) } });

export function onlySpan(spans: ReadableSpan[]): ReadableSpan {
  assert.equal(spans.length, 1, `expected exactly one span, got ${spans.map((s) => s.name).join(', ')}`);
  return spans[0]!;
}

export const attr = (span: ReadableSpan, name: string): unknown => span.attributes[name];

/** Asserts the usage and cost attributes are consistent with the given sources. */
export function assertCost(span: ReadableSpan, expected: { outcome: string; input: 'reported' | 'estimated'; output: 'reported' | 'estimated' }): void {
  assert.equal(attr(span, 'llm_cost.stream.outcome'), expected.outcome, 'outcome');
  assert.equal(attr(span, 'llm_cost.usage.input_tokens.source'), expected.input, 'input source');
  assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), expected.output, 'output source');
  const costSource = expected.input === 'reported' && expected.output === 'reported' ? 'reported' : 'estimated';
  assert.equal(attr(span, 'llm_cost.cost.source'), costSource, 'cost source');
  const input = attr(span, 'gen_ai.usage.input_tokens') as number;
  const output = attr(span, 'gen_ai.usage.output_tokens') as number;
  assert.ok(input > 0, `input tokens ${input}`);
  assert.ok(output >= 0, `output tokens ${output}`);
  const total = attr(span, 'llm_cost.cost.usd') as number;
  const inputUsd = attr(span, 'llm_cost.cost.input_usd') as number;
  const outputUsd = attr(span, 'llm_cost.cost.output_usd') as number;
  assert.ok(total > 0, `cost ${total}`);
  assert.ok(Math.abs(inputUsd + outputUsd - total) < 1e-12, 'input + output = total');
}

/** Drops the fields that differ between two otherwise identical responses (ids, timestamps). */
export function normalizeChunk(chunk: unknown): unknown {
  return JSON.parse(
    JSON.stringify(chunk, (key, value: unknown) =>
      key === 'id' || key === 'created' || key === 'system_fingerprint' || key === '_request_id' ? undefined : value,
    ),
  );
}

/** Matches an SDK error by its class (the SDKs' errors all have `name === 'Error'`). */
export const errorNamed =
  (className: string) =>
  (error: unknown): boolean => {
    assert.equal((error as { constructor?: { name?: string } })?.constructor?.name, className);
    return true;
  };
