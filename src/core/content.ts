/**
 * Message content, captured only when the user asks for it (`captureMessageContent`, or
 * `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`), in the shape of the GenAI
 * conventions' opt-in attributes: `gen_ai.system_instructions`, `gen_ai.input.messages`
 * and `gen_ai.output.messages`, each a JSON string of messages made of typed parts.
 *
 * Each attribute is bounded (`messageContentMaxLength` characters of JSON, default
 * {@link DEFAULT_CONTENT_MAX_LENGTH}): text is kept in order until the bound, the rest is
 * cut, the JSON stays valid, and `llm_cost.content.truncated` names the attributes that
 * were cut. A stream's output is collected only up to the bound, so capture never holds
 * more than that per request.
 *
 * Adapters translate their SDK's shapes into these parts (`ContentReader`); nothing here
 * knows a particular SDK.
 */
import type { Attributes } from '@opentelemetry/api';
import * as sc from '../semconv.js';
import type { ResponseReader } from './adapter.js';
import { logInternalError } from './safely.js';

export const DEFAULT_CONTENT_MAX_LENGTH = 16_384;

export const CAPTURE_CONTENT_ENV = 'OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT';

/** One part of a message, as the conventions type them. */
export type MessagePart =
  | { readonly type: 'text'; content: string }
  | { readonly type: 'reasoning'; content: string }
  | { readonly type: 'tool_call'; id?: string; name: string; arguments?: unknown }
  | { readonly type: 'tool_call_response'; id?: string; response: unknown }
  /** Images, audio, files: only their kind and modality, never their bytes. */
  | { readonly type: 'blob' | 'uri' | 'file'; modality: string; mime_type?: string };

export interface ChatMessage {
  role: string;
  parts: MessagePart[];
  name?: string;
}

export interface OutputMessage extends ChatMessage {
  finish_reason: string;
}

/** What a request sent, in the conventions' shape. */
export interface CapturedInput {
  /** Instructions given apart from the chat history (Anthropic `system`, Responses `instructions`). */
  readonly systemInstructions?: MessagePart[];
  readonly messages: ChatMessage[];
}

/** Where an adapter puts the output it reads, chunk by chunk or from a whole response. */
export interface OutputSink {
  text(choice: number, text: string): void;
  reasoning(choice: number, text: string): void;
  /** Starts tool call `key` of `choice`, or extends it: `argumentsText` is appended. */
  toolCall(choice: number, key: string | number, call: { id?: string; name?: string; argumentsText?: string }): void;
  finishReason(choice: number, reason: string): void;
}

/** The adapter's side of content capture; called only when capture is on. */
export interface ContentReader {
  input(): CapturedInput;
  readChunk(chunk: unknown, output: OutputSink): void;
  readResponse(body: unknown, output: OutputSink): void;
}

export interface ContentSettings {
  readonly maxLength: number;
}

/** The options that turn capture on, as the configuration holds them. */
export interface ContentOptions {
  readonly captureMessageContent?: boolean;
  readonly messageContentMaxLength?: number;
}

const resolved = new WeakMap<ContentOptions, ContentSettings | null>();

/**
 * Capture settings for a configuration, or `undefined` when capture is off: the option
 * when set, else the environment variable. Resolved once per configuration object, so the
 * environment is not read on every request.
 */
export function contentSettings(options: ContentOptions): ContentSettings | undefined {
  let settings = resolved.get(options);
  if (settings === undefined) {
    const on = options.captureMessageContent ?? captureContentFromEnv();
    settings = on ? { maxLength: options.messageContentMaxLength ?? DEFAULT_CONTENT_MAX_LENGTH } : null;
    resolved.set(options, settings);
  }
  return settings ?? undefined;
}

/** Whether the environment turns capture on: `true` (any case) only, as other instrumentations read it. */
export function captureContentFromEnv(): boolean {
  try {
    return process.env[CAPTURE_CONTENT_ENV]?.trim().toLowerCase() === 'true';
  } catch {
    return false;
  }
}

interface ToolCallDraft {
  id?: string;
  name: string;
  argumentsText: string;
}

