/**
 * A request's span, started after `create()` has returned instead of while the caller
 * waits. Starting a span in the OpenTelemetry SDK (sampler, ids, attributes, processors)
 * was about 20 µs of each call, the largest part of what we added to it (Node 20, NodeSDK,
 * `bench/child.ts create`).
 *
 * The context the SDK call runs in holds this object. Whatever needs the span first starts
 * it: a child HTTP span asking for its parent's context (when the request is sent), an SDK's
 * own tracing, the response's arrival (`hook.ts`), the request's end. It starts with the
 * call's start time, under the context that was active at the call, with the same name and
 * attributes (the request's parameters read from the body then): the span it would have
 * been, whose processors see it start a little later. Every method is passed to that span;
 * none of them throws.
 */
import {
  INVALID_SPAN_CONTEXT,
  SpanKind,
  trace,
  type Attributes,
  type Context,
  type Exception,
  type Link,
  type Span,
  type SpanAttributeValue,
  type SpanContext,
  type SpanStatus,
  type TimeInput,
  type Tracer,
} from '@opentelemetry/api';
import * as sc from '../semconv.js';
import type { RequestDescription } from './model.js';
import { logInternalError } from './safely.js';

/** Where a deferred span gets its tracer, when it starts. */
export interface SpanSource {
  spanTracer(): Tracer;
}

export class DeferredSpan implements Span {
  private span: Span | undefined;

  constructor(
    private readonly source: SpanSource,
    private readonly description: RequestDescription,
    /** Epoch milliseconds. */
    private readonly startTime: number,
    private readonly parent: Context,
  ) {}

  /** The span itself, started now if it has not been. */
  start(): Span {
    this.span ??= this.startNow();
    return this.span;
  }

  private startNow(): Span {
    const { description } = this;
    try {
      const name = description.model ? `${description.operation} ${description.model}` : description.operation;
      return this.source
        .spanTracer()
        .startSpan(name, { kind: SpanKind.CLIENT, attributes: startAttributes(description), startTime: this.startTime }, this.parent);
    } catch (error) {
      logInternalError('starting a span', error);
      return trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
    }
  }

  spanContext(): SpanContext {
    return this.start().spanContext();
  }

  setAttribute(key: string, value: SpanAttributeValue): this {
    this.start().setAttribute(key, value);
    return this;
  }

  setAttributes(attributes: Attributes): this {
    this.start().setAttributes(attributes);
    return this;
  }

  addEvent(name: string, attributesOrStartTime?: Attributes | TimeInput, startTime?: TimeInput): this {
    this.start().addEvent(name, attributesOrStartTime, startTime);
    return this;
  }

  addLink(link: Link): this {
    this.start().addLink?.(link);
    return this;
  }

  addLinks(links: Link[]): this {
    this.start().addLinks?.(links);
    return this;
  }

  setStatus(status: SpanStatus): this {
    this.start().setStatus(status);
    return this;
  }

  updateName(name: string): this {
    this.start().updateName(name);
    return this;
  }

  end(endTime?: TimeInput): void {
    this.start().end(endTime);
  }

  isRecording(): boolean {
    return this.start().isRecording();
  }

  recordException(exception: Exception, time?: TimeInput): void {
    this.start().recordException(exception, time);
  }
}

/** What the span starts with: the conventions' request attributes, the server's, and the request's parameters. */
function startAttributes(description: RequestDescription): Attributes {
  const attributes: Attributes = {
    [sc.ATTR_GEN_AI_OPERATION_NAME]: description.operation,
    [sc.ATTR_GEN_AI_PROVIDER_NAME]: description.provider,
  };
  if (description.model) attributes[sc.ATTR_GEN_AI_REQUEST_MODEL] = description.model;
  attributes[sc.ATTR_GEN_AI_REQUEST_STREAM] = description.stream;
  Object.assign(attributes, description.attributes);
  if (description.parameters) {
    try {
      Object.assign(attributes, description.parameters());
    } catch (error) {
      logInternalError('reading request parameters', error);
    }
  }
  return attributes;
}
