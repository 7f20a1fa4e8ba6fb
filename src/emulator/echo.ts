/**
 * Hostile error messages for `errorEcho` scripts: a server (or a gateway in front of it)
 * that copies the caller's API key or prompt into its error text, as some do. The text
 * replaces `errorMessage` for scripted HTTP errors (`status`, `failTimes`) and mid-stream
 * errors (`errorAfterChunks`).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isObject } from './json.js';
import type { EmulatorProvider } from './types.js';

export type ErrorEcho = 'api-key' | 'prompt';

export function echoedErrorMessage(provider: EmulatorProvider, echo: ErrorEcho, headers: IncomingHttpHeaders, body: unknown): string {
  if (echo === 'api-key') {
    const authorization = String(headers.authorization ?? '');
    const key = String(headers['x-api-key'] ?? authorization.replace(/^Bearer\s+/i, ''));
    return provider === 'anthropic'
      ? `invalid x-api-key: ${key} (x-api-key: ${key})`
      : `Incorrect API key provided: ${key}. Sent as Authorization: ${authorization}. You can find your API key at https://platform.openai.com/account/api-keys.`;
  }
  const prompt = firstPromptText(body) ?? '';
  return `Your request was rejected by the safety system. Flagged input: ${prompt} (quoted: '${prompt}')`;
}

/** The first text the caller sent: a message's content, `input`, `prompt` or `system`. */
function firstPromptText(body: unknown): string | undefined {
  if (!isObject(body)) return undefined;
  const texts: string[] = [];
  const collect = (value: unknown): void => {
    if (typeof value === 'string') texts.push(value);
    else if (Array.isArray(value)) value.forEach(collect);
    else if (isObject(value)) {
      if (typeof value.text === 'string') texts.push(value.text);
      else if ('content' in value) collect(value.content);
    }
  };
  for (const field of ['messages', 'input', 'prompt', 'system']) if (field in body) collect(body[field]);
  return texts.find((text) => text.length > 0);
}
