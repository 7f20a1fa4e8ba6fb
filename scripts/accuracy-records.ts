/**
 * A recordings file (gzipped or plain JSON Lines, the format of `recordings-dev.jsonl.gz`,
 * documented in its README) and what the accuracy table needs from each record: the
 * provider's figures in the instrumentation's sense, the slices rows are grouped on, and
 * the output each stream chunk carries.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export interface AccuracyRecording {
  provider: 'openai' | 'anthropic';
  api: string;
  stream: boolean;
  model?: string;
  response_id: string;
  request: Record<string, unknown>;
  events?: unknown[];
  response?: unknown;
  usage_summary: { input: number; output: number; reasoning: number | null; cached: number | null; cache_write?: number | null };
  output_types?: string[];
  tool_call_text?: string;
  checks?: { reasoning_model?: boolean };
  [key: string]: unknown;
}

/** The APIs the pipeline replays; records of others (if a file has them) are counted and skipped. */
export const REPLAYED_APIS = new Set(['chat.completions', 'responses', 'messages']);

export function readRecordings(path: string): AccuracyRecording[] {
  let bytes = readFileSync(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  const recordings: AccuracyRecording[] = [];
  for (const line of bytes.toString('utf8').split('\n')) {
    if (line.trim() === '') continue;
    const r = JSON.parse(line) as Partial<AccuracyRecording>;
    if (r.provider !== 'openai' && r.provider !== 'anthropic') continue;
    if (typeof r.request !== 'object' || r.request === null || typeof r.usage_summary?.output !== 'number') continue;
    if (typeof r.response_id !== 'string' || typeof r.api !== 'string') continue;
    recordings.push(r as AccuracyRecording);
  }
  return recordings;
}

export type TokenType = 'input' | 'output' | 'reasoning' | 'cacheRead' | 'cacheCreation';
export const TOKEN_TYPES: readonly TokenType[] = ['input', 'output', 'reasoning', 'cacheRead', 'cacheCreation'];

/**
 * The provider's figures in the conventions' sense, as the instrumentation reports them:
 * Anthropic's input includes cache reads and writes, OpenAI's already does.
 */
export function trueUsage(r: AccuracyRecording): Partial<Record<TokenType, number>> {
  const u = r.usage_summary;
  if (r.provider === 'anthropic') {
    return { input: u.input + (u.cached ?? 0) + (u.cache_write ?? 0), output: u.output, cacheRead: u.cached ?? 0, cacheCreation: u.cache_write ?? 0 };
  }
  return { input: u.input, output: u.output, reasoning: u.reasoning ?? 0, cacheRead: u.cached ?? 0 };
}

export function isReasoningModel(r: AccuracyRecording): boolean {
  if (r.provider !== 'openai') return false;
  if (typeof r.checks?.reasoning_model === 'boolean') return r.checks.reasoning_model;
  return (r.usage_summary.reasoning ?? 0) > 0 || /^(o\d|gpt-5)/.test(r.model ?? '');
}

/** `text-only`, or `with tools/images/schemas` (tools, images, files, audio or a JSON schema in the request). */
export function inputSlice(r: AccuracyRecording): string {
  const body = r.request;
  const rich =
    (Array.isArray(body.tools) && body.tools.length > 0) ||
    body.response_format !== undefined ||
    (body.text as { format?: unknown } | undefined)?.format !== undefined ||
    body.output_format !== undefined ||
    /"type":"(image|image_url|input_image|file|input_file|input_audio|document)"/.test(JSON.stringify(body.messages ?? body.input ?? null));
  return rich ? 'with tools/images/schemas' : 'text-only';
}

const SERVER_SIDE_TOOL = /^(web_search|web_fetch|file_search|code_interpreter|code_execution|mcp)/;

/**
 * Why the usage a record reports is not all visible to a client, or undefined when it is:
 * `reasoning` (hidden reasoning tokens reported), `prompt cache` (cache reads or writes:
 * which part of the prompt hit the cache only the usage says), `server tools` (server-side tools add
 * what they fetch to the input), `context management` (server-side compaction or
 * clearing, compaction items, redacted thinking), `image of unknown size` (an image by web
 * address), `summarized thinking` (Claude 4 and later stream a summary of long thinking but
 * bill all of it). The cost-bias target is checked over the records where this is undefined.
 */
export function hiddenUsage(r: AccuracyRecording): string | undefined {
  const body = r.request;
  if (r.provider === 'openai' && (r.usage_summary.reasoning ?? 0) > 0) return 'reasoning';
  // Which part of a prompt the provider had cached (billed at a fraction) only its usage says.
  if ((r.usage_summary.cached ?? 0) > 0 || (r.usage_summary.cache_write ?? 0) > 0) return 'prompt cache';
  const tools = Array.isArray(body.tools) ? body.tools : [];
  if (tools.some((tool) => SERVER_SIDE_TOOL.test(String((tool as { type?: unknown } | null)?.type ?? '')))) return 'server tools';
  if (body.web_search_options !== undefined) return 'server tools';
  const text = JSON.stringify(body.messages ?? body.input ?? null);
  if (body.context_management !== undefined || /"type":"(compaction|redacted_thinking)"/.test(text)) return 'context management';
  // An image by web address or file id: its size, and so its tokens, cannot be read.
  if (/"(image_url|input_image)":("https?:|\{"url":"https?:)|"type":"input_image","file_id"/.test(text)) return 'image of unknown size';
  const thinking = (body.thinking as { type?: unknown } | undefined)?.type === 'enabled';
  if (r.provider === 'anthropic' && thinking && /^claude-(opus|sonnet|haiku)-[4-9]|^claude-[4-9]/.test(r.model ?? '')) return 'summarized thinking';
  return undefined;
}

/** Responses input the request fully shows: no server-side tools, compaction or context management. */
export function responsesInputVisible(r: AccuracyRecording): boolean {
  const hidden = hiddenUsage(r);
  return hidden !== 'server tools' && hidden !== 'context management';
}

/**
 * The model kind and what the output holds: `text`, `tool calls`, or `citations` (the API
 * inserted web-search annotations, which are not model tokens: see the recordings README).
 */
export function outputSlice(r: AccuracyRecording): string {
  const kind = isReasoningModel(r) ? 'reasoning model' : 'non-reasoning';
  const types = r.output_types ?? [];
  const holds = types.some((t) => /annotation|citation|web_search|server_tool/.test(t))
    ? 'citations'
    : (r.tool_call_text ?? '') !== '' || types.some((t) => /tool|function/.test(t))
      ? 'tool calls'
      : 'text';
  return `${kind}, ${holds}`;
}

/**
 * The output one stream event carries, for the events the emulator counts as content
 * chunks (`dropAfterChunks` counts these): chat text and tool arguments, Anthropic text,
 * thinking and tool-input JSON, Responses `*.delta` strings. `undefined`: not a content chunk.
 */
export function contentOf(api: string, event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const data = event as Record<string, unknown>;
  if (api === 'messages') {
    const delta = data.delta as Record<string, unknown> | undefined;
    if (data.type !== 'content_block_delta' || !delta) return undefined;
    const text = [delta.text, delta.thinking, delta.partial_json].find((v) => typeof v === 'string');
    return typeof text === 'string' ? text : undefined;
  }
  if (api === 'responses') {
    return typeof data.type === 'string' && data.type.endsWith('.delta') && typeof data.delta === 'string' ? data.delta : undefined;
  }
  const choice = (data.choices as Record<string, unknown>[] | undefined)?.[0];
  const delta = choice?.delta as Record<string, unknown> | undefined;
  if (!delta) return undefined;
  let text = typeof delta.content === 'string' ? delta.content : '';
  const calls = Array.isArray(delta.tool_calls) ? delta.tool_calls : [];
  for (const call of calls) {
    const args = (call as { function?: { arguments?: unknown } }).function?.arguments;
    if (typeof args === 'string') text += args;
  }
  return text !== '' || calls.length > 0 ? text : undefined;
}

export function contentPieces(r: AccuracyRecording): string[] {
  const pieces: string[] = [];
  for (const event of r.events ?? []) {
    const text = contentOf(r.api, event);
    if (text !== undefined) pieces.push(text);
  }
  return pieces;
}

/** Half-way through the content, for streams with at least 4 content chunks. */
export function cutPoint(r: AccuracyRecording): number | undefined {
  if (!r.stream) return undefined;
  const chunks = contentPieces(r).length;
  return chunks >= 4 ? Math.floor(chunks / 2) : undefined;
}
