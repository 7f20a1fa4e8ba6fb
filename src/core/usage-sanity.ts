/**
 * Reported usage is the provider's word, so it is written as `reported` and priced as is;
 * a value no provider can mean is not. A field is accepted only when it is a whole,
 * non-negative number of tokens no larger than `MAX_REPORTED_TOKENS`; anything else (10.5,
 * -3, 1e308) is dropped, so the request's estimate takes its place, and `diag` says so
 * once per provider and field.
 *
 * The ceiling: the largest context window in the bundled price data (@pydantic/genai-prices
 * 0.1.8, 906 models) is 10,000,000 tokens (meta.llama4-scout), the next 2,000,000; no request
 * can use more input, output, cache or reasoning tokens than its model's window. A value
 * above it is a broken or lying server (`prompt_tokens: 1e308` was priced into a spend
 * counter of $7.5e301).
 */
import type { ReportedUsage } from './model.js';

export const MAX_REPORTED_TOKENS = 10_000_000;

const FIELD_NAMES: Record<keyof ReportedUsage, string> = {
  input: 'input tokens',
  output: 'output tokens',
  cacheRead: 'cache-read input tokens',
  cacheCreation: 'cache-creation input tokens',
  cacheCreation1h: '1-hour cache-creation input tokens',
  reasoning: 'reasoning tokens',
};

export function isSaneTokenCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= MAX_REPORTED_TOKENS;
}

/** Keeps the sane fields of reported usage; warns once per provider and field about the others. */
export class ReportedUsageCheck {
  private readonly warned = new Set<string>();

  constructor(private readonly warn: (message: string) => void) {}

  accept(provider: string, usage: ReportedUsage): ReportedUsage {
    const sane: ReportedUsage = {};
    for (const key of Object.keys(usage) as (keyof ReportedUsage)[]) {
      const value = usage[key];
      if (value === undefined) continue;
      if (isSaneTokenCount(value)) sane[key] = value;
      else this.warnOnce(provider, key, value);
    }
    return sane;
  }

  private warnOnce(provider: string, key: keyof ReportedUsage, value: unknown): void {
    const id = `${provider}\u0000${key}`;
    if (this.warned.has(id)) return;
    this.warned.add(id);
    try {
      this.warn(
        `${provider} reported ${FIELD_NAMES[key]} = ${String(value)}, not a whole number of tokens from 0 to ${MAX_REPORTED_TOKENS.toLocaleString('en-US')}: ignored, and estimated instead (said once per provider and field)`,
      );
    } catch {
      // a broken logger must not break the request
    }
  }
}
