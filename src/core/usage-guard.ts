/**
 * Reported usage is the provider's word, but not blindly: a figure that is not a whole
 * number of tokens, or that no request could reach, is dropped and estimated instead. A
 * proxy or emulator that sends `prompt_tokens: 1e308` would otherwise put $7.5e301 on the
 * spend counter, marked `reported`.
 */
import type { ReportedUsage } from './model.js';
import { logWarning } from './safely.js';

/**
 * Above any model's context window or output limit (the largest windows offered in 2026
 * hold about 10 million tokens): a figure beyond it is not a count.
 */
export const MAX_REPORTED_TOKENS = 50_000_000;

/** Each provider and field is warned about once per process: a lying server lies on every request. */
const warned = new Set<string>();
const MAX_WARNED = 256;

export function isTokenCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= MAX_REPORTED_TOKENS;
}

/** The fields of `usage` that are plausible token counts; the others are dropped with a warning. */
export function acceptedUsage(usage: ReportedUsage, provider: string): ReportedUsage {
  let accepted: ReportedUsage | undefined;
  for (const key of Object.keys(usage) as (keyof ReportedUsage)[]) {
    const value = usage[key];
    if (value === undefined || isTokenCount(value)) continue;
    accepted ??= { ...usage };
    delete accepted[key];
    warnOnce(provider, key, value);
  }
  return accepted ?? usage;
}

function warnOnce(provider: string, field: string, value: unknown): void {
  const key = `${provider}\u0000${field}`;
  if (warned.has(key) || warned.size >= MAX_WARNED) return;
  warned.add(key);
  logWarning(
    `${provider} reported usage ${field} = ${String(value)}, which is not a token count (a whole number from 0 to ${MAX_REPORTED_TOKENS}); ` +
      'it is estimated instead',
  );
}
