/** Hands each costed request to the user's `onCost` callback, sync or async; its failures are logged, never thrown. */
import type { EndedRequest } from '../core/lifecycle.js';
import type { CostRecord } from '../core/model.js';
import type { CostExporter } from '../core/pipeline.js';
import { logInternalError } from '../core/safely.js';

export type CostCallback = (record: CostRecord) => unknown;

export class CallbackExporter implements CostExporter {
  constructor(private readonly callback: () => CostCallback | undefined) {}

  async export(_ended: EndedRequest, record: CostRecord | undefined): Promise<void> {
    const callback = this.callback();
    if (!callback || !record) return;
    try {
      // Awaited, so a callback's rejected promise is logged here rather than crashing the
      // process as an unhandled rejection, and a flush waits for the callback's own work.
      await callback(record);
    } catch (error) {
      logInternalError('the onCost callback', error);
    }
  }
}
