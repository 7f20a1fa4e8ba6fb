/**
 * Token counting never holds the process open (`tokenizer.ts`), so a caller that awaits
 * counts on the user's behalf (`flush()`, `withBudget`) keeps the process alive itself
 * while it waits: otherwise a script whose last act is `await instrumentation.flush()`
 * could exit before the promise settles. Bounded, so a stuck wait cannot keep a process
 * from exiting for ever.
 */

/** Long enough for a count that outlives the worker's silence limit (10 s) and restarts on the main thread. */
export const DEFAULT_KEEP_ALIVE_MS = 60_000;

export async function keepingProcessAlive<T>(work: Promise<T>, maxMs: number = DEFAULT_KEEP_ALIVE_MS): Promise<T> {
  const timer = setTimeout(() => undefined, maxMs);
  try {
    return await work;
  } finally {
    clearTimeout(timer);
  }
}
