import type { PlanCall } from './adapter.js';

/** One SDK method to wrap: `owner[method]`, observed with `plan`. */
export interface PatchTarget {
  readonly owner: object;
  readonly method: string;
  readonly plan: PlanCall;
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
