/**
 * The Redis client a `RedisBudgetStore` talks through: the user's own, or one the store
 * creates from a URL with the optional peer dependency `redis`, loaded only then, so the
 * package works without it installed.
 */

/**
 * What the store needs from a client: node-redis 4 and 5 clients fit as they are. Another
 * client fits through a small adapter, e.g. for ioredis
 * `{ sendCommand: (args) => redis.call(args[0], ...args.slice(1)) }`.
 */
export interface RedisCommandClient {
  sendCommand(args: string[]): Promise<unknown>;
  /** node-redis: false while the connection is down. Read, when present, to fail closed at once. */
  readonly isReady?: boolean;
}

/** A client the store created, and so closes. */
export interface OwnedRedisClient extends RedisCommandClient {
  close(): Promise<void>;
}

/** The parts of node-redis (4 or 5) used to create and close a client. */
interface NodeRedisModule {
  createClient(options: {
    url: string;
    disableOfflineQueue: boolean;
    socket: { connectTimeout: number; reconnectStrategy: (retries: number) => number };
  }): NodeRedisClient;
}

interface NodeRedisClient extends RedisCommandClient {
  on(event: 'error', listener: (error: unknown) => void): unknown;
  connect(): Promise<unknown>;
  /** node-redis 5 */
  destroy?(): void;
  /** node-redis 4 */
  disconnect?(): Promise<void>;
}

/** Reconnection backoff: quick at first, then once a second; the client never gives up. */
const MAX_RECONNECT_DELAY_MS = 1000;

export function createRedisClient(url: string, connectTimeoutMs: number): OwnedRedisClient {
  const redis = loadNodeRedis();
  const client = redis.createClient({
    url,
    // Commands fail at once while disconnected instead of queueing: the store keeps its own
    // pending amounts and retries them, and an answer that never comes must not hold a flush.
    disableOfflineQueue: true,
    socket: {
      connectTimeout: connectTimeoutMs,
      reconnectStrategy: (retries) => Math.min(50 * 2 ** Math.min(retries, 5), MAX_RECONNECT_DELAY_MS),
    },
  });
  // Without a listener an 'error' event would throw; the store notices failures by its
  // own round trips, so connection errors need no handling here.
  client.on('error', () => undefined);
  client.connect().catch(() => undefined);
  return {
    sendCommand: (args) => client.sendCommand(args),
    get isReady() {
      return client.isReady;
    },
    async close() {
      if (client.destroy) client.destroy();
      else await client.disconnect?.();
    },
  };
}

function loadNodeRedis(): NodeRedisModule {
  try {
    return require('redis') as NodeRedisModule;
  } catch (error) {
    throw new Error(
      'otel-llm-cost: RedisBudgetStore({ url }) needs the `redis` package (npm install redis), ' + 'or pass a client you created: RedisBudgetStore({ client })',
      { cause: error },
    );
  }
}
