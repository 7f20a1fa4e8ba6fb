/**
 * A small declarative language for option checks: a `Spec` says what a valid value is and
 * throws, naming the option's path, when it is not. Object specs reject keys they do not
 * know (with a "did you mean" for near misses), so a typo fails at construction instead of
 * being ignored.
 *
 * Messages read `otel-llm-cost: <call>: <path> <problem>`, e.g.
 * `otel-llm-cost: defaultBudget.windw is not an option (did you mean "window"?)`; a string
 * value is always quoted (`got "yes"`), so it cannot be mistaken for a keyword.
 */

/** Where a value sits in the options, and the call it was given to; builds the messages. */
export class OptionPath {
  private constructor(
    /** `path` as written in messages: `defaultBudget.fallback.from`, `priceOverrides["m"]`. */
    readonly text: string,
    /** What the whole value is called when the path is empty (`the configuration`). */
    private readonly wholeName: string,
    /** The call the value was given to, for options outside the instrumentation's config. */
    private readonly call: string | undefined,
  ) {}

  /**
   * The root of a value. `name` prefixes every path below it (`''` for the instrumentation's
   * configuration, whose keys are named bare); `call` prefixes the whole message.
   */
  static root(name: string, options: { readonly call?: string; readonly wholeName?: string } = {}): OptionPath {
    return new OptionPath(name, options.wholeName ?? name, options.call);
  }

  /** An option of an options object: `a.b`. */
  key(key: string): OptionPath {
    return new OptionPath(this.text === '' ? key : `${this.text}.${key}`, this.wholeName, this.call);
  }

  /** An entry of a map-like object (a model id, a tenant): `a["b"]`. */
  entry(key: string): OptionPath {
    return new OptionPath(`${this.text}[${JSON.stringify(key)}]`, this.wholeName, this.call);
  }

  /** An item of an array: `a[0]`. */
  index(index: number): OptionPath {
    return new OptionPath(`${this.text}[${index}]`, this.wholeName, this.call);
  }

  /** Throws a `TypeError` (or `RangeError` for a value of the right type out of range) naming this path. */
  fail(problem: string, kind: 'type' | 'range' = 'type'): never {
    const subject = this.text === '' ? this.wholeName : this.text;
    const message = `otel-llm-cost: ${this.call === undefined ? '' : `${this.call}: `}${subject} ${problem}`;
    throw kind === 'range' ? new RangeError(message) : new TypeError(message);
  }
}

/** One option's rule. `check` is called only for values that are present (not `undefined`), unless `required`. */
export interface Spec {
  /** What a valid value is, completing "must be …": `a boolean`, `a finite number of USD >= 0`. */
  readonly expected: string;
  readonly required?: boolean;
  check(value: unknown, path: OptionPath): void;
  /** For a spec of a single value (no parts to name): whether `value` passes. Lets a union name itself when it fails. */
  readonly accepts?: (value: unknown) => boolean;
}

/** A spec for an options object: its keys, for "did you mean" and for tests that compare them with the docs. */
export interface ObjectSpec extends Spec {
  readonly keys: readonly string[];
}

/** Fails with `must be <expected>, got <value>`. */
export function mismatch(spec: Pick<Spec, 'expected'>, value: unknown, path: OptionPath, kind: 'type' | 'range' = 'type'): never {
  return path.fail(`must be ${spec.expected}, got ${describeValue(value)}${hintFor(value)}`, kind);
}

/** A value that is valid when `test` holds. */
export function is(expected: string, test: (value: unknown) => boolean): Spec {
  const spec: Spec = {
    expected,
    accepts: test,
    check(value, path) {
      if (!test(value)) mismatch(spec, value, path);
    },
  };
  return spec;
}

/** The same spec, failing on `undefined` too. */
export function required(spec: Spec): Spec {
  return { ...spec, required: true };
}

export const boolean = is('a boolean', (value) => typeof value === 'boolean');
export const func = is('a function', (value) => typeof value === 'function');
export const string = is('a string', (value) => typeof value === 'string');

export function nonEmptyString(expected = 'a non-empty string'): Spec {
  return is(expected, (value) => typeof value === 'string' && value.length > 0);
}

/** A number: a non-number is a `TypeError`, a number failing `test` (NaN included) a `RangeError`. */
export function number(expected: string, test: (value: number) => boolean): Spec {
  const spec: Spec = {
    expected,
    accepts: (value) => typeof value === 'number' && test(value),
    check(value, path) {
      if (typeof value !== 'number') mismatch(spec, value, path);
      if (!test(value)) mismatch(spec, value, path, 'range');
    },
  };
  return spec;
}

/** One of a few strings: `"suppress" or "keep"`. */
export function literal(...values: readonly string[]): Spec {
  const spec: Spec = {
    expected: listed(values.map((v) => JSON.stringify(v))),
    accepts: (value) => values.includes(value as string),
    check(value, path) {
      if (!values.includes(value as string)) mismatch(spec, value, path);
    },
  };
  return spec;
}

