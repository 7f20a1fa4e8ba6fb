/**
 * The SDK versions we hook, as plain numeric bounds. The hook itself accepts every version so
 * that a version outside them can be reported once through `diag` instead of being skipped
 * without a word (which is how other instrumentations silently stop tracing after an upgrade).
 */
export interface VersionRange {
  /** Lowest supported version, inclusive, e.g. `[4, 0, 0]`. */
  readonly min: readonly number[];
  /** First unsupported version, exclusive, e.g. `[8, 0, 0]`. */
  readonly below: readonly number[];
  /** As users read it: `>=4 <8`. */
  readonly text: string;
}

/** `[major, minor, patch]` of a version string such as `4.104.0` or `1.0.0-beta.2`. */
export function parseVersion(version: string): number[] | undefined {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version.trim());
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

function compare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) {
    const difference = (a[i] ?? 0) - (b[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/**
 * Whether `version` is inside `range`. An unknown version (a bundled copy has no
 * package.json next to it) counts as inside: the layout check decides then.
 */
export function isSupportedVersion(version: string | undefined, range: VersionRange): boolean {
  if (version === undefined) return true;
  const parsed = parseVersion(version);
  if (!parsed) return true;
  return compare(parsed, range.min) >= 0 && compare(parsed, range.below) < 0;
}
