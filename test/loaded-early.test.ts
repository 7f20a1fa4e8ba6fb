/**
 * An SDK imported before the instrumentation was created (in a child process, with a real
 * `diag` logger): its already-loaded copy is instrumented at enable time and `diag` says,
 * once per SDK, that it was loaded early and how to avoid it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';

describe('SDKs loaded before the instrumentation', () => {
  it('openai and @anthropic-ai/sdk imported first: recorded anyway, and said once each with the fix', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures', 'loaded-early-child.ts')], {
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, OTEL_METRICS_EXPORTER: 'none', OTEL_TRACES_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' },
    });
    assert.equal(result.status, 0, result.stderr);
    const report = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { spans: { provider: string; input: number }[]; diagnostics: string[] };
    assert.deepEqual(report.spans.map((s) => s.provider).sort(), ['anthropic', 'openai']);
    for (const span of report.spans) assert.ok(span.input > 0);
    for (const name of ['openai', '@anthropic-ai/sdk']) {
      const said = report.diagnostics.filter(
        (d) => d.startsWith('warn: ') && d.includes(`${name}@`) && d.includes('was loaded before the instrumentation was enabled'),
      );
      assert.equal(said.length, 1, report.diagnostics.join('\n'));
      assert.match(said[0]!, /Create and register the instrumentation .* before anything imports/);
    }
  });
});
