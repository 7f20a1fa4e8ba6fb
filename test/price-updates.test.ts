/**
 * `priceUpdates`: price data fetched from a local HTTP server on 127.0.0.1 (a modified copy
 * of genai-prices' data) prices requests through the real SDK; a failed, garbled or hostile
 * fetch keeps the last good data with one `diag` line; the interval refetches; the cache
 * file carries the data across restarts; disable() stops the timer; and an update in
 * flight never keeps a process alive.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { findProvider, type Provider } from '@pydantic/genai-prices';
import type { LLMCostInstrumentationConfig } from '../src/index.js';
import { BUNDLED_PRICE_DATA, PriceCatalog } from '../src/pricing/catalog.js';
import { PriceUpdates } from '../src/pricing/price-updates.js';
import { useHarness } from './helpers/harness.js';
import { attr, onlySpan, script } from './helpers/spans.js';

const warnings: string[] = [];
diag.setLogger(
  {
    error: () => {},
    // Component loggers pass their namespace first, then the message.
    warn: (...args: unknown[]) => warnings.push(args.map(String).join(' ')),
    info: () => {},
    debug: () => {},
    verbose: () => {},
  },
  DiagLogLevel.WARN,
);

/** The bundled OpenAI data with gpt-4o at `inputPrice` and one model the bundled data lacks. */
function modifiedData(inputPrice: number): Provider[] {
  const openai = structuredClone(findProvider({ providerId: 'openai' })) as Provider;
  for (const model of openai.models) if (model.id === 'gpt-4o') model.prices = { input_mtok: inputPrice, output_mtok: 40 };
  openai.models.push({ id: 'acme-fresh-1', match: { equals: 'acme-fresh-1' }, prices: { input_mtok: 7, output_mtok: 9 } });
  return [openai];
}

let dataPrice = 100;
const hits: Record<string, number> = {};
const server: Server = createServer((request, response) => {
  const path = request.url ?? '';
  hits[path] = (hits[path] ?? 0) + 1;
  switch (path) {
    case '/data.json':
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(modifiedData(dataPrice)));
      break;
    case '/fails':
      response.writeHead(500).end('no');
      break;
    case '/garbled':
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"not": "a list of providers"');
      break;
    case '/wrong-shape':
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify([{ id: 'openai' }]));
      break;
    case '/huge':
      // Claims a body no price data can be; it is refused before being read.
      response.writeHead(200, { 'content-length': String(4 * 1024 ** 3) });
      response.write('[');
      break;
    case '/hang':
      // Never answers.
      break;
    default:
      response.writeHead(404).end();
  }
});
let base = '';
const work = mkdtempSync(join(tmpdir(), 'llm-cost-prices-'));

const baseConfig: LLMCostInstrumentationConfig = {};
const harness = useHarness(baseConfig);
const { otel } = harness;

before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
after(async () => {
  otel.instrumentation.setConfig({ ...baseConfig });
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(work, { recursive: true, force: true });
});

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function chat(model: string) {
  otel.reset();
  const client = harness.openai();
  await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }, script({ outputTokens: 10 }));
  return onlySpan(await otel.settle());
}

const updateWarnings = () => warnings.filter((w) => w.includes('price data update'));

