#!/usr/bin/env node
/**
 * The `otel-llm-cost` command.
 *
 *   otel-llm-cost prices <model…> [--provider <name>] [--overrides <file.json>] [--update [url]] [--json]
 *
 * Exit status: 0 when every model is priced, 1 when one is not, 2 on a usage error.
 */
import { readFileSync } from 'node:fs';
import { PriceCatalog } from '../pricing/catalog.js';
import { validatePriceOverrides } from '../options/validate.js';
import type { PriceOverrides } from '../pricing/overrides.js';
import { DEFAULT_PRICE_DATA_URL, PriceUpdates } from '../pricing/price-updates.js';
import { describeModel, formatReport } from './prices.js';

const USAGE = `Usage: otel-llm-cost prices <model…> [options]

Says how otel-llm-cost would price each model: which data or override prices it, its prices
per million tokens, long-context tiers, server-side tool fees and service tiers, or that it
is unpriced.

  <model>                a model id as your requests name it (gpt-5, claude-sonnet-4-5-20250929),
                         or provider:model (openai:gpt-5, azure.ai.openai:gpt-4o)
  --provider <name>      gen_ai.provider.name to price with (default: openai, then anthropic)
  --overrides <file>     a JSON file with your priceOverrides option
  --update [url]         fetch the price data first (default: ${DEFAULT_PRICE_DATA_URL})
  --json                 print JSON
`;

interface Options {
  models: string[];
  provider?: string;
  overridesFile?: string;
  update?: string;
  json: boolean;
}

class UsageError extends Error {}

function parse(args: string[]): Options {
  const [command, ...rest] = args;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') throw new UsageError('');
  if (command !== 'prices') throw new UsageError(`unknown command "${command}"`);
  const options: Options = { models: [], json: false };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    const value = (): string => {
      const next = rest[++i];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`${arg} needs a value`);
      return next;
    };
    if (arg === '--provider') options.provider = value();
    else if (arg === '--overrides') options.overridesFile = value();
    else if (arg === '--json') options.json = true;
    else if (arg === '--update') options.update = rest[i + 1]?.startsWith('http') ? rest[++i] : DEFAULT_PRICE_DATA_URL;
    else if (arg === '--help' || arg === '-h') throw new UsageError('');
    else if (arg.startsWith('--')) throw new UsageError(`unknown option ${arg}`);
    else options.models.push(arg);
  }
  if (options.models.length === 0) throw new UsageError('name at least one model');
  return options;
}

function readOverrides(file: string | undefined): PriceOverrides | undefined {
  if (!file) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`--overrides ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  validatePriceOverrides(parsed);
  return parsed as PriceOverrides;
}

/** Fetches the data once, through the same code as `priceUpdates`; a failure leaves the bundled data, said on stderr. */
async function update(catalog: PriceCatalog, url: string, stderr: (line: string) => void): Promise<void> {
  let failure: string | undefined;
  const updates = new PriceUpdates(catalog, { url }, (message) => (failure = message));
  updates.start();
  await updates.current;
  updates.stop();
  if (failure) stderr(`otel-llm-cost: ${failure}`);
}

export async function main(args: string[], out: (text: string) => void, err: (text: string) => void): Promise<number> {
  let options: Options;
  let overrides: PriceOverrides | undefined;
  try {
    options = parse(args);
    overrides = readOverrides(options.overridesFile);
  } catch (error) {
    if (error instanceof UsageError || error instanceof TypeError || error instanceof RangeError) {
      if (error.message) err(`otel-llm-cost: ${error.message}\n`);
      err(USAGE);
      return 2;
    }
    throw error;
  }
  const catalog = new PriceCatalog();
  if (options.update) await update(catalog, options.update, (line) => err(`${line}\n`));
  const now = new Date();
  const reports = options.models.map((model) => describeModel(model, catalog, overrides, options.provider, now));
  if (options.json) out(`${JSON.stringify(reports, null, 2)}\n`);
  else out(`${reports.map(formatReport).join('\n\n')}\n`);
  return reports.every((r) => r.priced) ? 0 : 1;
}

if (require.main === module) {
  main(
    process.argv.slice(2),
    (text) => process.stdout.write(text),
    (text) => process.stderr.write(text),
  ).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`otel-llm-cost: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 2;
    },
  );
}