interface ChoiceDraft {
  parts: (MessagePart | ToolCallDraft)[];
  toolCalls: Map<string, ToolCallDraft>;
  finishReason?: string;
}

/** The content of one request: its input, serialised when it starts, and its output as it arrives. */
export class ContentCapture implements OutputSink {
  private readonly input: Attributes;
  private readonly choices = new Map<number, ChoiceDraft>();
  private collected = 0;
  private outputCut = false;

  constructor(
    private readonly reader: ContentReader,
    private readonly settings: ContentSettings,
  ) {
    // Serialised now: callers often push the reply onto the same array once it arrives.
    const { systemInstructions, messages } = reader.input();
    const truncated: string[] = [];
    this.input = {};
    if (systemInstructions && systemInstructions.length > 0) {
      this.input[sc.ATTR_GEN_AI_SYSTEM_INSTRUCTIONS] = boundedJson(
        [{ role: 'system', parts: systemInstructions }],
        settings.maxLength,
        () => truncated.push(sc.ATTR_GEN_AI_SYSTEM_INSTRUCTIONS),
        (fitted) => fitted[0]?.parts ?? [],
      );
    }
    this.input[sc.ATTR_GEN_AI_INPUT_MESSAGES] = boundedJson(messages, settings.maxLength, () => truncated.push(sc.ATTR_GEN_AI_INPUT_MESSAGES));
    if (truncated.length > 0) this.input[sc.ATTR_LLM_COST_CONTENT_TRUNCATED] = truncated;
  }

  /** `reader`, also feeding the output into this capture. */
  observing(reader: ResponseReader): ResponseReader {
    return {
      readChunk: (chunk, observer) => {
        const visible = reader.readChunk(chunk, observer);
        this.safely(() => this.reader.readChunk(chunk, this));
        return visible;
      },
      readResponse: (body, observer) => {
        reader.readResponse(body, observer);
        this.safely(() => this.reader.readResponse(body, this));
      },
      attach: (request) => reader.attach?.(request),
      ...(reader.presentChunk ? { presentChunk: (chunk: unknown) => reader.presentChunk!(chunk) } : {}),
    };
  }

  /** The span attributes: input always, output when any arrived. */
  attributes(): Attributes {
    const attributes: Attributes = { ...this.input };
    const truncated = [...((attributes[sc.ATTR_LLM_COST_CONTENT_TRUNCATED] as string[] | undefined) ?? [])];
    if (this.choices.size > 0) {
      let cut = this.outputCut;
      attributes[sc.ATTR_GEN_AI_OUTPUT_MESSAGES] = boundedJson(this.outputMessages(), this.settings.maxLength, () => {
        cut = true;
      });
      if (cut) truncated.push(sc.ATTR_GEN_AI_OUTPUT_MESSAGES);
    }
    if (truncated.length > 0) attributes[sc.ATTR_LLM_COST_CONTENT_TRUNCATED] = truncated;
    return attributes;
  }

  text(choice: number, text: string): void {
    this.appendText(choice, 'text', text);
  }

  reasoning(choice: number, text: string): void {
    this.appendText(choice, 'reasoning', text);
  }

  toolCall(choice: number, key: string | number, call: { id?: string; name?: string; argumentsText?: string }): void {
    const draft = this.choice(choice);
    const id = `${key}`;
    let toolCall = draft.toolCalls.get(id);
    if (!toolCall) {
      if (!this.room(call.name?.length ?? 0)) return;
      toolCall = { name: '', argumentsText: '' };
      draft.toolCalls.set(id, toolCall);
      draft.parts.push(toolCall);
    }
    if (call.id) toolCall.id = call.id;
    if (call.name) toolCall.name = call.name;
    if (call.argumentsText) toolCall.argumentsText += this.take(call.argumentsText);
  }

  finishReason(choice: number, reason: string): void {
    this.choice(choice).finishReason = reason;
  }

