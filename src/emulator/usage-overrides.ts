/**
 * A server that lies about usage (`usageOverrides` scripts): every usage object the
 * emulator sends gets these fields, set by dotted path (`prompt_tokens`,
 * `prompt_tokens_details.cached_tokens`, `input_tokens`…), whatever they hold: 1e308,
 * 10.5, -3, a string.
 */
import type { JsonObject } from './json.js';
import { isObject } from './json.js';
import type { EmulatorScript } from './types.js';

export function withUsageOverrides(usage: JsonObject, script: EmulatorScript): JsonObject {
  const overrides = script.usageOverrides;
  if (!overrides) return usage;
  const lied: JsonObject = structuredClone(usage);
  for (const [path, value] of Object.entries(overrides)) {
    const keys = path.split('.');
    let target: JsonObject = lied;
    for (const key of keys.slice(0, -1)) {
      const next = target[key];
      if (!isObject(next)) target[key] = {};
      target = target[key] as JsonObject;
    }
    target[keys[keys.length - 1]!] = value;
  }
  return lied;
}
