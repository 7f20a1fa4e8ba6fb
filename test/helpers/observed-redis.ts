/**
 * A real node-redis client, observed: how many budget scripts were sent, and how many were
 * out (sent, not yet answered) at once. Nothing is changed on the way: the store under test
 * talks to the real Redis through the real client.
 */
import { createClient } from 'redis';
import type { RedisCommandClient } from '../../src/index.js';

export interface ObservedRedis {
  readonly client: RedisCommandClient;
  readonly counts: { sent: number; inFlight: number; maxInFlight: number };
  /** Scripts sent per account key, when asked for (`perAccount`). */
  readonly byAccount: Map<string, number>;
  close(): void;
}

export function observedRedis(url: string, perAccount = false): ObservedRedis {
  const real = createClient({ url, disableOfflineQueue: true });
  real.on('error', () => undefined);
  void real.connect().catch(() => undefined);
  const counts = { sent: 0, inFlight: 0, maxInFlight: 0 };
  const byAccount = new Map<string, number>();
  return {
    counts,
    byAccount,
    close: () => real.destroy(),
    client: {
      sendCommand(args) {
        if (!args[0]?.startsWith('EVAL')) return real.sendCommand(args);
        counts.sent++;
        // EVALSHA sha numkeys accountKey …
        if (perAccount) byAccount.set(args[3]!, (byAccount.get(args[3]!) ?? 0) + 1);
        counts.inFlight++;
        counts.maxInFlight = Math.max(counts.maxInFlight, counts.inFlight);
        return real.sendCommand(args).finally(() => counts.inFlight--);
      },
      get isReady() {
        return real.isReady;
      },
    },
  };
}