  private appendText(choice: number, type: 'text' | 'reasoning', text: string): void {
    if (text.length === 0) return;
    const kept = this.take(text);
    if (kept.length === 0) return;
    const parts = this.choice(choice).parts;
    const last = parts[parts.length - 1];
    if (last && 'type' in last && last.type === type) last.content += kept;
    else parts.push({ type, content: kept });
  }

  /** What fits of `text` in the output bound; the rest is dropped and the output marked cut. */
  private take(text: string): string {
    const room = Math.max(0, this.settings.maxLength - this.collected);
    const kept = text.length <= room ? text : text.slice(0, room);
    if (kept.length < text.length) this.outputCut = true;
    this.collected += kept.length;
    return kept;
  }

  private room(length: number): boolean {
    if (this.collected + length > this.settings.maxLength) {
      this.outputCut = true;
      return false;
    }
    this.collected += length;
    return true;
  }

  private choice(index: number): ChoiceDraft {
    let draft = this.choices.get(index);
    if (!draft) {
      draft = { parts: [], toolCalls: new Map() };
      this.choices.set(index, draft);
    }
    return draft;
  }

  private outputMessages(): OutputMessage[] {
    return [...this.choices.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, draft]) => ({
        role: 'assistant',
        parts: draft.parts.map((part) => ('type' in part ? part : toolCallPart(part))),
        finish_reason: draft.finishReason ?? 'unknown',
      }));
  }

  private safely(read: () => void): void {
    try {
      read();
    } catch (error) {
      logInternalError('capturing message content', error);
    }
  }
}

function toolCallPart(draft: ToolCallDraft): MessagePart {
  const part: { type: 'tool_call'; id?: string; name: string; arguments?: unknown } = { type: 'tool_call', name: draft.name };
  if (draft.id) part.id = draft.id;
  if (draft.argumentsText) part.arguments = parseArguments(draft.argumentsText);
  return part;
}

/** Tool arguments as the object they are, or as sent when they are not (or no longer, once cut) JSON. */
export function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * `value` as JSON of at most `maxLength` characters. Over the bound, the strings inside are
 * cut in order (earlier content kept), and what has no room left is dropped, so the result is
 * still valid JSON of the same shape.
 */
function boundedJson<T>(value: T, maxLength: number, onCut: () => void, unwrap?: (fitted: T) => unknown): string {
  const whole = JSON.stringify(unwrap ? unwrap(value) : value);
  if (whole.length <= maxLength) return whole;
  onCut();
  // Room for strings: the bound less the JSON's structure, found by measuring it with the strings emptied.
  const structure = JSON.stringify(mapStrings(value, () => '')).length;
  let budget = Math.max(0, maxLength - structure);
  for (let attempt = 0; attempt < 8; attempt++) {
    let remaining = budget;
    const fitted = mapStrings(value, (text) => {
      const kept = text.slice(0, remaining);
      remaining -= kept.length;
      return kept;
    });
    const json = JSON.stringify(unwrap ? unwrap(fitted) : fitted);
    if (json.length <= maxLength) return json;
    // Escaped characters (quotes, newlines, non-ASCII) take more than one character of JSON.
    budget = Math.max(0, Math.floor(budget * (maxLength / json.length)) - 1);
  }
  // Only the structure itself (ids, names) is over the bound: nothing meaningful fits.
  return '[]';
}

/** A copy of `value` with every string value (not keys, not `type`/`role` tags) passed through `map`. */
function mapStrings<T>(value: T, map: (text: string) => string): T {
  const visit = (item: unknown, key: string | undefined): unknown => {
    if (typeof item === 'string') return key !== undefined && STRUCTURAL_KEYS.has(key) ? item : map(item);
    if (Array.isArray(item)) return item.map((entry) => visit(entry, undefined));
    if (typeof item === 'object' && item !== null) {
      const copy: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(item)) copy[k] = visit(v, k);
      return copy;
    }
    return item;
  };
  return visit(value, undefined) as T;
}

/** Fields that say what a message or part is, never cut. */
const STRUCTURAL_KEYS = new Set(['type', 'role', 'finish_reason', 'modality', 'mime_type', 'id', 'name']);
