/**
 * An injected request option that can still be taken back out of the body. The SDKs
 * serialise the body with `JSON.stringify` a few microtasks after `create()` returns
 * (openai 4.104, 5.23, 6.49 and 7.57 alike: after awaiting the request options), so a
 * caller who asks for the raw response (`create(...).asResponse()`) in the same synchronous
 * step is in time: the request then goes out exactly as the caller wrote it, and its raw
 * body needs no editing.
 *
 * The body and the option's value are always our own copies (the plan made them to add the
 * option), so changing them is safe. The value is an `InjectedValue`, whose `toJSON` notes
 * that the body was serialised and changes nothing in the JSON: nothing has to be set up on
 * the body while the caller waits (an accessor on the body, as this once was, also turned
 * it into a slow dictionary-mode object, for us and for the SDK's own serialisation).
 */
import type { StreamInjection } from './adapter.js';

const SERIALISED = Symbol('otel-llm-cost.serialised');

/** An injected option's value: serialised as the plain object it holds, and noting that it was. */
class InjectedValue {
  [SERIALISED]?: true;

  toJSON(): this {
    this[SERIALISED] = true;
    return this;
  }
}

/** The value of an injected option (what the request sends): the caller's `fields` with `name` set to `setting`. */
export function injectedValue(fields: object | undefined, name: string, setting: unknown): Record<string, unknown> {
  const value = new InjectedValue() as unknown as Record<string, unknown>;
  if (fields !== undefined) Object.assign(value, fields);
  value[name] = setting;
  return value;
}

export class InjectedOption {
  private withdrawn = false;

  constructor(
    private readonly body: Record<string, unknown>,
    readonly injection: StreamInjection,
  ) {}

  /** Whether the option was taken out before the body was sent. */
  get wasWithdrawn(): boolean {
    return this.withdrawn;
  }

  /**
   * Takes the option out, if the body has not been serialised yet; returns whether it was in
   * time. A value that is not ours cannot tell, and counts as sent.
   */
  withdraw(): boolean {
    if (this.withdrawn) return true;
    const { field, callerValue } = this.injection;
    const value = this.body[field];
    if (!(value instanceof InjectedValue) || value[SERIALISED]) return false;
    if (callerValue === undefined) delete this.body[field];
    else this.body[field] = callerValue;
    this.withdrawn = true;
    return true;
  }
}