describe('price data updates', () => {
  it('before any update: the bundled data, and a new model is unpriced', async () => {
    assert.equal(otel.instrumentation.priceData, BUNDLED_PRICE_DATA);
    const span = await chat('acme-fresh-1');
    assert.equal(attr(span, 'llm_cost.cost.source'), 'unpriced');
  });

  it('fetched at start: new models priced, changed prices used, the data named on the span', async () => {
    const cacheFile = join(work, 'prices.json');
    otel.instrumentation.setConfig({ ...baseConfig, priceUpdates: { url: `${base}/data.json`, cacheFile } });
    const label = await until('the fetched data', () => {
      const data = otel.instrumentation.priceData;
      return data.startsWith('fetched ') ? data : undefined;
    });
    assert.ok(!Number.isNaN(Date.parse(label.slice('fetched '.length))), label);
    const fresh = await chat('acme-fresh-1');
    const input = attr(fresh, 'gen_ai.usage.input_tokens') as number;
    assert.equal(attr(fresh, 'llm_cost.cost.price_data'), label);
    assert.ok(Math.abs((attr(fresh, 'llm_cost.cost.usd') as number) - (input * 7 + 10 * 9) / 1e6) < 1e-12);
    const changed = await chat('gpt-4o');
    const changedInput = attr(changed, 'gen_ai.usage.input_tokens') as number;
    assert.ok(Math.abs((attr(changed, 'llm_cost.cost.usd') as number) - (changedInput * 100 + 10 * 40) / 1e6) < 1e-12);
    // The cache file holds what was fetched, with its date.
    await until('the cache file', () => (existsSync(cacheFile) ? true : undefined));
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as { fetchedAt: string; providers: Provider[] };
    assert.equal(`fetched ${cached.fetchedAt}`, label);
    assert.ok(cached.providers[0]?.models.some((m) => m.id === 'acme-fresh-1'));
  });

  for (const [label, path] of [
    ['an HTTP error', '/fails'],
    ['a garbled file', '/garbled'],
    ['data of the wrong shape', '/wrong-shape'],
    ['an answer too large to be price data', '/huge'],
  ] as const) {
    it(`${label}: the last good data stays, with one diag line`, async () => {
      const before = otel.instrumentation.priceData;
      assert.ok(before.startsWith('fetched '));
      const warned = updateWarnings().length;
      otel.instrumentation.setConfig({ ...baseConfig, priceUpdates: { url: `${base}${path}` } });
      await until('the failure to be reported', () => (updateWarnings().length > warned ? true : undefined));
      assert.equal(updateWarnings().length, warned + 1, 'one line');
      assert.match(updateWarnings().at(-1)!, new RegExp(`${path}.*still pricing with fetched`));
      assert.equal(otel.instrumentation.priceData, before, 'the last good data');
      const span = await chat('acme-fresh-1');
      assert.equal(attr(span, 'llm_cost.cost.price_data'), before);
    });
  }

  it('refetches every intervalHours, and disable() stops it', async () => {
    dataPrice = 100;
    const first = hits['/data.json'] ?? 0;
    otel.instrumentation.setConfig({ ...baseConfig, priceUpdates: { url: `${base}/data.json`, intervalHours: 1 / 3600 } });
    await until('the first fetch', () => ((hits['/data.json'] ?? 0) > first ? true : undefined));
    dataPrice = 200;
    const deadline = Date.now() + 20_000;
    for (;;) {
      // Requests keep going meanwhile, priced with whatever data is current: never waiting for a fetch.
      const span = await chat('gpt-4o');
      const input = attr(span, 'gen_ai.usage.input_tokens') as number;
      const usd = attr(span, 'llm_cost.cost.usd') as number;
      if (Math.abs(usd - (input * 200 + 10 * 40) / 1e6) < 1e-12) break;
      assert.ok(Math.abs(usd - (input * 100 + 10 * 40) / 1e6) < 1e-12, 'the earlier fetched price until then');
      assert.ok(Date.now() < deadline, 'timed out waiting for the refetched price');
      await new Promise((r) => setTimeout(r, 100));
    }
    otel.instrumentation.disable();
    const stopped = hits['/data.json'] ?? 0;
    // Three intervals: a live timer would have fetched again by now.
    await new Promise((r) => setTimeout(r, 3_000));
    assert.ok((hits['/data.json'] ?? 0) <= stopped + 1, 'no fetches after disable (one may have been on the wire)');
    otel.instrumentation.enable();
  });

  it('removing the option goes back to the bundled data', async () => {
    otel.instrumentation.setConfig({ ...baseConfig });
    assert.equal(otel.instrumentation.priceData, BUNDLED_PRICE_DATA);
    const span = await chat('acme-fresh-1');
    assert.equal(attr(span, 'llm_cost.cost.source'), 'unpriced');
  });

  it('a restart without network starts from the cache file', async () => {
    const cacheFile = join(work, 'prices.json');
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as { fetchedAt: string };
    const catalog = new PriceCatalog();
    const updates = new PriceUpdates(catalog, { url: `${base}/fails`, cacheFile });
    updates.start();
    await updates.current;
    updates.stop();
    assert.equal(catalog.dataLabel, `fetched ${cached.fetchedAt}`);
    assert.equal(catalog.find('openai', 'acme-fresh-1')?.id, 'acme-fresh-1');
  });

  it('a broken cache file is reported and ignored', async () => {
    const broken = join(work, 'broken.json');
    writeFileSync(broken, '{"fetchedAt": "yesterday", "providers": 3}');
    const catalog = new PriceCatalog();
    const warned = warnings.length;
    const updates = new PriceUpdates(catalog, { url: `${base}/data.json`, cacheFile: broken });
    updates.start();
    await updates.current;
    updates.stop();
    assert.ok(
      warnings.slice(warned).some((w) => w.includes('not usable')),
      warnings.slice(warned).join('\n'),
    );
    assert.ok(catalog.dataLabel.startsWith('fetched '), 'the fetch still ran');
  });

  it('an update in flight to a server that never answers does not keep the process alive', async () => {
    const before = hits['/hang'] ?? 0;
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `const { LLMCostInstrumentation } = require(${JSON.stringify(resolve(__dirname, '../src/index.ts'))});
         new LLMCostInstrumentation({ priceUpdates: { url: ${JSON.stringify(`${base}/hang`)} } });
         setTimeout(() => console.log('script done'), 500);`,
      ],
      { cwd: resolve(__dirname, '..'), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    // Generous: only a process held open by the update (for its 60 s timeout or longer) fails.
    const code = await new Promise<number | null>((r) => {
      const guard = setTimeout(() => {
        child.kill('SIGKILL');
        r(-1);
      }, 40_000);
      child.on('close', (c) => {
        clearTimeout(guard);
        r(c);
      });
    });
    assert.equal(code, 0, `the process exited on its own:\n${output}`);
    assert.match(output, /script done/);
    assert.ok((hits['/hang'] ?? 0) > before, 'the update was on the wire when the process exited');
  });
});
