/**
 * `npx otel-llm-cost prices <model…>`: what a user checks before deploying. In-process for the
 * cases, plus one run as a process through the same entry file the `bin` points at (built).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findProvider, type Provider } from '@pydantic/genai-prices';
import { main } from '../src/cli/main.js';
import type { ModelPriceReport } from '../src/cli/prices.js';
import { BUNDLED_PRICE_DATA } from '../src/pricing/catalog.js';

const root = resolve(__dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'llm-cost-cli-'));

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(
    args,
    (t) => (out += t),
    (t) => (err += t),
  );
  return { code, out, err };
}

let server: Server;
let base = '';
before(async () => {
  const openai = structuredClone(findProvider({ providerId: 'openai' })) as Provider;
  openai.models.push({ id: 'gpt-next', match: { equals: 'gpt-next' }, prices: { input_mtok: 3, output_mtok: 12 } });
  server = createServer((request, response) => {
    if (request.url === '/data.json') response.writeHead(200).end(JSON.stringify([openai]));
    else response.writeHead(503).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
after(async () => {
  await new Promise((r) => server.close(r));
  rmSync(work, { recursive: true, force: true });
});

describe('otel-llm-cost prices', () => {
  it('shows the source, prices per million tokens, long-context tier, tools and tiers', async () => {
    const { code, out } = await run('prices', 'gpt-5', 'claude-sonnet-4-5-20250929');
    assert.equal(code, 0);
    assert.match(out, new RegExp(`gpt-5 \\(openai\\): priced as gpt-5 from ${BUNDLED_PRICE_DATA}`));
    assert.match(out, /input \$1\.25, cache read \$0\.125, output \$10/);
    assert.match(out, /service tier flex, batch: 50% of standard/);
    assert.match(out, /service tier priority, scale, ultrafast: standard prices, cost marked estimated/);
    assert.match(out, /claude-sonnet-4-5-20250929 \(anthropic\): priced as claude-sonnet-4-5/);
    assert.match(out, /cache write \$3\.75, 1-hour cache write \$6, output \$15/);
    assert.match(out, /above 200,000 input tokens \(whole request\): input \$6, .*output \$22\.5/);
    assert.match(out, /server-side tool web_search \$0\.01\/call \(genai-prices\)/);
    assert.match(out, /server-side tool code_execution: no per-call price/);
  });

  it('an unknown model is reported UNPRICED and the exit status says so', async () => {
    const { code, out } = await run('prices', 'gpt-5', 'acme-unknown');
    assert.equal(code, 1);
    assert.match(out, /acme-unknown \(tried openai, anthropic\): UNPRICED/);
  });

  it('takes the priceOverrides option from a file, checked like the option', async () => {
    const file = join(work, 'overrides.json');
    writeFileSync(
      file,
      JSON.stringify({
        'acme-unknown': { inputPerMTok: 2, outputPerMTok: 8 },
        'gpt-5': { tiers: { priority: { inputPerMTok: 2.5, outputPerMTok: 20 } }, toolCallUsd: { code_interpreter: 0.03 } },
      }),
    );
    const { code, out } = await run('prices', '--overrides', file, '--json', 'acme-unknown', 'gpt-5');
    assert.equal(code, 0);
    const [acme, gpt5] = JSON.parse(out) as ModelPriceReport[];
    assert.equal(acme?.source, 'override');
    assert.deepEqual(acme?.perMTok, { input: 2, cacheRead: 2, cacheWrite: 2, cacheWrite1h: 2, output: 8 });
    assert.equal(gpt5?.source, 'genai-prices', 'tiers and tools alone leave the data in charge of standard prices');
    assert.match(gpt5?.serviceTiers?.find((t) => t.tier === 'priority')?.pricing ?? '', /^override: input \$2\.5/);
    assert.deepEqual(
      gpt5?.toolFees?.find((t) => t.tool === 'code_interpreter'),
      { tool: 'code_interpreter', usdPerCall: 0.03, source: 'override' },
    );
    writeFileSync(file, JSON.stringify({ m: { inputPerMTok: -1, outputPerMTok: 1 } }));
    const bad = await run('prices', '--overrides', file, 'm');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /priceOverrides\["m"\]\.inputPerMTok/);
  });

  it('--update fetches the data first (here from 127.0.0.1), and a failed fetch says so and keeps the bundled data', async () => {
    const fresh = await run('prices', '--update', `${base}/data.json`, 'gpt-next');
    assert.equal(fresh.code, 0, fresh.err);
    assert.match(fresh.out, /gpt-next \(openai\): priced as gpt-next from fetched \d{4}-\d\d-\d\dT/);
    const failed = await run('prices', '--update', `${base}/down`, 'gpt-next');
    assert.equal(failed.code, 1);
    assert.match(failed.err, /price data update from .*\/down failed \(HTTP 503\); still pricing with genai-prices@/);
  });

  it('usage errors exit 2 with the usage text', async () => {
    for (const args of [[], ['price', 'gpt-5'], ['prices'], ['prices', '--provider'], ['prices', '--nope', 'gpt-5']]) {
      const { code, err } = await run(...args);
      assert.equal(code, 2, args.join(' '));
      assert.match(err, /Usage: otel-llm-cost prices/);
    }
  });

  it('package.json declares the bin, and the entry runs as a process', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    assert.equal(pkg.bin['otel-llm-cost'], 'dist/cjs/cli/main.js');
    assert.match(readFileSync(join(root, 'src/cli/main.ts'), 'utf8'), /^#!\/usr\/bin\/env node\n/, 'a shebang tsc keeps');
    const child = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'prices', 'openai:gpt-4o'], { cwd: root, encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    assert.match(child.stdout, /gpt-4o \(openai\): priced as gpt-4o/);
  });
});
