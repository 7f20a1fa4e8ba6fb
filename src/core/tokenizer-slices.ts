/**
 * Runs a generator (a counter build or a count) on the main thread in slices: steps
 * until `sliceMs` has passed, then lets the event loop run before the next slice. Each
 * step is bounded (a few thousand characters or tokens), so no slice stalls the
 * application much beyond `sliceMs`.
 *
 * The next slice is an unref'd zero-delay timer: slices never hold the process open (a
 * process whose application is done exits; whoever must wait for a count, a flush or a
 * shutdown, keeps the process alive itself, for a bounded time), yet run as long as the
 * process is alive. (An unref'd immediate would not: the event loop then blocks in its
 * poll phase until other I/O arrives, so an idle server would advance one slice per
 * unrelated event.)
 */

/** Main-thread time one slice may take before yielding to the event loop. */
export const DEFAULT_SLICE_MS = 4;

export function runInSlices<T>(steps: Generator<void, T>, sliceMs: number = DEFAULT_SLICE_MS): Promise<T> {
  return new Promise((resolve, reject) => {
    const slice = (): void => {
      const deadline = performance.now() + sliceMs;
      try {
        for (;;) {
          const step = steps.next();
          if (step.done) {
            resolve(step.value);
            return;
          }
          if (performance.now() >= deadline) break;
        }
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      setTimeout(slice, 0).unref();
    };
    setTimeout(slice, 0).unref();
  });
}
