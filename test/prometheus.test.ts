/**
 * The Prometheus side against a real Prometheus (Debian package `prometheus`, which also
 * ships promtool):
 * - promtool checks the shipped config and rules and runs the rules' unit tests;
 * - end to end: examples/prometheus-app.cjs, instrumented with the built package, runs
 *   completed, broken, cancelled, failed and budget-stopped streams against the emulator;
 *   our own Prometheus on 127.0.0.1
 *   scrapes it every second; then every Prometheus query of the Grafana dashboard returns
 *   data, the spend in Prometheus equals the sum of the spans' costs (spans received over
 *   OTLP/JSON by a small receiver here) and of the onCost records, and an alert built on
 *   the shipped recording rule with a low threshold fires; the unpriced-traffic panel and the
 *   expression of its alert see the unpriced model, and tool fees are in the spend.
 * Without Prometheus installed the tests skip with a message, except in CI (CI=true), where
 * they fail: CI installs it (see .ci/run).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it, type TestContext } from 'node:test';

const root = resolve(__dirname, '..');
const deploy = join(root, 'deploy', 'prometheus');
const SERVICE = 'llm-cost-e2e';
const TEST_ALERT = 'E2ESpendAboveLowThreshold';

function installed(binary: string): boolean {
  return spawnSync(binary, ['--version'], { encoding: 'utf8' }).status === 0;
}
const prometheusInstalled = installed('prometheus') && installed('promtool');
const MISSING = 'Prometheus is not installed (apt-get install -y prometheus): skipping the Prometheus checks';

/** Skips without Prometheus, but never in CI, where it must be installed. */
function requirePrometheus(t: TestContext): boolean {
  if (prometheusInstalled) return true;
  assert.ok(process.env.CI !== 'true', `CI=true but prometheus/promtool are missing: .ci/run must install them. ${MISSING}`);
  t.skip(MISSING);
  return false;
}

function promtool(args: string[], cwd: string): string {
  const run = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  const output = `${run.stdout}${run.stderr}`;
  assert.equal(run.status, 0, `promtool ${args.join(' ')} failed:\n${output}`);
  return output;
}

describe('shipped Prometheus files', () => {
  it('promtool check config', (t) => {
    if (!requirePrometheus(t)) return;
    assert.match(promtool(['check', 'config', 'prometheus.yml'], deploy), /SUCCESS/);
  });

  it('promtool check rules', (t) => {
    if (!requirePrometheus(t)) return;
    assert.match(promtool(['check', 'rules', 'rules/llm-cost.rules.yml'], deploy), /SUCCESS: 9 rules found/);
  });

  it('promtool test rules: every alert has a firing and a quiet case', (t) => {
    if (!requirePrometheus(t)) return;
    assert.match(promtool(['test', 'rules', 'tests/llm-cost.test.yml'], deploy), /SUCCESS/);
    const rules = readFileSync(join(deploy, 'rules', 'llm-cost.rules.yml'), 'utf8');
    const tests = readFileSync(join(deploy, 'tests', 'llm-cost.test.yml'), 'utf8');
    const alerts = [...rules.matchAll(/^ *- alert: (\w+)$/gm)].map((m) => m[1]!);
    assert.equal(alerts.length, 7);
    for (const alert of alerts) {
      const cases = tests.split(/^ *- eval_time: /m).filter((block) => block.includes(`alertname: ${alert}\n`));
      assert.ok(
        cases.some((block) => /exp_alerts:\n *- exp_labels:/.test(block)),
        `${alert}: a firing case`,
      );
      assert.ok(
        cases.some((block) => /exp_alerts: \[\]/.test(block)),
        `${alert}: a quiet case`,
      );
    }
    for (const alert of alerts) {
      const block = rules.slice(rules.indexOf(`- alert: ${alert}\n`)).split(/\n *- alert: /)[0]!;
      assert.match(block, /summary: '.+'/, `${alert} has a summary`);
      assert.match(block, /runbook_url: 'docs\/observability\.md#[a-z]+'/, `${alert} has a runbook line`);
    }
  });
});

// ------------------------------------------------------------------ the dashboard

