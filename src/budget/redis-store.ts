/**
 * A budget store shared by every process that points at the same Redis: one limit for a
 * tenant, a user or a job across a fleet.
 *
 * The store interface is synchronous (the pre-flight check runs before the SDK call
 * returns, the mid-stream check on every chunk), so this store never waits for Redis on a
 * request's path. It answers from a local view of each account: the fleet total Redis last
 * answered, plus this process's amounts not yet acknowledged. In the background it sends
 * those amounts in batches, one script round trip per account, which applies them and
 * answers the new fleet total; near an account's limit it syncs back to back. What that
 * means for overspend, and what happens when Redis is away: docs/budgets-redis.md.
 */
import { randomUUID } from 'node:crypto';
import { logInfo, logInternalError } from '../core/safely.js';
import { validateRedisBudgetStoreOptions } from '../options/validate.js';
import { createRedisClient, type OwnedRedisClient, type RedisCommandClient } from './redis-client.js';
import { applyBatch, type BatchCommand } from './redis-script.js';
import { accountKeys, type AccountKeys } from './redis-keys.js';
import type { BudgetKey, BudgetStore, Reservation } from './store.js';

/** When Redis cannot be reached: keep serving on the local view (`open`), or refuse new requests (`closed`). */
export type RedisFailMode = 'open' | 'closed';

export interface RedisBudgetStoreOptions {
  /** A node-redis (4 or 5) client, connected or connecting; the store does not close it. */
  readonly client?: RedisCommandClient;
  /** Or a Redis URL: the store creates its own client (needs the `redis` package) and closes it in `close()`. */
  readonly url?: string;
  /** Prepended to every key the store writes. Default `otel-llm-cost:budget:`. */
  readonly keyPrefix?: string;
  /** Default `open`: a Redis outage never stops requests, it only loosens the limit. */
  readonly failMode?: RedisFailMode;
  /** How often amounts are sent and fleet totals read while a budget is in use. Default 20 ms. */
  readonly syncIntervalMs?: number;
  /** A round trip that has not answered after this long counts as failed. Default 500 ms. */
  readonly timeoutMs?: number;
  /** Within this share of an account's limit, sync back to back instead of every interval. Default 0.1. */
  readonly nearLimitShare?: number;
}

/** What the store has done so far, for tests and diagnostics. */
export interface RedisBudgetStoreStats {
  /** Script round trips completed (one per account per sync). */
  readonly roundTrips: number;
  /** Round trips that failed or timed out. */
  readonly failures: number;
  /** False from a failed round trip until the next one that succeeds, and while the client is disconnected. */
  readonly reachable: boolean;
  /** USD added in this process and not yet acknowledged by Redis, over all accounts. */
  readonly unsyncedUsd: number;
}

const NANOS_PER_USD = 1e9;
/** An account read or written within this long is kept fresh by the background sync. */
const ACTIVE_MS = 5000;
/** An account idle this long, with nothing left to send, is forgotten (it is read again on use). */
const FORGET_AFTER_MS = 10 * 60 * 1000;
/** While Redis is unreachable, how often the sync tries again. */
const RETRY_INTERVAL_MS = 100;

interface Batch {
  readonly number: number;
  readonly nanos: number;
  readonly reset: boolean;
}

interface Account {
  readonly key: BudgetKey;
  readonly keys: AccountKeys;
  /** The fleet total (nano-USD) Redis last answered; it includes every batch acknowledged. */
  sharedNanos: number;
  /** Sent and not acknowledged; sent again, unchanged, until it is (Redis applies it once). */
  sending: Batch | undefined;
  /** Added since the last batch was cut. */
  unsentUsd: number;
  resetRequested: boolean;
  /** Bumped by `reset()`: an answer to a batch sent before it is stale. */
  epoch: number;
  /** The limit the last reservation was checked against, to know when the account is near it. */
  limitUsd: number | undefined;
  usedAt: number;
  /** A round trip that timed out and has not been answered yet: a hung Redis. */
  unanswered: boolean;
}

export class RedisBudgetStore implements BudgetStore {
  private readonly client: RedisCommandClient;
  private readonly ownClient: OwnedRedisClient | undefined;
  private readonly keyPrefix: string;
  private readonly failMode: RedisFailMode;
  private readonly syncIntervalMs: number;
  private readonly timeoutMs: number;
  private readonly nearLimitShare: number;
  /** Identifies this process's batches in Redis. */
  private readonly writer = randomUUID();
  private readonly accounts = new Map<string, Account>();
  private batches = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = 0;
  private syncing: Promise<void> | undefined;
  private syncAgain = false;
  private closed = false;
  private roundTrips = 0;
  private failures = 0;
  /** No failure seen since the last round trip that worked (or since the start). */
  private reachable = true;
  private contacted = false;

