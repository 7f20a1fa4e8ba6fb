/**
 * The fitted constants of the estimators, described so they can be refitted from any set
 * of recordings (`npm run accuracy -- <file> --by-source` fits them on all sources but one
 * and measures on the one left out). Each provider folder declares its own table; the
 * core only knows this shape. docs/accuracy.md lists every constant with its data.
 *
 * How a constant moves an estimate decides how it is fitted:
 * - `offset`: tokens added per occurrence of a feature (a tool call, a message, a schema):
 *   fitted as the weighted median of the residual per occurrence (`scripts/accuracy-fit.ts`);
 * - `factor`: a multiplier on counted text (Claude tokens per o200k token): fitted by a
 *   search over the median, p90 and bias of the relative error;
 * - `typical`: a typical count (hidden reasoning tokens of one response): the median of
 *   the reported counts;
 * - `share`: tokens added per token of one part of the counted text (the reasoning a
 *   summary leaves out, per summary token): linear like an offset, fitted the same way.
 *
 * A constant that fewer than two sources support in the data it is fitted on falls back:
 * to a fixed value (usually 0: the refinement is dropped) or to another constant.
 */

export type ConstantKind = 'offset' | 'factor' | 'typical' | 'share';

/** Which estimate a constant moves: input tokens, the visible output, or hidden reasoning. */
export type ConstantTarget = 'input' | 'output' | 'reasoning';

export interface FittedConstant {
  /** The value a fresh process uses (the fit on the dev recordings, docs/accuracy.md). */
  readonly value: number;
  readonly kind: ConstantKind;
  readonly target: ConstantTarget;
  /** Without support from at least two sources: this value, or the value of the constant named. */
  readonly fallback: number | { readonly sameAs: string };
  /** Whole tokens (offsets); factors keep two decimals. */
  readonly integer: boolean;
  /** What it stands for, and the records it was read from. */
  readonly about: string;
}

/** Overrides of fitted constants by name (the accuracy command's refits); unknown names are ignored. */
export type EstimatorConstantOverrides = Readonly<Record<string, number>>;

/**
 * The values to estimate with: the table's, with valid overrides applied. Without
 * overrides the same frozen object is returned every time.
 */
export function constantValues<K extends string>(
  table: Readonly<Record<K, FittedConstant>>,
  defaults: Readonly<Record<K, number>>,
  overrides: EstimatorConstantOverrides | undefined,
): Readonly<Record<K, number>> {
  if (overrides === undefined) return defaults;
  let values: Record<K, number> | undefined;
  for (const name of Object.keys(table) as K[]) {
    const override = overrides[name];
    if (typeof override !== 'number' || !Number.isFinite(override)) continue;
    values ??= { ...defaults };
    values[name] = override;
  }
  return values ?? defaults;
}

/** The default values of a table, frozen. */
export function defaultValues<K extends string>(table: Readonly<Record<K, FittedConstant>>): Readonly<Record<K, number>> {
  const values = {} as Record<K, number>;
  for (const name of Object.keys(table) as K[]) values[name] = table[name].value;
  return Object.freeze(values);
}
