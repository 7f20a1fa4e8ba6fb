/**
 * The seam between the generic core and one provider's SDK. A provider folder plans each
 * call (`PlanCall`) and reads its chunks through `ResponseObserver`, the narrow view of the
 * request it may write to; the core never looks inside a chunk itself.
 */
import type { ContentReader } from './content.js';
import type { EstimatorConstantOverrides } from './fitted-constants.js';
import type { Charge, InputBound, ReportedUsage, RequestDescription, ServerTool, StreamOutcome } from './model.js';
import type { EncodingName, TokenCounter } from './tokenizer.js';

/** What a provider's reader may tell the core about the response it reads. */
export interface ResponseObserver {
  /** The response id, once a chunk or body named it. */
  readonly responseId: string | undefined;
  /** Sets the response id and model where not known yet; `finalModel` replaces an earlier model (a terminal event's). */
  identify(id: unknown, model: unknown, finalModel?: boolean): void;
  reportUsage(usage: ReportedUsage): void;
  /** The `service_tier` the response says served it; `final` replaces an earlier one (a terminal event's). */
  reportServiceTier(tier: unknown, final?: boolean): void;
  /** `count` calls of a server-side tool seen so far (counts only grow). */
  noteToolCalls(tool: ServerTool, count: number): void;
  /** Generated text (content, tool arguments, reasoning): what an output estimate is counted from. */
  addOutput(text: unknown): void;
  addFinishReason(reason: unknown): void;
  /** The provider's terminal event arrived: the response is complete, whatever follows. */
  markTerminal(): void;
  /** An error the provider reported inside a well-formed stream: however the stream then ends, it ends as `error`. */
  reportFailure(error: unknown): void;
  /** How a stream that ends cleanly without its terminal event is read (default `truncated`). */
  endsUnterminatedAs(outcome: StreamOutcome): void;
}

/** A request that something outside its stream can end (an OpenAI `responses.cancel(id)`). */
export interface CancellableRequest {
  readonly ended: boolean;
  cancel(): void;
  /** Runs `cleanup` once the request has ended (at once if it has). */
  onEnd(cleanup: () => void): void;
}

/** Turns the provider's chunks and response bodies into observations. */
export interface ResponseReader {
  /** Reads one streamed chunk; returns false when the consumer must not see it. */
  readChunk(chunk: unknown, observer: ResponseObserver): boolean;
  /**
   * What an SDK stream's consumer receives for a chunk `readChunk` found visible: `chunk`
   * itself, or a copy without what an injected option added to it. Absent: `chunk` itself.
   * (Raw bodies are edited byte for byte instead: frame-editor.ts.)
   */
  presentChunk?(chunk: unknown): unknown;
  /** Reads a non-streaming response body. */
  readResponse(body: unknown, observer: ResponseObserver): void;
  /** Called once the request is live, for readers that register it somewhere (cancellable background responses). */
  attach?(request: CancellableRequest): void;
}

/** Counts what the provider did not report. */
export interface UsageEstimator {
  readonly encoding: EncodingName;
  /** Input tokens of the request as sent. */
  estimateInput(counter: TokenCounter): number;
  /**
   * Set when the provider adds input the request does not show (server-side tools that
   * fetch content, redacted thinking, stored context this process never saw: the estimate
   * is a `lower` bound) or removes some (server-side context management: `upper`).
   */
  inputBound?(): InputBound | undefined;
  /** From locally counted output tokens to the provider's count (1 where the tokenizer is the provider's). */
  readonly outputFactor: number;
  /**
   * Output tokens the provider counts beyond the received text (tool-call framing, a
   * per-response constant), read once the response has been read; 0 when absent.
   */
  outputOverhead?(): number;
  /**
   * The part of `outputOverhead()` that corrects the local count of the received text
   * toward the provider's tokenizer (not framing): left out when the provider counted the
   * text itself. 0 when absent.
   */
  outputTextCorrection?(): number;
  /** Hidden reasoning this request may have produced, given what the reader saw; none when absent. */
  hiddenReasoning?(): ReasoningExpectation;
  /** How self-calibration keys and bounds this request's figures; no learning when absent. */
  readonly calibration?: CalibrationSpec;
  /**
   * Counts through the provider's own token-counting endpoint, with the user's client
   * (opt-in `exactCounting: 'provider'`): the input as sent, and the received text as
   * the provider tokenizes it. Absent where the provider or SDK version has no such endpoint.
   */
  countWithProvider?(request: ProviderCountRequest, signal: AbortSignal): Promise<ProviderCounts>;
}

/**
 * Output the provider bills but never streams (hidden reasoning):
 * - `none`: this request cannot have any;
 * - `typical`: a typical count per response, learned per model family, starting from
 *   `defaultTokens`; `learnFrom` says how a completed request shows it: `reasoning` (the
 *   reported reasoning tokens are all hidden: OpenAI; the default) or `residual` (the
 *   reported output beyond the received text and its framing: Claude thinking whose text
 *   is not returned);
 * - `summarized`: the reasoning arrived as a summary (Claude 4 and later) while the full
 *   reasoning is billed: what the summary leaves out is a share of the summary's tokens,
 *   learned per model family from the residual, starting from `defaultShare`.
 *   `summaryChars`: how many of the received characters were the summary.
 */
