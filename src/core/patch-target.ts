import type { PlanCall } from './adapter.js';
import type { SdkMethod } from './hook.js';

/** One SDK method to wrap: `owner[method]`, observed with `plan`. */
export interface PatchTarget {
  readonly owner: object;
  readonly method: string;
  /** How to record the request the method makes; absent for a helper wrapped only to `prepare` its client. */
  readonly plan?: PlanCall;
  /** Runs before each call with the resource the method is called on (`this`). */
  readonly prepare?: (resource: unknown) => void;
  /** For diagnostics: which SDK surface this is. */
  readonly label: string;
}

/** The class (constructor) exported under `name`, or under `default`, in a CJS module or an ESM namespace. */
export function exportedClass(moduleExports: unknown, name: string): Record<string, unknown> | undefined {
  if (typeof moduleExports !== 'object' && typeof moduleExports !== 'function') return undefined;
  if (moduleExports === null) return undefined;
  const exports = moduleExports as Record<string, unknown>;
  const candidate = exports[name] ?? exports.default;
  return typeof candidate === 'function' ? (candidate as unknown as Record<string, unknown>) : undefined;
}

/** `root.A.B.prototype` when every step exists and the method is a function there. */
export function prototypeWith(root: unknown, path: readonly string[], method: string): object | undefined {
  let current: unknown = root;
  for (const step of path) {
    if ((typeof current !== 'function' && typeof current !== 'object') || current === null) return undefined;
    current = (current as Record<string, unknown>)[step];
  }
  if (typeof current !== 'function') return undefined;
  const prototype: unknown = (current as { prototype?: unknown }).prototype;
  if (typeof prototype !== 'object' || prototype === null) return undefined;
  return typeof (prototype as Record<string, unknown>)[method] === 'function' ? prototype : undefined;
}

// Shared through the global symbol registry, so that two copies of this package loaded in one
// process (two versions in node_modules, or a bundled copy beside an installed one) see the
// same counter and the same marks.
const CALL_DEPTH = Symbol.for('otel-llm-cost.recorded-call-depth');
const WRAPPED_BY = Symbol.for('otel-llm-cost.wrapped-by');

interface CallDepth {
  depth: number;
}

function callDepth(): CallDepth {
  const registry = globalThis as { [CALL_DEPTH]?: CallDepth };
  registry[CALL_DEPTH] ??= { depth: 0 };
  return registry[CALL_DEPTH];
}

/**
 * Records a request only when no other recording wrapper is already on the stack. When two
 * copies of this package (or two instances) wrap the same method, the outer wrapper calls the
 * inner one synchronously; the inner one then passes straight to the SDK, so each request gets
 * one span and is counted once. The SDK methods make no other recorded call synchronously, so
 * a depth above zero always means "the same request, seen twice".
 */
export function outermostOnly(recording: SdkMethod, original: SdkMethod, isRecording: () => boolean): SdkMethod {
  return function outermost(this: unknown, ...args: unknown[]): unknown {
    const state = callDepth();
    // A disabled wrapper steps aside without claiming the call, so one further in records it.
    if (state.depth > 0 || !isRecording()) return original.apply(this, args);
    state.depth++;
    try {
      return recording.apply(this, args);
    } finally {
      state.depth--;
    }
  };
}

const UNWRAP = Symbol('otel-llm-cost.unwrap');

type Wrapper = SdkMethod & { [WRAPPED_BY]?: object; [UNWRAP]?: () => void };

/**
 * Replaces `target[method]` with `wrap(original)`, made by `owner` (an instrumentation
 * instance). The wrapper carries shimmer's marks (`__original`, `__wrapped`), so tools that
 * look for them see it, but its `__unwrap` does nothing: `@opentelemetry/instrumentation`'s
 * `_wrap` unwraps whatever wrapper it finds before adding its own, and an instrumentation
 * registered after this one (`@opentelemetry/instrumentation-openai`, a second copy of this
 * package) would otherwise silently remove ours. It wraps on top of ours instead; only
 * `unwrapMethod` by the same owner takes ours off.
 */
export function wrapMethod(target: object, method: string, wrap: (original: SdkMethod) => SdkMethod, owner: object): void {
  const methods = target as Record<string, unknown>;
  const original = methods[method];
  if (typeof original !== 'function') return;
  const wrapped: Wrapper = wrap(original as SdkMethod);
  const restore = () => {
    if (methods[method] === wrapped) setProperty(methods, method, original);
  };
  setProperty(wrapped, '__original', original);
  setProperty(wrapped, '__unwrap', () => {});
  setProperty(wrapped, '__wrapped', true);
  Object.defineProperty(wrapped, WRAPPED_BY, { value: owner });
  Object.defineProperty(wrapped, UNWRAP, { value: restore });
  setProperty(methods, method, wrapped);
}

/** Takes `owner`'s wrapper off `target[method]`, when it is the outermost one there. */
export function unwrapMethod(target: object, method: string, owner: object): void {
  const current = (target as Record<string, Wrapper | undefined>)[method];
  if (isWrapperOf(current, owner)) current?.[UNWRAP]?.();
}

/** Whether `value` is a wrapper made by `owner`. */
export function isWrapperOf(value: unknown, owner: object): boolean {
  return typeof value === 'function' && (value as Wrapper)[WRAPPED_BY] === owner;
}

// As shimmer does it: writable and configurable, enumerable only if the property was.
function setProperty(target: object, name: string, value: unknown): void {
  const enumerable = Object.prototype.propertyIsEnumerable.call(target, name);
  Object.defineProperty(target, name, { configurable: true, enumerable, writable: true, value });
}
