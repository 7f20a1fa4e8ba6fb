/**
 * Reads and validates scripts. Unknown fields are rejected rather than ignored: a
 * misspelt field in a test would otherwise silently test the default behaviour.
 */

import { isObject } from './json.js';
import type { EmulatorScript } from './types.js';

export class ScriptError extends Error {}

type FieldCheck = (value: unknown) => boolean;

const count: FieldCheck = (value) => typeof value === 'number' && Number.isInteger(value) && value >= 0;
const duration: FieldCheck = (value) => typeof value === 'number' && Number.isFinite(value) && value >= 0;
const string: FieldCheck = (value) => typeof value === 'string';
const boolean: FieldCheck = (value) => typeof value === 'boolean';
const httpErrorStatus: FieldCheck = (value) => typeof value === 'number' && Number.isInteger(value) && value >= 400 && value <= 599;
const toolCall: FieldCheck = (value) => isObject(value) && typeof value.name === 'string' && isObject(value.arguments);
const SERVER_TOOLS = ['web_search', 'web_fetch', 'code_execution', 'file_search', 'code_interpreter'];
const serverToolCalls: FieldCheck = (value) => isObject(value) && Object.entries(value).every(([tool, calls]) => SERVER_TOOLS.includes(tool) && count(calls));

const FIELDS: Record<keyof EmulatorScript, { check: FieldCheck; expected: string }> = {
  outputTokens: { check: count, expected: 'a non-negative integer' },
  text: { check: string, expected: 'a string' },
  chunkDelayMs: { check: duration, expected: 'a non-negative number' },
  firstChunkDelayMs: { check: duration, expected: 'a non-negative number' },
  dropAfterChunks: { check: count, expected: 'a non-negative integer' },
  errorAfterChunks: { check: count, expected: 'a non-negative integer' },
  omitTerminal: { check: boolean, expected: 'a boolean' },
  burst: { check: boolean, expected: 'a boolean' },
  status: { check: httpErrorStatus, expected: 'an HTTP error status (400-599)' },
  errorType: { check: string, expected: 'a string' },
  errorMessage: { check: string, expected: 'a string' },
  errorEcho: { check: (value) => value === 'api-key' || value === 'prompt', expected: "'api-key' or 'prompt'" },
  failTimes: { check: count, expected: 'a non-negative integer' },
  toolCall: { check: toolCall, expected: '{ name: string, arguments: object }' },
  thinking: { check: string, expected: 'a string' },
  reasoningTokens: { check: count, expected: 'a non-negative integer' },
  cacheReadTokens: { check: count, expected: 'a non-negative integer' },
  cacheCreationTokens: { check: count, expected: 'a non-negative integer' },
  cacheCreation1hTokens: { check: count, expected: 'a non-negative integer' },
  serviceTier: { check: string, expected: 'a string' },
  serverToolCalls: { check: serverToolCalls, expected: `an object of call counts by tool (${SERVER_TOOLS.join(', ')})` },
  replay: { check: string, expected: 'a recording id' },
  stripUsage: { check: boolean, expected: 'a boolean' },
  usageOverrides: {
    check: (value) => isObject(value) && Object.values(value).every((v) => v === null || ['number', 'string', 'boolean'].includes(typeof v)),
    expected: 'an object of usage field paths to numbers, strings, booleans or null',
  },
};

export function validateScript(value: unknown): EmulatorScript {
  if (!isObject(value)) throw new ScriptError('the script must be a JSON object');
  for (const [key, field] of Object.entries(value)) {
    if (!Object.hasOwn(FIELDS, key)) {
      throw new ScriptError(`unknown script field "${key}"; known: ${Object.keys(FIELDS).join(', ')}`);
    }
    const rule = FIELDS[key as keyof EmulatorScript];
    if (field !== undefined && !rule.check(field)) {
      throw new ScriptError(`script field "${key}" must be ${rule.expected}`);
    }
  }
  return value as EmulatorScript;
}

/** Parses the `x-emulator-script` header; absent means an empty script. */
export function parseScriptHeader(raw: string | string[] | undefined): EmulatorScript {
  if (raw === undefined) return {};
  const text = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ScriptError('the script header is not valid JSON');
  }
  return validateScript(parsed);
}

/** Request fields win over defaults; `undefined` in the request does not erase a default. */
export function mergeScripts(base: EmulatorScript, override: EmulatorScript): EmulatorScript {
  const merged: EmulatorScript = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value !== undefined) Object.assign(merged, { [key]: value });
  }
  return merged;
}

/** A stable key for "the same script", for `failTimes` attempt counting. */
export function scriptKey(path: string, script: EmulatorScript): string {
  const sorted = Object.keys(script)
    .sort()
    .map((key) => [key, script[key as keyof EmulatorScript]]);
  return `${path} ${JSON.stringify(sorted)}`;
}