/** An array whose items all pass `item`; an item failing names its index. */
export function arrayOf(item: Spec, expected: string): Spec {
  const spec: Spec = {
    expected,
    check(value, path) {
      if (!Array.isArray(value)) mismatch(spec, value, path);
      value.forEach((element, index) => {
        const at = path.index(index);
        if (element === undefined) mismatch(item, element, at);
        item.check(element, at);
      });
    },
  };
  return spec;
}

/**
 * Several shapes told apart by `typeof` (arrays count as `object`): for `'day' | { rollingMs }`,
 * the object is checked by its own spec so a problem inside it is named precisely.
 */
export function byType(expected: string, specs: Partial<Record<'string' | 'number' | 'object' | 'function', Spec>>): Spec {
  const spec: Spec = {
    expected,
    check(value, path) {
      const type = value === null ? undefined : (typeof value as keyof typeof specs);
      const chosen = type === undefined ? undefined : specs[type];
      // A single value that fails is described by the union (`"total", "day", "month" or { rollingMs }`);
      // an object that fails names the part inside it.
      if (!chosen || chosen.accepts?.(value) === false) mismatch(spec, value, path);
      chosen.check(value, path);
    },
  };
  return spec;
}

/** An object holding `fields`: every field of `T` must have a spec, so a new option cannot be left unchecked. */
export type Fields<T> = { readonly [K in keyof Required<T>]: Spec };

export interface ObjectOptions {
  /** Completes "must be …" for a value that is not a plain object. Default `an object`. */
  readonly expected?: string;
  /** Completes "<path>.<key> is not …" for an unknown key. Default `an option`. */
  readonly unknownKey?: string;
  /** Checks between fields, after each field passed its own spec. */
  readonly refine?: (value: Readonly<Record<string, unknown>>, path: OptionPath) => void;
}

/**
 * A plain object with these fields only. Own enumerable keys are what is checked, because
 * they are what the package reads: option objects are copied by spreading, which drops
 * inherited members, so an instance of a class or a `Map` is refused rather than half-read.
 */
export function object<T>(fields: Fields<T>, options: ObjectOptions = {}): ObjectSpec {
  const entries = Object.entries(fields) as [string, Spec][];
  const keys = entries.map(([key]) => key);
  const known = new Set(keys);
  const spec: ObjectSpec = {
    expected: options.expected ?? 'an object',
    keys,
    check(value, path) {
      if (!isPlainObject(value)) mismatch(spec, value, path);
      for (const key of Object.keys(value)) {
        if (known.has(key)) continue;
        const suggestion = closestKey(key, keys);
        const help = suggestion === undefined ? `(known: ${keys.join(', ')})` : `(did you mean ${JSON.stringify(suggestion)}?)`;
        path.key(key).fail(`is not ${options.unknownKey ?? 'an option'} ${help}`);
      }
      for (const [key, field] of entries) {
        const fieldValue = value[key];
        if (fieldValue === undefined) {
          if (field.required) mismatch(field, fieldValue, path.key(key));
          continue;
        }
        field.check(fieldValue, path.key(key));
      }
      options.refine?.(value, path);
    },
  };
  return spec;
}

/**
 * A plain object used as a map (model id → price): `entry` checks each value, `key` each key.
 * A `Map` is refused with a hint, since its entries are not own keys and would be ignored.
 */
export function record(expected: string, entry: Spec, key?: (key: string, path: OptionPath) => void): Spec {
  const spec: Spec = {
    expected,
    check(value, path) {
      if (!isPlainObject(value)) mismatch(spec, value, path);
      for (const [name, item] of Object.entries(value)) {
        key?.(name, path);
        const at = path.entry(name);
        if (item === undefined) mismatch(entry, item, at);
        entry.check(item, at);
      }
    },
  };
  return spec;
}

/** `{}` or `Object.create(null)`, from this realm or another (a `vm` context). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as object | null;
  return proto === null || proto === Object.prototype || Object.getPrototypeOf(proto) === null;
}

/** `async function` and `async` methods and arrows: they return a promise whatever they do. */
export function isAsyncFunction(value: unknown): boolean {
  const tag = Object.prototype.toString.call(value);
  return tag === '[object AsyncFunction]' || tag === '[object AsyncGeneratorFunction]';
}

/** A value as a message shows it: strings quoted, objects by kind, never their contents. */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
    case 'bigint':
      return `${value}n`;
    case 'symbol':
      return value.toString();
    case 'function':
      return isAsyncFunction(value) ? 'an async function' : 'a function';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) return 'an array';
      if (isPlainObject(value)) return 'an object';
      const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
      return typeof name === 'string' && name.length > 0 ? `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name}` : 'an object';
    }
    default:
      return String(value);
  }
}

function hintFor(value: unknown): string {
  if (value instanceof Map) return ' (use a plain object, e.g. Object.fromEntries(map))';
  return '';
}

/**
 * The known key closest to `key` within 2 edits (1 for keys of up to 3 characters, where 2
 * edits reach almost anything), case ignored, an adjacent swap counting as one edit.
 */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const limit = key.length <= 3 ? 1 : 2;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps. */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = value;
    }
  }
  return d[rows * cols - 1]!;
}

function listed(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}
