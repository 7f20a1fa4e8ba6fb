/**
 * Every example and the demo, run as a user runs them: a child `node` process against the
 * built package (`require('otel-llm-cost')` resolves to dist/ through the package's
 * self-reference) and the embedded emulator, no network. Each must exit 0, on its own, and
 * print what it promises. (One still running after five minutes is killed: a hang, not load.)
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { before, describe, it } from 'node:test';
import { PriceCatalog } from '../src/pricing/catalog.js';
import { priceRequest } from '../src/pricing/price-request.js';
import { redisUnavailableReason } from './helpers/redis-server.js';

const root = resolve(__dirname, '..');
const CHILD_TIMEOUT_MS = 300_000;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runNode(args: string[]): Promise<Run> {
  const env = { ...process.env };
  // The examples choose their exporter from these; keep the runs offline and predictable.
  for (const name of Object.keys(env)) {
    if (name.startsWith('OTEL_') || name === 'NODE_OPTIONS') delete env[name];
  }
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

function assertExitedCleanly(run: Run, what: string): void {
  const output = `--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
  assert.equal(run.signal, null, `${what} was killed (${run.signal}): it did not finish within ${CHILD_TIMEOUT_MS} ms\n${output}`);
  assert.equal(run.code, 0, `${what} exited with ${run.code}\n${output}`);
}

const usd = (text: string): number => Number(/\$(\d+\.\d+)/.exec(text)?.[1] ?? NaN);

before(() => {
  const built = ['dist/cjs/index.js', 'dist/cjs/emulator/index.js', 'dist/esm/index.js', 'dist/esm/emulator/index.js'];
  if (built.every((file) => existsSync(join(root, file)))) return;
  const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, encoding: 'utf8' });
  assert.equal(build.status, 0, `build failed:\n${build.stdout}\n${build.stderr}`);
});

// The examples are separate processes that share nothing: two run side by side.
describe('examples run offline and exit 0', { concurrency: 2 }, () => {
  it('demo: a table of every outcome, reported and estimated, with a cost for each', async () => {
    const run = await runNode(['examples/demo.cjs']);
    assertExitedCleanly(run, 'examples/demo.cjs');
    const lines = run.stdout.split('\n');
    const rows = lines
      .filter((line) => /^(openai|anthropic)\s/.test(line))
      .map((line) => {
        const [provider, model, scenario, outcome, chunks, input, output, cost] = line.split(/\s{2,}/);
        return { provider, model, scenario, outcome, chunks, input, output, cost, line };
      });
    assert.equal(rows.length, 12, `six scenarios per provider:\n${run.stdout}`);

    for (const provider of ['openai', 'anthropic']) {
      const outcomes = rows.filter((r) => r.provider === provider).map((r) => r.outcome);
      assert.deepEqual(outcomes, ['completed', 'broken', 'cancelled', 'error', 'completed', 'budget_exceeded'], `${provider} outcomes`);
    }
    for (const row of rows) {
      assert.ok(row.cost, `a cost on every row: ${row.line}`);
      assert.ok(usd(row.cost!) > 0, `a non-zero cost: ${row.line}`);
      if (row.outcome === 'completed') {
        assert.match(row.input!, /^\s*\d+ reported$/, row.line);
        assert.match(row.output!, /^\s*\d+ reported$/, row.line);
        assert.match(row.cost!, / reported$/, row.line);
      } else {
        // Cut short: the provider never sent the output count, so it is estimated, and so is the cost.
        assert.match(row.output!, /^\s*[1-9]\d* estimated$/, row.line);
        assert.match(row.cost!, / estimated$/, row.line);
      }
    }

    const total = lines.find((line) => line.startsWith('total'));
    assert.ok(total, 'a total line');
    const sum = rows.reduce((n, r) => n + usd(r.cost!), 0);
    assert.ok(Math.abs(usd(total) - sum) < 2e-6, `total ${usd(total)} = sum of rows ${sum}`);
    assert.match(run.stdout, /reported\s+= the provider's own numbers/);
    assert.match(run.stdout, /estimated = counted locally/);
    const budgetLines = [
      ...run.stdout.matchAll(/budget "(demo-\w+)" \(\$(\d+\.\d+)\) stopped the \w+ stream after (\d+) chunks with BudgetExceededError; spent \$(\d+\.\d+)/g),
    ];
    assert.equal(budgetLines.length, 2, run.stdout);
    for (const [, , limit, , spent] of budgetLines) {
      // Stopped at the limit, give or take the chunk that crossed it (and the 7-digit rounding).
      assert.ok(Math.abs(Number(spent) - Number(limit)) <= 0.1 * Number(limit), `spent ${spent} of ${limit}`);
    }
    const spend = /12 spans written; metric llm_cost\.spend = \$(\d+\.\d+)/.exec(run.stdout);
    assert.ok(spend, 'spans and the spend metric are reported');
    assert.ok(Math.abs(Number(spend[1]) - usd(total)) < 1e-6, 'llm_cost.spend matches the table total');
  });

  it('budget-caps: a stream stopped mid-way, a refusal before sending, tenants capped from baggage', async () => {
    const run = await runNode(['examples/budget-caps.cjs']);
    assertExitedCleanly(run, 'examples/budget-caps.cjs');
    assert.match(run.stdout, /^1\. stopped mid-stream after \d+ chunks: Budget "session-42"/m);
    assert.match(run.stdout, /^2\. refused before sending \(reason preflight\); requests the emulator saw: 1$/m);
    const spent = Number(/session-42: limit \$0\.0001, spent \$(\d+\.\d+)/.exec(run.stdout)?.[1]);
    // A cold process: the stop rests on the tokens-per-character ratio (docs/budgets.md).
    assert.ok(Math.abs(spent - 0.0001) < 0.000008, `spent ${spent} of $0.0001`);
    assert.match(run.stdout, /the provider saw the client go away: true \(sent \d+ of 5000 tokens\)/);
    assert.deepEqual(
      [...run.stdout.matchAll(/^3\. tenant (\w+): (\w+) stop by budget "tenant:(\w+)"$/gm)].map((m) => `${m[1]} ${m[2]} ${m[3]}`),
      ['acme midstream acme', 'acme preflight acme', 'globex midstream globex'],
    );
  });

  it('register-nodesdk: a console-exported span with tokens and cost', async () => {
    const run = await runNode(['examples/register-nodesdk.cjs']);
    assertExitedCleanly(run, 'examples/register-nodesdk.cjs');
    assert.match(run.stdout, /answer: "/);
    assert.match(run.stdout, /instrumentationScope: \{ name: 'otel-llm-cost'/);
    assert.match(run.stdout, /'llm_cost\.stream\.outcome': 'completed'/);
    assert.match(run.stdout, /'llm_cost\.cost\.source': 'reported'/);
    assert.match(run.stdout, /'gen_ai\.usage\.output_tokens': 12\b/);
    assert.match(run.stdout, /'llm_cost\.cost\.usd': \d/);
  });

  it('cancelled-after-20-chunks: no usage from the SDK, tokens and spend on the span and metric', async () => {
    const run = await runNode(['examples/cancelled-after-20-chunks.cjs']);
    assertExitedCleanly(run, 'examples/cancelled-after-20-chunks.cjs');
    assert.match(run.stdout, /usage the SDK gave the app : none/);
    assert.match(run.stdout, /output_tokens none/);
    const sections = run.stdout.split(/\n(?=openai:|anthropic:)/);
    assert.equal(sections.length, 2, run.stdout);
    for (const section of sections) {
      assert.match(section, /llm_cost\.stream\.outcome\s+broken/);
      assert.match(section, /llm_cost\.stream\.chunks\s+20\b/);
      assert.match(section, /llm_cost\.usage\.output_tokens\.source\s+estimated/);
      assert.match(section, /llm_cost\.cost\.source\s+estimated/);
      const output = Number(/gen_ai\.usage\.output_tokens\s+(\d+)/.exec(section)?.[1]);
      assert.ok(output > 0 && output < 500, `output tokens of 20 chunks, not of the whole answer: ${output}`);
      const spend = [...section.matchAll(/gen_ai\.token\.type=output\s+llm_cost\.source=estimated\s+\+(\d+\.\d+)/g)];
      assert.equal(spend.length, 1, section);
      assert.ok(Number(spend[0]![1]) > 0, 'estimated output spend on the metric');
    }
  });

  it('esm: --import registration records a span for a static `import OpenAI`', async () => {
    const run = await runNode(['--import', './examples/esm/register.mjs', 'examples/esm/app.mjs']);
    assertExitedCleanly(run, 'examples/esm');
    assert.match(run.stdout, /read 5 chunks, then stopped/);
    assert.match(run.stdout, /instrumentationScope: \{ name: 'otel-llm-cost'/);
    assert.match(run.stdout, /name: 'chat gpt-4o-mini'/);
    assert.match(run.stdout, /'llm_cost\.stream\.outcome': 'broken'/);
    assert.match(run.stdout, /'llm_cost\.cost\.source': 'estimated'/);
  });

  it('bill-your-users: onCost charges the completed and the cancelled stream', async () => {
    const run = await runNode(['examples/bill-your-users.cjs']);
    assertExitedCleanly(run, 'examples/bill-your-users.cjs');
    const acme = run.stdout.split('\n').find((line) => line.startsWith('acme '));
    const globex = run.stdout.split('\n').find((line) => line.startsWith('globex '));
    assert.ok(acme && globex, run.stdout);
    assert.match(acme, /completed .* \(reported\)$/);
    assert.match(globex, /cancelled .* \(estimated\)$/);
    assert.ok(usd(acme) > 0 && usd(globex) > 0, 'both tenants are charged');
    assert.ok(usd(globex) < usd(acme), 'the cancelled stream costs less than the completed one');
    assert.match(run.stdout, /total for globex: \$0\.\d*[1-9]/);
  });

  it('responses-background-cancel: a cancelled background stream, and a resumed one charged once', async () => {
    const run = await runNode(['examples/responses-background-cancel.cjs']);
    assertExitedCleanly(run, 'examples/responses-background-cancel.cjs');
    const [cancel, resume] = run.stdout.split(/\n(?=2\. )/);
    assert.match(cancel!, /cancel\(id\): status cancelled, usage null/);
    assert.match(cancel!, /llm_cost\.stream\.outcome\s+cancelled/);
    assert.match(cancel!, /llm_cost\.stream\.chunks\s+20\b/);
    assert.match(cancel!, /llm_cost\.usage\.input_tokens\.source\s+estimated/);
    assert.match(cancel!, /llm_cost\.usage\.output_tokens\.source\s+estimated/);
    assert.match(cancel!, /llm_cost\.cost\.source\s+estimated/);
    assert.ok(Number(/gen_ai\.usage\.output_tokens\s+(\d+)/.exec(cancel!)?.[1]) > 0);
    const [, metric, spans] = /spend metric total \+\$(\d+\.\d+); sum of the span costs \$(\d+\.\d+)/.exec(cancel!)!;
    assert.ok(Number(metric) > 0 && metric === spans);
    const [, grew, reported] = /charged once: the spend metric grew by \$(\d+\.\d+), the resumed response's reported cost \$(\d+\.\d+)/.exec(resume!)!;
    assert.equal(grew, reported);
  });

  it('ai-sdk: the AI SDK through costFetch, a completed stream reported and an aborted one estimated', async () => {
    const run = await runNode(['examples/ai-sdk.mjs']);
    assertExitedCleanly(run, 'examples/ai-sdk.mjs');
    assert.match(run.stdout, /^1\. read to the end: \d+ words; the AI SDK's usage: 120 output tokens$/m);
    assert.match(run.stdout, /^2\. aborted after 10 text deltas$/m);
    const rows = run.stdout.split('\n').filter((line) => /^(openai|anthropic) /.test(line));
    assert.equal(rows.length, 2, run.stdout);
    assert.match(rows[0]!, /^openai gpt-4o-mini\S*\s+completed\s+\d+ reported\s+120 reported\s+\$0\.\d+ reported$/);
    assert.match(rows[1]!, /^anthropic claude-sonnet-4-5\S*\s+cancelled\s+\d+ reported\s+[1-9]\d* estimated\s+\$0\.\d+ estimated$/);
  });

  it('fleet-budget-redis: three replicas stop together at one budget kept in Redis', { skip: redisUnavailableReason() }, async () => {
    const run = await runNode(['examples/fleet-budget-redis.cjs']);
    assertExitedCleanly(run, 'examples/fleet-budget-redis.cjs');
    const replicas = [...run.stdout.matchAll(/^replica \d: .* spent \$(\d+\.\d+)$/gm)].map((m) => Number(m[1]));
    assert.equal(replicas.length, 3, run.stdout);
    assert.ok(
      replicas.every((spent) => spent > 0),
      'every replica spent part of the budget',
    );
    const fleet = usd(/fleet total in Redis: (.*)/.exec(run.stdout)?.[1] ?? '');
    const sum = replicas.reduce((total, spent) => total + spent, 0);
    assert.ok(Math.abs(fleet - sum) < 5e-6, `Redis $${fleet} == the replicas' spans $${sum}`);
    // $0.01 of gpt-4o: past it, only the three streams in flight go on, each at most to its
    // end (300 output tokens; the prompt is under 100 tokens), however loaded the machine is.
    const stream = priceRequest(
      { provider: 'openai', models: ['gpt-4o'], usage: { input: { value: 100, source: 'estimated' }, output: { value: 300, source: 'estimated' } } },
      { catalog: new PriceCatalog() },
    );
    assert.ok(stream.source !== 'unpriced');
    assert.ok(fleet > 0.009 && fleet <= 0.01 + 3 * stream.totalUsd, `fleet total $${fleet}`);
  });
});