interface DashboardQuery {
  panel: string;
  expr: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

function dashboardQueries(): { prometheus: DashboardQuery[]; other: string[] } {
  const dashboard: unknown = JSON.parse(readFileSync(join(root, 'deploy/grafana/dashboards/llm-cost.json'), 'utf8'));
  assert.ok(isRecord(dashboard) && Array.isArray(dashboard.panels), 'dashboard has panels');
  const prometheus: DashboardQuery[] = [];
  const other: string[] = [];
  for (const panel of dashboard.panels as unknown[]) {
    assert.ok(isRecord(panel) && typeof panel.title === 'string' && Array.isArray(panel.targets));
    for (const target of panel.targets as unknown[]) {
      assert.ok(isRecord(target) && isRecord(target.datasource));
      if (target.datasource.type === 'prometheus') {
        assert.ok(typeof target.expr === 'string', `${panel.title}: a PromQL expression`);
        prometheus.push({ panel: panel.title, expr: target.expr });
      } else {
        assert.equal(target.datasource.type, 'jaeger', `${panel.title}: Prometheus or Jaeger only`);
        other.push(panel.title);
      }
    }
  }
  return { prometheus, other };
}

/** Grafana's variables as the e2e run sees them: every service/provider/model, short windows. */
function substituteGrafanaVariables(expr: string): string {
  const result = expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__range', '5m')
    .replace(/\$(job|provider|model)\b/g, '.*');
  assert.ok(!result.includes('$'), `a Grafana variable left unsubstituted in ${expr}`);
  return result;
}

// ------------------------------------------------------------------ processes and servers

/** Distinct free ports: all held open at once, so the OS cannot hand out one twice. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createNetServer>>((resolveServer, reject) => {
          const server = createNetServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolveServer(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    return typeof address === 'object' && address ? address.port : 0;
  });
  await Promise.all(servers.map((server) => new Promise((r) => server.close(r))));
  return ports;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it gives a value; only a hang (two minutes) fails. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(250);
  }
}

interface Child {
  process: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startChild(command: string, args: string[], env: NodeJS.ProcessEnv): Child {
  const child = spawn(command, args, { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (text: string) => (output += text));
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (output += text));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return { process: child, output: () => output, exited };
}

async function stopChild(child: Child | undefined): Promise<void> {
  if (!child || child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill('SIGTERM');
  const hung = setTimeout(() => child.process.kill('SIGKILL'), 30_000);
  await child.exited;
  clearTimeout(hung);
}

/** Receives OTLP/JSON trace exports and keeps the cost of each of our spans. */
function startOtlpReceiver(): Promise<{ server: Server; port: number; spanCosts: number[] }> {
  const spanCosts: number[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      let body = Buffer.concat(chunks);
      if (request.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      spanCosts.push(...costsOfSpans(JSON.parse(body.toString('utf8'))));
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise((r) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      r({ server, port: typeof address === 'object' && address ? address.port : 0, spanCosts });
    }),
  );
}

function costsOfSpans(payload: unknown): number[] {
  const costs: number[] = [];
  const list = (value: unknown, key: string): unknown[] => (isRecord(value) && Array.isArray(value[key]) ? value[key] : []);
  for (const resourceSpans of list(payload, 'resourceSpans')) {
    for (const scopeSpans of list(resourceSpans, 'scopeSpans')) {
      for (const span of list(scopeSpans, 'spans')) {
        for (const attribute of list(span, 'attributes')) {
          if (!isRecord(attribute) || attribute.key !== 'llm_cost.cost.usd' || !isRecord(attribute.value)) continue;
          costs.push(Number(attribute.value.doubleValue ?? attribute.value.intValue));
        }
      }
    }
  }
  return costs;
}

// ------------------------------------------------------------------ Prometheus HTTP API

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

async function api(base: string, path: string): Promise<unknown> {
  const response = await fetch(`${base}${path}`);
  const body: unknown = await response.json();
  assert.ok(isRecord(body) && body.status === 'success', `${path}: ${JSON.stringify(body)}`);
  return body.data;
}

async function instantQuery(base: string, expr: string): Promise<Sample[]> {
  const data = await api(base, `/api/v1/query?query=${encodeURIComponent(expr)}`);
  assert.ok(isRecord(data) && data.resultType === 'vector' && Array.isArray(data.result), `vector result for ${expr}`);
  return data.result as Sample[];
}

const closeTo = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b), 1e-6);

// ------------------------------------------------------------------ the end-to-end run