  constructor(options: RedisBudgetStoreOptions) {
    const { client, url, keyPrefix, failMode, syncIntervalMs, timeoutMs, nearLimitShare } = validateRedisBudgetStoreOptions(options);
    this.syncIntervalMs = syncIntervalMs ?? 20;
    this.timeoutMs = timeoutMs ?? 500;
    this.nearLimitShare = nearLimitShare ?? 0.1;
    this.keyPrefix = keyPrefix ?? 'otel-llm-cost:budget:';
    this.failMode = failMode ?? 'open';
    this.ownClient = url !== undefined ? createRedisClient(url, this.timeoutMs) : undefined;
    this.client = client ?? this.ownClient!;
  }

  reserve(key: BudgetKey, amountUsd: number, limitUsd: number): Reservation {
    const account = this.account(key);
    account.limitUsd = limitUsd;
    if (this.failMode === 'closed' && !this.vouches()) return 'unavailable';
    if (viewUsd(account) + amountUsd > limitUsd) return 'over_limit';
    if (Number.isFinite(amountUsd)) this.addTo(account, amountUsd);
    return 'reserved';
  }

  add(key: BudgetKey, amountUsd: number): void {
    if (amountUsd === 0 || !Number.isFinite(amountUsd)) return;
    this.addTo(this.account(key), amountUsd);
  }

  total(key: BudgetKey): number {
    return viewUsd(this.account(key));
  }

  /** Empties the account for the whole fleet (the other processes see it at their next sync). */
  reset(key: BudgetKey): void {
    const account = this.account(key);
    account.sharedNanos = 0;
    account.unsentUsd = 0;
    account.sending = undefined;
    account.resetRequested = true;
    account.epoch++;
    this.schedule(0);
  }

