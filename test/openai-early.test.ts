/**
 * openai 4.0.0 to 4.12.1: their `Stream` has no `iterator`, so the usage this package would
 * ask for could be neither read nor hidden. The real openai 4.11.1 (the `openai-v4-early`
 * alias), loaded as `openai` through the module hooks, is left untouched: one `diag`
 * warning, no `stream_options` added to the request, and the caller's loop sees only the
 * chunks it asked for.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { isSupportedVersion } from '../src/core/version-range.js';
import { OPENAI_VERSIONS } from '../src/providers/openai/targets.js';
import { useHarness } from './helpers/harness.js';
import { script } from './helpers/spans.js';

const messages: string[] = [];
const collect = (...args: unknown[]): void => {
  messages.push(args.map(String).join(' '));
};
diag.setLogger(
  { error: collect, warn: collect, info: () => {}, debug: () => {}, verbose: () => {} },
  { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
);

const harness = useHarness();
const { otel } = harness;
const requireHere = createRequire(__filename);

/**
 * A folder whose `node_modules/openai` is a copy of the alias: module hooks see a package
 * only under its own name. Its dependencies resolve from the repository's node_modules.
 */
function earlyOpenAIApp(): string {
  const source = dirname(requireHere.resolve('openai-v4-early'));
  const app = join(__dirname, '..', 'node_modules', '.cache', 'otel-llm-cost-openai-4.11.1');
  const target = join(app, 'node_modules', 'openai');
  if (!existsSync(join(target, 'package.json'))) {
    mkdirSync(dirname(target), { recursive: true });
    cpSync(source, target, { recursive: true });
  }
  writeFileSync(join(app, 'package.json'), '{"private": true}\n');
  return join(app, 'app.js');
}

after(() => {
  diag.disable();
});

describe('openai before 4.12.3', () => {
  it('the range starts at 4.12.3 (4.12.2 was never published)', () => {
    assert.equal(isSupportedVersion('4.12.1', OPENAI_VERSIONS), false);
    assert.equal(isSupportedVersion('4.11.1', OPENAI_VERSIONS), false);
    assert.equal(isSupportedVersion('4.12.3', OPENAI_VERSIONS), true);
  });

  it('openai 4.11.1 through the hooks: left untouched, said once, the caller sees only its chunks', async () => {
    const app = createRequire(earlyOpenAIApp());
    // biome-ignore lint/suspicious/noExplicitAny: openai 4.11.1 is loaded from a scratch app, its types are not this project's.
    const sdk = app('openai') as { OpenAI: new (options: object) => any };
    assert.equal((requireHere(join(dirname(app.resolve('openai')), 'package.json')) as { version: string }).version, '4.11.1');
    const client = new sdk.OpenAI({ apiKey: 'k', baseURL: harness.emulator.openaiBaseURL, maxRetries: 0 });
    for (let i = 0; i < 2; i++) {
      const stream = await client.chat.completions.create(
        { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }], stream: true },
        script({ outputTokens: 10 }),
      );
      const deltas: string[] = [];
      // What an app written for this SDK does: every chunk has a choice.
      for await (const chunk of stream) deltas.push(chunk.choices[0].delta.content ?? '');
      assert.ok(deltas.join('').length > 0);
    }
    const bodies = harness.emulator.requests.map((r) => r.body as { stream_options?: unknown });
    assert.equal(bodies.length, 2);
    for (const body of bodies) assert.equal(body.stream_options, undefined, 'nothing added to the request');
    const said = messages.filter((m) => m.includes('openai@4.11.1') && m.includes('outside the supported range >=4.12.3 <8'));
    assert.equal(said.length, 1, messages.join('\n'));
    await otel.instrumentation.flush();
    assert.equal(otel.spans().length, 0, 'no span for a version left untouched');
  });
});
