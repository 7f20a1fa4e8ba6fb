/**
 * A pure function of a string, remembered per distinct argument. Sharing the results across
 * instrumentation instances changes nothing (they are what the function returns anyway); the
 * memory is cleared whenever it reaches `max` entries, so a process that makes up a new string
 * per request (a URL with a query, an invented model name) cannot make it grow.
 */
export function boundedMemo<T>(compute: (key: string) => T, max: number): (key: string) => T {
  const known = new Map<string, T>();
  return (key) => {
    const value = known.get(key);
    if (value !== undefined || known.has(key)) return value as T;
    const computed = compute(key);
    if (known.size >= max) known.clear();
    known.set(key, computed);
    return computed;
  };
}