  /**
   * Resolves once Redis answers (the client connected); rejects after `waitMs` (default
   * 5 s) otherwise. Until then no account's fleet total can be known: a service awaits this
   * at startup, before it takes traffic, so that its first requests are checked against
   * the fleet's spending rather than against nothing. (A store set to fail closed refuses
   * them until then.)
   */
  async ready(waitMs = 5000): Promise<void> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      try {
        await withTimeout(this.client.sendCommand(['PING']), this.timeoutMs);
        this.contacted = true;
        this.reachable = true;
        return;
      } catch (error) {
        if (Date.now() >= deadline) {
          throw new Error(`otel-llm-cost: Redis budget store: no answer from Redis within ${waitMs} ms`, { cause: error });
        }
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_INTERVAL_MS / 2, Math.max(1, deadline - Date.now()))));
    }
  }

  /**
   * Resolves once every amount added so far is recorded in Redis (and every account's view
   * is fresh); rejects if that did not happen within `waitMs` (default 2 s, never less than
   * one `timeoutMs`). The amounts are kept either way and sent when Redis is back.
   */
  async flush(waitMs = 2000): Promise<void> {
    const deadline = Date.now() + Math.max(waitMs, this.timeoutMs);
    for (;;) {
      if (this.syncing) await this.syncing;
      await this.sync(true);
      if (this.reachable && ![...this.accounts.values()].some(hasUnsent)) return;
      if (Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_INTERVAL_MS, Math.max(1, deadline - Date.now()))));
    }
    throw new Error(
      `otel-llm-cost: Redis budget store could not reach Redis; $${this.stats().unsyncedUsd.toFixed(9)} ` +
        'is kept in this process and sent when Redis is back',
    );
  }

  /**
   * Flushes, stops the background sync and closes the client the store created (not one it
   * was given). Rejects as `flush()` does if Redis could not be reached; closed either way.
   */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.closed = true;
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      await this.ownClient?.close();
    }
  }

  stats(): RedisBudgetStoreStats {
    let unsyncedUsd = 0;
    for (const account of this.accounts.values()) unsyncedUsd += unsyncedOf(account);
    return { roundTrips: this.roundTrips, failures: this.failures, reachable: this.vouches(), unsyncedUsd };
  }

  /** Whether the local view can be trusted: the last round trip worked and the client is connected. */
  private vouches(): boolean {
    return this.reachable && this.client.isReady !== false;
  }

  private addTo(account: Account, amountUsd: number): void {
    account.unsentUsd += amountUsd;
    this.schedule(this.nearLimit(account) ? 0 : this.syncIntervalMs);
  }

  private nearLimit(account: Account): boolean {
    const limit = account.limitUsd;
    return limit !== undefined && limit - viewUsd(account) <= limit * this.nearLimitShare;
  }

  /** The account the key's window is in now, created (with an unknown total until the first sync) if new. */
  private account(key: BudgetKey): Account {
    const now = Date.now();
    const keys = accountKeys(this.keyPrefix, key, now);
    let account = this.accounts.get(keys.accountKey);
    if (!account) {
      account = {
        key: { name: key.name, window: key.window },
        keys,
        sharedNanos: 0,
        sending: undefined,
        unsentUsd: 0,
        resetRequested: false,
        epoch: 0,
        limitUsd: undefined,
        usedAt: now,
        unanswered: false,
      };
      this.accounts.set(keys.accountKey, account);
      this.schedule(0);
    }
    account.usedAt = now;
    if (!this.timer && !this.syncing) this.schedule(this.syncIntervalMs);
    return account;
  }

  /** Runs the background sync in `delayMs` (sooner if asked again with a shorter delay). */
  private schedule(delayMs: number): void {
    if (this.closed) return;
    if (this.syncing) {
      if (delayMs === 0) this.syncAgain = true;
      return;
    }
    const due = Date.now() + delayMs;
    if (this.timer) {
      if (due >= this.timerDue) return;
      clearTimeout(this.timer);
    }
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.sync(false);
    }, delayMs);
    // Pending amounts must not keep a finished process alive: call close() to send them.
    this.timer.unref();
  }

  /** One round of round trips (all accounts at once, pipelined by the client), then the next scheduled. */
  private sync(everything: boolean): Promise<void> {
    if (this.syncing) return this.syncing;
    this.syncAgain = false;
    const round = this.syncRound(everything)
      .catch((error: unknown) => logInternalError('Redis budget store sync', error))
      .finally(() => {
        this.syncing = undefined;
        this.scheduleNext();
      });
    this.syncing = round;
    return round;
  }

  private scheduleNext(): void {
    const now = Date.now();
    let active = false;
    let urgent = this.syncAgain;
    for (const account of this.accounts.values()) {
      if (now - account.usedAt < ACTIVE_MS || hasUnsent(account)) active = true;
      if (hasUnsent(account) && this.nearLimit(account)) urgent = true;
    }
    if (!active) return;
    if (!this.reachable) this.schedule(RETRY_INTERVAL_MS);
    else this.schedule(urgent ? 0 : this.syncIntervalMs);
  }

  private async syncRound(everything: boolean): Promise<void> {
    const now = Date.now();
    const due: Account[] = [];
    for (const [redisKey, account] of this.accounts) {
      if (hasUnsent(account) || everything || now - account.usedAt < ACTIVE_MS) {
        due.push(account);
      } else if (now - account.usedAt > FORGET_AFTER_MS || accountKeys(this.keyPrefix, account.key, now).accountKey !== redisKey) {
        this.accounts.delete(redisKey);
      }
    }
    if (due.length === 0) return;
    // A client still making its first connection has nothing wrong yet: wait for it quietly.
    if (!this.contacted && this.client.isReady === false) return;
    const results = await Promise.all(due.map((account) => this.roundTrip(account)));
    const succeeded = results.every(Boolean);
    if (succeeded && !this.reachable) logInfo('Redis budget store: Redis reachable again; amounts kept meanwhile are recorded');
    if (!succeeded && this.reachable) {
      logInfo(
        `Redis budget store: Redis unreachable; failing ${this.failMode} (${
          this.failMode === 'open' ? 'requests go on, amounts kept locally until Redis is back' : 'new requests refused'
        })`,
      );
    }
    this.reachable = succeeded;
    if (succeeded) this.contacted = true;
  }

  /** Sends the account's batch (or only reads its total) and takes the fleet total answered. */
  private async roundTrip(account: Account): Promise<boolean> {
    // Behind an unanswered command, another would only queue on the same stuck connection.
    if (account.unanswered) {
      this.failures++;
      return false;
    }
    if (!account.sending) {
      const nanos = Math.round(account.unsentUsd * NANOS_PER_USD);
      if (nanos !== 0 || account.resetRequested) {
        account.sending = { number: ++this.batches, nanos, reset: account.resetRequested };
        // The rounding remainder stays unsent, so nothing is lost to rounding over many batches.
        account.unsentUsd -= nanos / NANOS_PER_USD;
        account.resetRequested = false;
      }
    }
    const batch = account.sending;
    const epoch = account.epoch;
    const command: BatchCommand = {
      ...account.keys,
      writer: this.writer,
      batch: batch?.number ?? 0,
      nanos: batch?.nanos ?? 0,
      reset: batch?.reset ?? false,
    };
    const answer = applyBatch(this.client, command);
    account.unanswered = true;
    answer.then(
      () => (account.unanswered = false),
      () => (account.unanswered = false),
    );
    try {
      const totalNanos = await withTimeout(answer, this.timeoutMs);
      this.roundTrips++;
      if (account.epoch !== epoch) return true;
      if (account.sending === batch) account.sending = undefined;
      account.sharedNanos = totalNanos;
      return true;
    } catch (error) {
      this.failures++;
      if (this.reachable) logInternalError('Redis budget store sync', error);
      return false;
    }
  }
}

function viewUsd(account: Account): number {
  return (account.sharedNanos + (account.sending?.nanos ?? 0)) / NANOS_PER_USD + account.unsentUsd;
}

function unsyncedOf(account: Account): number {
  return ((account.sending?.nanos ?? 0) + Math.round(account.unsentUsd * NANOS_PER_USD)) / NANOS_PER_USD;
}

function hasUnsent(account: Account): boolean {
  return account.sending !== undefined || account.resetRequested || Math.round(account.unsentUsd * NANOS_PER_USD) !== 0;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer from Redis within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
