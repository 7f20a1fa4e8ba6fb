/** Small readers for untyped SDK values: the core and adapters never trust a shape. */

export type Dict = Record<string, unknown>;

export const isDict = (value: unknown): value is Dict => typeof value === 'object' && value !== null;

export const asDict = (value: unknown): Dict | undefined => (isDict(value) ? value : undefined);

export const asString = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

export const asNumber = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

export const asArray = (value: unknown): readonly unknown[] => (Array.isArray(value) ? value : []);