describe('end to end: the dashboard and alerts on real data in a real Prometheus', () => {
  const work = mkdtempSync(join(tmpdir(), 'llm-cost-prometheus-'));
  let prometheus: Child | undefined;
  let app: Child | undefined;
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>> | undefined;
  let base = '';
  let recordsTotal = 0;
  let recordCount = 0;
  let appExit: number | null = null;

  before(async () => {
    if (!prometheusInstalled) return;
    const dist = join(root, 'dist/cjs/index.js');
    // Built from older sources than these (the app runs the built package): build again.
    const newestSource = Math.max(...readdirSync(join(root, 'src'), { recursive: true }).map((f) => statSync(join(root, 'src', String(f))).mtimeMs));
    const distStale = !existsSync(dist) || statSync(dist).mtimeMs < newestSource;
    if (distStale || !existsSync(join(root, 'dist/cjs/emulator/index.js'))) {
      const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, encoding: 'utf8' });
      assert.equal(build.status, 0, `build failed:\n${build.stdout}\n${build.stderr}`);
    }

    receiver = await startOtlpReceiver();
    const [appPort = 0, prometheusPort = 0] = await freePorts(2);

    const rulesFile = join(work, 'e2e.rules.yml');
    writeFileSync(
      rulesFile,
      [
        'groups:',
        '  - name: e2e',
        '    rules:',
        `      - alert: ${TEST_ALERT}`,
        '        expr: llm_cost_spend_usd_per_hour:rate5m > 0.000001',
        '        labels:',
        '          severity: test',
        '        annotations:',
        "          summary: 'the shipped recording rule sees spend'",
        '',
      ].join('\n'),
    );
    const configFile = join(work, 'prometheus.yml');
    writeFileSync(
      configFile,
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'rule_files:',
        `  - ${JSON.stringify(join(deploy, 'rules', 'llm-cost.rules.yml'))}`,
        `  - ${JSON.stringify(rulesFile)}`,
        'scrape_configs:',
        `  - job_name: ${SERVICE}`,
        '    static_configs:',
        `      - targets: ['127.0.0.1:${appPort}']`,
        '',
      ].join('\n'),
    );
    promtool(['check', 'config', configFile], work);

    prometheus = startChild(
      'prometheus',
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(work, 'data')}`,
        `--web.listen-address=127.0.0.1:${prometheusPort}`,
        '--web.enable-lifecycle',
        '--log.level=warn',
      ],
      process.env,
    );
    base = `http://127.0.0.1:${prometheusPort}`;
    await until('Prometheus to be ready', async () => ((await fetch(`${base}/-/ready`)).ok ? true : undefined));

    const env: NodeJS.ProcessEnv = {};
    for (const [name, value] of Object.entries(process.env)) {
      if (!name.startsWith('OTEL_') && name !== 'NODE_OPTIONS') env[name] = value;
    }
    const recordsFile = join(work, 'records.jsonl');
    app = startChild(process.execPath, ['examples/prometheus-app.cjs'], {
      ...env,
      OTEL_SERVICE_NAME: SERVICE,
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      OTEL_EXPORTER_PROMETHEUS_PORT: String(appPort),
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${receiver.port}/v1/traces`,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_LOGS_EXPORTER: 'none',
      // Two rounds, the second once Prometheus has scraped the first, so every counter
      // increases between scrapes (rate() and increase() see it).
      PROMETHEUS_APP_ROUNDS: '2',
      PROMETHEUS_APP_PAUSE_MS: 'stdin',
      PROMETHEUS_APP_RECORDS: recordsFile,
    });
    const running = app;

    /** The onCost records' total, and how many were priced (an unpriced request has no cost on its span). */
    const readRecordsTotal = (): { total: number; count: number } => {
      let total = 0;
      let count = 0;
      const lines = readFileSync(recordsFile, 'utf8').trim().split('\n');
      for (const line of lines) {
        const record: unknown = JSON.parse(line);
        assert.ok(isRecord(record) && isRecord(record.cost));
        if (record.cost.source === 'unpriced') continue;
        total += Number(record.cost.totalUsd);
        count++;
      }
      return { total, count };
    };
    const prometheusHas = (what: string, total: number) =>
      until(what, async () => {
        const [sample] = await instantQuery(base, `sum(llm_cost_spend_total{job="${SERVICE}"})`);
        assert.ok(sample && closeTo(Number(sample.value[1]), total), `Prometheus has ${sample?.value[1]}, onCost ${total}`);
        return true;
      });
    const appPrinted = (line: string) =>
      until(`the app to print "${line}"`, async () => {
        if (running.output().includes(line)) return true;
        assert.equal(running.process.exitCode, null, `the app exited early:\n${running.output()}`);
        return undefined;
      });

    await appPrinted('round 1 done');
    const firstRound = readRecordsTotal();
    assert.ok(firstRound.total > 0, 'the workload cost something');
    await prometheusHas('Prometheus to scrape the first round', firstRound.total);
    running.process.stdin?.write('next\n');
    await appPrinted('workload done');
    ({ total: recordsTotal, count: recordCount } = readRecordsTotal());
    assert.ok(recordsTotal > firstRound.total, 'the second round cost something too');
    await prometheusHas('Prometheus to scrape the second round', recordsTotal);
  });

  after(async () => {
    await stopChild(app);
    await stopChild(prometheus);
    await new Promise((r) => (receiver ? receiver.server.close(r) : r(undefined)));
    rmSync(work, { recursive: true, force: true });
  });

  it('every Prometheus query of the Grafana dashboard returns data', async (t) => {
    if (!requirePrometheus(t)) return;
    const { prometheus: queries, other } = dashboardQueries();
    assert.ok(queries.length >= 10, `${queries.length} queries`);
    assert.deepEqual(other, ['Cancelled streams (Jaeger)'], 'the only non-Prometheus panel reads Jaeger');
    for (const { panel, expr } of queries) {
      const samples = await instantQuery(base, substituteGrafanaVariables(expr));
      assert.ok(samples.length > 0, `panel "${panel}": no data for ${expr}`);
      assert.ok(
        samples.some((s) => Number.isFinite(Number(s.value[1]))),
        `panel "${panel}": only NaN/Inf for ${expr}: ${JSON.stringify(samples)}`,
      );
    }
  });

  it('the dashboard splits spend by outcome, source, provider and model', async (t) => {
    if (!requirePrometheus(t)) return;
    const byOutcome = await instantQuery(base, `sum by (llm_cost_stream_outcome) (llm_cost_spend_total{job="${SERVICE}"})`);
    const outcomes = byOutcome.map((s) => s.metric.llm_cost_stream_outcome).sort();
    const expected = ['broken', 'budget_exceeded', 'cancelled', 'completed', 'error'];
    assert.deepEqual(outcomes, expected);
    const bySource = await instantQuery(base, `sum by (llm_cost_source) (llm_cost_spend_total{job="${SERVICE}"})`);
    assert.deepEqual(bySource.map((s) => s.metric.llm_cost_source).sort(), ['estimated', 'reported']);
    const byModel = await instantQuery(base, `sum by (gen_ai_provider_name, gen_ai_request_model) (llm_cost_spend_total{job="${SERVICE}"})`);
    assert.deepEqual(byModel.map((s) => `${s.metric.gen_ai_provider_name} ${s.metric.gen_ai_request_model}`).sort(), [
      'anthropic claude-haiku-4-5',
      'openai gpt-4o-mini',
    ]);
    const services = await api(base, `/api/v1/label/job/values?match[]=llm_cost_spend_total`);
    assert.deepEqual(services, [SERVICE], 'the dashboard service variable');
    const trips = await instantQuery(base, `sum by (llm_cost_budget_reason) (llm_cost_budget_exceeded_total{job="${SERVICE}"})`);
    // Round one stops mid-stream; the named budget is then (about) spent, so later rounds are
    // refused up front, or stopped at their first chunks when a sliver of it was left.
    const tripsBy = Object.fromEntries(trips.map((s) => [s.metric.llm_cost_budget_reason, Number(s.value[1])]));
    assert.ok((tripsBy.midstream ?? 0) >= 1, JSON.stringify(trips));
    assert.ok((tripsBy.midstream ?? 0) + (tripsBy.preflight ?? 0) >= 2, JSON.stringify(trips));
  });

  it('a low-threshold alert on the shipped recording rule fires, and the shipped rules evaluate cleanly', async (t) => {
    if (!requirePrometheus(t)) return;
    await until(`alert ${TEST_ALERT} to fire`, async () => {
      const data = await api(base, '/api/v1/alerts');
      const alerts = isRecord(data) && Array.isArray(data.alerts) ? data.alerts : [];
      return alerts.some((a: unknown) => isRecord(a) && isRecord(a.labels) && a.labels.alertname === TEST_ALERT && a.state === 'firing') ? true : undefined;
    });
    const data = await api(base, '/api/v1/rules');
    assert.ok(isRecord(data) && Array.isArray(data.groups));
    const rules = (data.groups as unknown[]).flatMap((g) => (isRecord(g) && Array.isArray(g.rules) ? g.rules : []));
    const shipped = rules.filter((r: unknown) => isRecord(r) && typeof r.name === 'string' && r.name !== TEST_ALERT);
    assert.equal(shipped.length, 9, 'the shipped rules are loaded');
    for (const rule of shipped) {
      assert.ok(isRecord(rule) && rule.health === 'ok', `rule ${JSON.stringify(rule)}`);
    }
  });

  it('unpriced traffic is on its own metric, its alert expression sees it, and tool fees are in the spend', async (t) => {
    if (!requirePrometheus(t)) return;
    const unpriced = await instantQuery(base, `sum by (gen_ai_request_model, gen_ai_token_type) (llm_cost_unpriced_tokens_total{job="${SERVICE}"})`);
    assert.deepEqual(unpriced.map((s) => `${s.metric.gen_ai_request_model} ${s.metric.gen_ai_token_type}`).sort(), [
      'acme-private-model input',
      'acme-private-model output',
    ]);
    assert.ok(unpriced.every((s) => Number(s.value[1]) > 0));
    // The shipped alert's expression (its `for: 15m` is left to promtool's unit test).
    const rules = readFileSync(join(deploy, 'rules', 'llm-cost.rules.yml'), 'utf8');
    const expr = /- alert: LLMUnpricedModelTraffic\n\s+expr: (.+)\n/.exec(rules)?.[1];
    assert.ok(expr, 'the alert expression');
    const firing = await instantQuery(base, expr);
    assert.deepEqual(
      firing.map((s) => `${s.metric.job} ${s.metric.gen_ai_provider_name} ${s.metric.gen_ai_request_model}`),
      [`${SERVICE} openai acme-private-model`],
    );
    const byKind = await instantQuery(base, `sum by (llm_cost_cost_kind, llm_cost_tool_name) (llm_cost_spend_total{job="${SERVICE}"})`);
    const kinds = Object.fromEntries(byKind.map((s) => [`${s.metric.llm_cost_cost_kind} ${s.metric.llm_cost_tool_name ?? ''}`.trim(), Number(s.value[1])]));
    assert.deepEqual(Object.keys(kinds).sort(), ['tokens', 'tool web_search']);
    // Two searches at 10 USD per 1,000, per round.
    assert.ok(closeTo((kinds['tool web_search'] ?? 0) / 0.02, Math.round((kinds['tool web_search'] ?? 0) / 0.02)), JSON.stringify(kinds));
  });

  it("the spend in Prometheus equals the sum of the spans' costs and of the onCost records", async (t) => {
    if (!requirePrometheus(t)) return;
    assert.ok(app && receiver);
    await stopChild(app); // SIGTERM: the app shuts its SDK down, which flushes the spans
    appExit = await app.exited;
    assert.equal(appExit, 0, `the app exited with ${appExit}:\n${app.output()}`);
    const { spanCosts } = receiver;
    assert.equal(spanCosts.length, recordCount, 'one priced span per onCost record');
    const spansTotal = spanCosts.reduce((sum, cost) => sum + cost, 0);
    // The app has stopped, so its series may already be marked stale: read their last values.
    const [sample] = await instantQuery(base, `sum(last_over_time(llm_cost_spend_total{job="${SERVICE}"}[10m]))`);
    assert.ok(sample);
    const prometheusTotal = Number(sample.value[1]);
    t.diagnostic(`spend: Prometheus ${prometheusTotal} USD, spans ${spansTotal} USD, onCost ${recordsTotal} USD (${recordCount} requests)`);
    assert.ok(closeTo(prometheusTotal, spansTotal), `Prometheus ${prometheusTotal} vs spans ${spansTotal}`);
    assert.ok(closeTo(prometheusTotal, recordsTotal), `Prometheus ${prometheusTotal} vs onCost ${recordsTotal}`);
  });
});
