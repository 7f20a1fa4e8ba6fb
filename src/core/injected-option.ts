/**
 * An injected request option that can still be taken back out of the body. The SDKs
 * serialise the body a few microtasks after `create()` returns (openai 4.104, 5.23, 6.49
 * and 7.57 alike: after awaiting the request options), so a caller who asks for the raw
 * response (`create(...).asResponse()`) in the same synchronous step is in time: the
 * request then goes out exactly as the caller wrote it, and its raw body needs no editing.
 *
 * The body is always our own copy (the plan copied it to add the option), so changing it is
 * safe; the option's property becomes an accessor that notes when the SDK read it, which is
 * when the body was serialised.
 */
import type { StreamInjection } from './adapter.js';

export class InjectedOption {
  private read = false;
  private withdrawn = false;

  private constructor(
    private readonly body: Record<string, unknown>,
    readonly injection: StreamInjection,
  ) {}

  /** Watches `body[injection.field]`; `undefined` when the body is not a plain data property holder. */
  static watch(body: unknown, injection: StreamInjection): InjectedOption | undefined {
    if (typeof body !== 'object' || body === null) return undefined;
    const holder = body as Record<string, unknown>;
    const property = Object.getOwnPropertyDescriptor(holder, injection.field);
    if (!property || !('value' in property) || !property.configurable) return undefined;
    const option = new InjectedOption(holder, injection);
    let value: unknown = property.value;
    Object.defineProperty(holder, injection.field, {
      enumerable: property.enumerable,
      configurable: true,
      get() {
        option.read = true;
        return value;
      },
      set(next: unknown) {
        value = next;
      },
    });
    return option;
  }

  /** Whether the option was taken out before the body was sent. */
  get wasWithdrawn(): boolean {
    return this.withdrawn;
  }

  /** Takes the option out, if the body has not been serialised yet; returns whether it was in time. */
  withdraw(): boolean {
    if (this.withdrawn) return true;
    if (this.read) return false;
    const { field, callerValue } = this.injection;
    if (callerValue === undefined) delete this.body[field];
    else Object.defineProperty(this.body, field, { value: callerValue, writable: true, enumerable: true, configurable: true });
    this.withdrawn = true;
    return true;
  }
}
