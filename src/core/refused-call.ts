/**
 * What an SDK method returns when a budget refuses the call before it is sent. Callers
 * and the SDKs' own helpers use more than `then` on what `create()` returns
 * (`withResponse()`, `asResponse()`, `_thenUnwrap()` inside `parse()` and the `.stream()`
 * helpers), so the refusal answers all of them, each with the same error.
 *
 * Like the SDK's `APIPromise`, nothing rejects until somebody asks: an unobserved refusal
 * does not raise an unhandled rejection.
 */
export class RefusedCall extends Promise<never> {
  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }

  readonly #error: Error;

  constructor(error: Error) {
    super(() => undefined);
    this.#error = error;
  }

  // biome-ignore lint/suspicious/noThenProperty: an APIPromise stand-in must be a thenable.
  override then<TResult1 = never, TResult2 = never>(
    onfulfilled?: ((value: never) => TResult1 | PromiseLike<TResult1>) | null,
    onrejected?: ((reason: unknown) => TResult2 | PromiseLike<TResult2>) | null,
  ): Promise<TResult1 | TResult2> {
    return Promise.reject(this.#error).then(onfulfilled, onrejected);
  }

  withResponse(): Promise<never> {
    return Promise.reject(this.#error);
  }

  asResponse(): Promise<never> {
    return Promise.reject(this.#error);
  }

  _thenUnwrap(): RefusedCall {
    return this;
  }
}

export function refusedCall(error: Error): RefusedCall {
  return new RefusedCall(error);
}
