/**
 * `npm run bench:pricing`: what pricing one finished request costs on the event loop.
 *
 * - `genai-prices direct`: `calcPrice(usage, model, { providerId })`, the look-up this package
 *   made per request before the catalog (finds the provider, walks its models' match rules).
 * - `priceRequest (catalog)`: this package's pricing step through a warm `PriceCatalog`.
 * Each usage shape (plain, cache reads, cache writes with 1-hour writes, a tool call) on an
 * OpenAI and an Anthropic model; variants interleaved round by round; the median of the
 * rounds' per-call means is printed, with the rounds' spread.
 *
 * Options: --rounds N (default 7), --calls N per round (default 5000).
 */
import { parseArgs } from 'node:util';
import { calcPrice } from '@pydantic/genai-prices';
import type { ResolvedUsage } from '../src/core/model.js';
import { PriceCatalog } from '../src/pricing/catalog.js';
import { priceRequest } from '../src/pricing/price-request.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, calls: { type: 'string', default: '5000' } } });
const rounds = Number(values.rounds);
const calls = Number(values.calls);

const r = (value: number) => ({ value, source: 'reported' as const });
interface Case {
  name: string;
  provider: string;
  model: string;
  usage: ResolvedUsage;
}
const cases: Case[] = [
  { name: 'gpt-4o plain', provider: 'openai', model: 'gpt-4o-2024-08-06', usage: { input: r(10_000), output: r(1000) } },
  { name: 'gpt-4o cache read', provider: 'openai', model: 'gpt-4o-2024-08-06', usage: { input: r(10_000), output: r(1000), cacheRead: r(4000) } },
  {
    name: 'sonnet-4.5 5m+1h writes',
    provider: 'anthropic',
    model: 'claude-sonnet-4-5-20250929',
    usage: { input: r(28_000), output: r(2000), cacheRead: r(20_000), cacheCreation: r(5000), cacheCreation1h: r(2000) },
  },
  {
    name: 'sonnet-4.5 web search',
    provider: 'anthropic',
    model: 'claude-sonnet-4-5-20250929',
    usage: { input: r(3000), output: r(500), toolCalls: { web_search: r(2) } },
  },
];

function direct(c: Case): number {
  const result = calcPrice(
    {
      input_tokens: c.usage.input.value,
      output_tokens: c.usage.output.value,
      cache_read_tokens: c.usage.cacheRead?.value,
      cache_write_tokens: c.usage.cacheCreation?.value,
    },
    c.model,
    { providerId: c.provider },
  );
  return result?.total_price ?? 0;
}

const catalog = new PriceCatalog();
function ours(c: Case): number {
  const cost = priceRequest({ provider: c.provider, models: [c.model], usage: c.usage }, { catalog });
  return cost.source === 'unpriced' ? 0 : cost.totalUsd;
}

const variants = { 'genai-prices direct': direct, 'priceRequest (catalog)': ours };
const samples = new Map<string, number[]>();
let sink = 0;
for (let round = 0; round < rounds + 1; round++) {
  for (const c of cases) {
    for (const [variant, fn] of Object.entries(variants)) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < calls; i++) sink += fn(c);
      const micros = Number(process.hrtime.bigint() - start) / 1000 / calls;
      if (round === 0) continue; // warm-up
      const key = `${c.name}\t${variant}`;
      samples.set(key, [...(samples.get(key) ?? []), micros]);
    }
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`Node ${process.version}, ${rounds} rounds of ${calls} calls (checksum ${sink.toFixed(3)})`);
console.log('| case | variant | µs per request (median) | rounds min–max |');
console.log('| --- | --- | --- | --- |');
for (const [key, xs] of samples) {
  const [name, variant] = key.split('\t');
  console.log(`| ${name} | ${variant} | ${median(xs).toFixed(1)} | ${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)} |`);
}
