/**
 * The tokenizer worker in hostile conditions, each in its own process with a real `diag`
 * logger (test/fixtures/tokenizer-child.ts): a worker that never answers, one that cannot
 * start, and an application that is done while counts are in flight. A healthy run is the
 * reference: the figures on the spans must not depend on where the counting ran.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';

interface ChildReport {
  spans: { input: number; inputSource: string; output: number; outputSource: string }[];
  diagnostics: string[];
  mainThreadEncodings: string[];
  cutToSpanEndMs: number[];
  maxStallMs: number;
}

const fixtures = join(__dirname, 'fixtures');

function runChild(script: string, args: string[] = [], hostile?: 'silent' | 'no-start'): { status: number | null; stdout: string; stderr: string } {
  const preload = hostile ? ['--require', join(fixtures, 'hostile-tokenizer-worker.cjs')] : [];
  const result = spawnSync(process.execPath, [...preload, '--import', 'tsx', join(fixtures, script), ...args], {
    encoding: 'utf8',
    timeout: 180_000,
    // No exporters from the environment: the child exports to memory only.
    env: { ...process.env, HOSTILE_TOKENIZER_WORKER: hostile ?? '', OTEL_METRICS_EXPORTER: 'none', OTEL_TRACES_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function report(hostile?: 'silent' | 'no-start'): ChildReport {
  const { status, stdout, stderr } = runChild('tokenizer-child.ts', [], hostile);
  assert.equal(status, 0, stderr);
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as ChildReport;
}

const tokenizerWarnings = (r: ChildReport) => r.diagnostics.filter((d) => /tokenizer worker/.test(d));

describe('the tokenizer worker, hostile', () => {
  let healthy: ChildReport;
  before(() => {
    healthy = report();
  });

  it('healthy: estimates counted in the worker (warmed at enable), nothing said, no rank data on the main thread', () => {
    assert.equal(healthy.spans.length, 2);
    for (const span of healthy.spans) {
      assert.equal(span.inputSource, 'estimated');
      assert.equal(span.outputSource, 'estimated');
    }
    assert.deepEqual(healthy.diagnostics, []);
    assert.deepEqual(healthy.mainThreadEncodings, []);
  });

  it('a worker that never answers: given up after one silence, said once, later counts on the main thread, same figures', () => {
    const silent = report('silent');
    assert.deepEqual(silent.spans, healthy.spans, 'the same exact estimates, not the rough fallback');
    assert.equal(tokenizerWarnings(silent).length, 1, silent.diagnostics.join('\n'));
    assert.match(tokenizerWarnings(silent)[0]!, /^warn: otel-llm-cost .*silent for \d+ ms.*main thread/);
    assert.deepEqual(silent.mainThreadEncodings, ['o200k_base']);
  });

  it('a worker that cannot start: said once, counts on the main thread, same figures', () => {
    const broken = report('no-start');
    assert.deepEqual(broken.spans, healthy.spans);
    assert.equal(tokenizerWarnings(broken).length, 1, broken.diagnostics.join('\n'));
    assert.match(tokenizerWarnings(broken)[0]!, /^warn: otel-llm-cost .*cannot start.*main thread/);
    assert.deepEqual(broken.mainThreadEncodings, ['o200k_base']);
  });
});

describe('the tokenizer never holds the process open', () => {
  it('an application that is done exits with a count in flight', () => {
    const { status, stdout, stderr } = runChild('count-and-leave.ts');
    assert.equal(status, 0, stderr);
    assert.doesNotMatch(stdout, /counted/, 'the process waited for the count');
  });

  it('warming the encoder at enable time does not keep a process alive', () => {
    const { status, stderr } = runChild('count-and-leave.ts', ['warm-only']);
    assert.equal(status, 0, stderr);
  });
});