export type ReasoningExpectation =
  | { readonly kind: 'none' }
  | { readonly kind: 'typical'; readonly defaultTokens: number; readonly learnFrom?: 'reasoning' | 'residual' }
  | { readonly kind: 'summarized'; readonly defaultShare: number; readonly summaryChars: number };

/** Where self-calibration files what a request teaches, and how far it may move each figure. */
export interface CalibrationSpec {
  /** Output factor and hidden reasoning are learned per this key (provider, model family, effort). */
  readonly outputKey: string;
  /**
   * Hidden reasoning is learned per this key instead, where it differs from the output's
   * (Claude: per model family with thinking, while the factor is learned from every request).
   */
  readonly hiddenKey?: string;
  /** The band learning keeps the output factor within. */
  readonly outputFactorBounds: readonly [number, number];
  /** Input offsets (reported − counted) are learned per this key (provider, API, model family, request shape). */
  readonly inputKey: string;
  /** The band a learned input offset stays within, in tokens. */
  readonly inputOffsetBounds: readonly [number, number];
  /**
   * Only prompts counted at most this large teach the input offset: where the local count is
   * a fit (an unpublished tokenizer), a big prompt's residual is mostly that fit's error, not
   * something the provider adds.
   */
  readonly inputOffsetMaxTokens: number;
}

/** What to count through the provider: the input, and the text the client received. */
export interface ProviderCountRequest {
  /** Whether the input needs counting (it was not reported). */
  readonly input: boolean;
  /** Whether the received text needs counting (the output was not reported). */
  readonly output: boolean;
  readonly text: string;
}

/** What a provider's counting endpoint said; absent values were not counted. */
export interface ProviderCounts {
  readonly input?: number;
  /** Tokens of the received text alone (no framing, no hidden reasoning). */
  readonly outputText?: number;
}

export interface PlannedCall {
  readonly description: RequestDescription;
  /** The body to send: the user's own object, or a copy with the usage option added. */
  readonly body: unknown;
  readonly reader: ResponseReader;
  readonly estimator: UsageEstimator;
  /** Set for responses that can be read more than once (resumed streams): see `ChargeLedger`. */
  readonly chargeLedger?: ChargeLedger;
  /** How budgets may rewrite this kind of request; absent where they cannot. */
  readonly rewrite?: RequestRewrite;
  /** Reads messages in the conventions' shape, for opt-in content capture (called only then); absent where not supported. */
  readonly content?: () => ContentReader;
  /** Set when `body` carries an option the caller did not ask for, whose traces the reader hides. */
  readonly injection?: StreamInjection;
}

/**
 * An option added to a streaming request body for usage (OpenAI's `stream_options.include_usage`).
 * Its traces in a stream are hidden from the caller: the events the reader reports invisible,
 * and `nullField: null`, which the option makes the server add to every other event. Where the
 * caller reads the raw body (`asResponse()`) before the body is sent, it is taken back out.
 */
export interface StreamInjection {
  /** The top-level body field that was added or changed. */
  readonly field: string;
  /** The caller's own value of that field; `undefined` when the caller had none. */
  readonly callerValue: unknown;
  /** The top-level member the server adds as `null` to every event because of the option. */
  readonly nullField: string;
}

/** Copies of a request body with one thing changed; the user's own object is never modified. */
export interface RequestRewrite {
  /** The body asking for another model (a budget's fallback). */
  model(body: unknown, model: string): unknown;
  /**
   * The body with its output-token limit at most `maxTokens` (a budget's clamp): the same
   * object when its limit is already lower, `undefined` when the API cannot take that limit.
   */
  maxOutputTokens(body: unknown, maxTokens: number): unknown;
}

/**
 * Remembers, per response id, what the metrics were already charged, so a response read
 * twice (interrupted, then resumed) is counted once: the metrics get only the difference,
 * while each span still shows its own totals.
 */
export interface ChargeLedger {
  /** Records that `charge` is now accounted for `responseId`; returns what was accounted before. */
  settle(responseId: string, charge: Charge): Charge | undefined;
}

/** The instrumentation's settings a plan reads. */
export interface ProviderSettings {
  readonly injectStreamUsage: boolean;
  /** Overrides of the estimators' fitted constants (the accuracy command's refits). */
  readonly estimatorConstants?: EstimatorConstantOverrides;
}

/**
 * One SDK method: reads the call's arguments and plans what to observe. `body` is the first
 * argument; `args` all of them, for methods whose first argument is not a body (`retrieve(id, query)`).
 */
export type PlanCall = (body: unknown, resource: unknown, settings: ProviderSettings, args: readonly unknown[]) => PlannedCall | undefined;
