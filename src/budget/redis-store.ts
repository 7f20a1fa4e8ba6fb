/**
 * A budget store shared by every process that points at the same Redis: one limit for a
 * tenant, a user or a job across a fleet.
 *
 * The store interface is synchronous (the pre-flight check runs before the SDK call
 * returns, the mid-stream check on every chunk), so this store never waits for Redis on a
 * request's path. It answers from a local view of each account: the fleet total Redis last
 * answered, plus this process's amounts not yet acknowledged. In the background it sends
 * the accounts that need it, in bounded batches, one script per account, which applies
 * this process's amounts and answers the fleet total: the accounts with amounts to send,
 * the accounts used for the first time, and the accounts in use whose view is older than
 * the refresh policy allows (near the limit: every sync). Idle accounts cost nothing and
 * are dropped after a while. What that means for overspend, memory, and what happens when
 * Redis is away: docs/budgets-redis.md.
 */
import { randomUUID } from 'node:crypto';
import { logInfo, logInternalError } from '../core/safely.js';
import { validateRedisBudgetStoreOptions } from '../options/validate.js';
import { sendBatch, type ScriptOutcome } from './redis-batch.js';
import { createRedisClient, type OwnedRedisClient, type RedisCommandClient } from './redis-client.js';
import { accountKey, accountKeys, windowEndsAt } from './redis-keys.js';
import { BudgetScript, type BatchCommand } from './redis-script.js';
import { BadInputLog, addedAmount, isBudgetKey, reservationInput } from './store-input.js';
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
  /** How often amounts are sent (and the views of accounts near their limit re-read). Default 20 ms. */
  readonly syncIntervalMs?: number;
  /** An account in use, far from its limit, is re-read once its view is this old. Default 1000 ms. */
  readonly refreshMs?: number;
  /** Redis silent this long on a batch: the batch failed. Default 500 ms (also the own client's connect timeout). */
  readonly timeoutMs?: number;
  /** Within this share of an account's limit, sync back to back instead of every interval. Default 0.1. */
  readonly nearLimitShare?: number;
  /** At most this many account scripts in one batch (one pipelined write). Default 500. */
  readonly batchSize?: number;
  /** An account with nothing unsent, unused this long, is dropped (re-read on its next use). Default 30 s. */
  readonly evictIdleMs?: number;
}

/** What the store has done so far, for tests and diagnostics. */
export interface RedisBudgetStoreStats {
  /** Account scripts answered by Redis (one per account per batch it is in). */
  readonly roundTrips: number;
  /** Account scripts that failed, were rejected, or got no answer in time. */
  readonly failures: number;
  /** Batches sent (each one pipelined write of at most `batchSize` scripts). */
  readonly batches: number;
  /** False from a failed batch until the next one that works, and while the client is disconnected. */
  readonly reachable: boolean;
  /** USD added in this process and not yet acknowledged by Redis, over all accounts. */
  readonly unsyncedUsd: number;
  /** Accounts held in memory now. */
  readonly accounts: number;
}

const NANOS_PER_USD = 1e9;
/** Totals are exact integers of nano-USD up to 2^53 (Lua numbers are doubles): no batch carries more. */
const MAX_BATCH_NANOS = Number.MAX_SAFE_INTEGER;
/** One call's amount is clamped to what one batch can carry (~$9,007,199): a larger figure is a caller's bug. */
const MAX_AMOUNT_USD = MAX_BATCH_NANOS / NANOS_PER_USD;
/** While Redis is unreachable, how often the sync tries again (one script: a probe). */
const RETRY_INTERVAL_MS = 100;
/** The same with nothing to send: a PING, so that a store failing closed learns Redis is back. */
const IDLE_PROBE_MS = 1000;
/**
 * An idle account whose view was within `nearLimitShare` of its limit (or over it) is kept
 * this long rather than `evictIdleMs`: dropped, its next use would be checked against this
 * process's own amounts until it is read again (see "A process's first look" in the docs),
 * which for an exhausted tenant retrying now and then would let one request per process
 * through pre-flight each time.
 */
const KEEP_NEAR_LIMIT_MS = 10 * 60 * 1000;
/** Scripts silent this many timeouts are given up on and sent again (a connection that never settles them). */
const ABANDON_AFTER_TIMEOUTS = 20;
/**
 * An account within `nearLimitShare` of its limit, used this recently, is re-read every
 * sync even while nothing in this process reads or writes it, so that the next request
 * for it is admitted against a fresh fleet total.
 */
const HOT_MS = 5000;
/** A batch is closed at this many bytes of commands, whatever `batchSize` says (long budget names). */
const MAX_BATCH_BYTES = 256 * 1024;
/** Bytes of a script command besides its two keys: the script's hash, the writer id, numbers. */
const COMMAND_OVERHEAD_BYTES = 160;

/** A script for one account, and whether it carries everything added until it was built (`seq` > 0). */
interface ScriptCommand extends BatchCommand {
  readonly seq: number;
}

interface Batch {
  readonly number: number;
  readonly nanos: number;
  readonly reset: boolean;
}

/** Whether an account waits to be sent, and in which line. */
const Queued = {
  No: 0,
  Normal: 1,
  /** First look at an account, a reset, or amounts near the limit: sent before the others, at once. */
  Urgent: 2,
} as const;
type Queued = (typeof Queued)[keyof typeof Queued];

class Account {
  /** The fleet total (nano-USD) Redis last answered; it includes every batch acknowledged. */
  sharedNanos = 0;
  /** Sent and not acknowledged; sent again, unchanged, until it is (Redis applies it once). */
  sending: Batch | undefined = undefined;
  /** Added since the last batch was cut. */
  unsentUsd = 0;
  resetRequested = false;
  /** Bumped by `reset()`: an answer to a batch sent before it is stale. */
  epoch = 0;
  /** The limit the last reservation was checked against (NaN: none yet), to know when the account is near it. */
  limitUsd = NaN;
  usedAt: number;
  /** When Redis last answered for the account; 0: never (its fleet total is unknown). */
  answeredAt = 0;
  /** The sequence number of the last answered script that carried everything added until it was sent. */
  coveredSeq = 0;
  queued: Queued = Queued.No;
  /** The account's script that is out (sent, no outcome yet; a silent Redis keeps it out). */
  outstanding: ScriptCommand | undefined = undefined;
  /** Redis rejected the account's last script (its key holds something else): it cannot be vouched for. */
  failing = false;
  /** After a rejection, not sent again before this time. */
  retryAt = 0;
  /** In the store's set of accounts near their limit (re-read every sync while used recently). */
  hot = false;

  constructor(
    /** The account's Redis key (and its key in the store's map). */
    readonly id: string,
    /** Calendar windows: when Redis drops the account; the window itself ends a day earlier (`endsAt`). */
    readonly expireAtMs: number,
    readonly endsAt: number,
    readonly rollingMs: number,
    readonly bucketMs: number,
    now: number,
  ) {
    this.usedAt = now;
  }
}

export class RedisBudgetStore implements BudgetStore {
  private readonly client: RedisCommandClient;
  private readonly script: BudgetScript;
  private readonly ownClient: OwnedRedisClient | undefined;
  private readonly keyPrefix: string;
  private readonly failMode: RedisFailMode;
  private readonly syncIntervalMs: number;
  private readonly refreshMs: number;
  private readonly timeoutMs: number;
  private readonly nearLimitShare: number;
  private readonly batchSize: number;
  private readonly evictIdleMs: number;
  /** Identifies this process's batches in Redis. */
  private readonly writer = randomUUID();
  private readonly accounts = new Map<string, Account>();
  /** Accounts to send in the next batches, in order; the urgent ones first. */
  private readonly urgent = new Set<Account>();
  private readonly queue = new Set<Account>();
  /** Accounts near their limit, re-read in the background (see HOT_MS). */
  private readonly hot = new Set<Account>();
  private readonly bad = new BadInputLog('RedisBudgetStore');
  private batchNumbers = 0;
  /** Numbers scripts in the order they are built (see `Account.coveredSeq`). */
  private scriptSeq = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = 0;
  private sweepTimer: NodeJS.Timeout | undefined;
  private syncing: Promise<boolean> | undefined;
  private closed = false;
  private roundTrips = 0;
  private failures = 0;
  private batches = 0;
  /**
   * Accounts whose script timed out and is still unanswered: Redis is silent, and more
   * scripts would only queue behind those on the same connection. Given up on (sent again
   * later) after ABANDON_AFTER_TIMEOUTS timeouts, for a connection that never settles them.
   */
  private readonly silent = new Set<Account>();
  private silentSince = 0;
  /** No failed batch since the last one that worked (or since the start). */
  private reachable = true;
  private contacted = false;

  constructor(options: RedisBudgetStoreOptions) {
    const { client, url, keyPrefix, failMode, syncIntervalMs, refreshMs, timeoutMs, nearLimitShare, batchSize, evictIdleMs } =
      validateRedisBudgetStoreOptions(options);
    this.syncIntervalMs = syncIntervalMs ?? 20;
    this.refreshMs = refreshMs ?? 1000;
    this.timeoutMs = timeoutMs ?? 500;
    this.nearLimitShare = nearLimitShare ?? 0.1;
    this.batchSize = Math.max(1, Math.floor(batchSize ?? 500));
    this.evictIdleMs = evictIdleMs ?? 30_000;
    this.keyPrefix = keyPrefix ?? 'otel-llm-cost:budget:';
    this.failMode = failMode ?? 'open';
    this.ownClient = url !== undefined ? createRedisClient(url, this.timeoutMs) : undefined;
    this.client = client ?? this.ownClient!;
    this.script = new BudgetScript(this.client);
  }

  reserve(key: BudgetKey, amountUsd: number, limitUsd: number): Reservation {
    const input = reservationInput(this.bad, key, amountUsd, limitUsd, MAX_AMOUNT_USD);
    if (input === 'over_limit') return input;
    const { limit, amount } = input;
    const now = Date.now();
    const account = this.account(key, now);
    account.limitUsd = limit;
    if (this.failMode === 'closed' && !this.vouchesFor(account)) return 'unavailable';
    if (viewUsd(account) + amount > limit) {
      this.noteRead(account, now);
      return 'over_limit';
    }
    if (amount > 0 && amount < Infinity) this.addTo(account, Math.min(amount, MAX_AMOUNT_USD));
    else this.noteRead(account, now);
    return 'reserved';
  }

  add(key: BudgetKey, amountUsd: number): void {
    if (!isBudgetKey(key)) {
      this.bad.note('key', key);
      return;
    }
    const amount = addedAmount(amountUsd);
    if (amount === undefined) {
      this.bad.note('amount', amountUsd);
      return;
    }
    if (amount === 0) return;
    if (Math.abs(amount) > MAX_AMOUNT_USD) this.bad.note('amount', amountUsd);
    this.addTo(this.account(key, Date.now()), Math.max(-MAX_AMOUNT_USD, Math.min(MAX_AMOUNT_USD, amount)));
  }

  total(key: BudgetKey): number {
    if (!isBudgetKey(key)) {
      this.bad.note('key', key);
      return 0;
    }
    const now = Date.now();
    const account = this.account(key, now);
    this.noteRead(account, now);
    return viewUsd(account);
  }

  /** Empties the account for the whole fleet (the other processes see it at their next sync). */
  reset(key: BudgetKey): void {
    if (!isBudgetKey(key)) {
      this.bad.note('key', key);
      return;
    }
    const account = this.account(key, Date.now());
    account.sharedNanos = 0;
    account.unsentUsd = 0;
    account.sending = undefined;
    account.resetRequested = true;
    account.epoch++;
    this.enqueue(account, Queued.Urgent);
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
        // Loading the script answers like a PING, and spares the first batch a NOSCRIPT round.
        await withTimeout(this.script.load(), this.timeoutMs);
        this.contacted = true;
        this.reachable = true;
        return;
      } catch (error) {
        if (Date.now() >= deadline) {
          throw new Error(`otel-llm-cost: Redis budget store: no answer from Redis within ${waitMs} ms`, { cause: error });
        }
      }
      await sleep(Math.min(RETRY_INTERVAL_MS / 2, Math.max(1, deadline - Date.now())));
    }
  }

  /**
   * Resolves once every amount added so far is recorded in Redis, and every account held whose
   * view is older than `refreshMs`, or was used since Redis last answered for it, has been
   * answered again (so `total()` then reads the fleet's figure); rejects
   * if that did not happen within `waitMs` (default 2 s, never less than one `timeoutMs`).
   * The amounts are kept either way and sent when Redis is back.
   */
  async flush(waitMs = 2000): Promise<void> {
    const deadline = Date.now() + Math.max(waitMs, this.timeoutMs);
    const mark = this.scriptSeq;
    const waiting = new Set<Account>();
    const now = Date.now();
    for (const account of this.accounts.values()) {
      // What it holds is sent; what it reads is fresh again: an account used since Redis last
      // answered for it, or whose last answer is older than `refreshMs` (other processes may
      // have added since). Accounts idle long enough were evicted, so this stays bounded.
      const stale = now - account.answeredAt >= this.refreshMs;
      if (hasUnsent(account) || account.answeredAt === 0 || account.usedAt >= account.answeredAt || stale) waiting.add(account);
    }
    for (;;) {
      for (const account of waiting) {
        if (account.coveredSeq > mark || this.accounts.get(account.id) !== account) waiting.delete(account);
        else if (account.outstanding === undefined) this.enqueue(account, Queued.Normal, false);
      }
      if (waiting.size === 0) return;
      if (Date.now() >= deadline) break;
      const sent = await this.sync();
      if (!sent || !this.reachable) await sleep(Math.min(sent ? RETRY_INTERVAL_MS : 5, Math.max(1, deadline - Date.now())));
    }
    throw new Error(
      `otel-llm-cost: Redis budget store could not reach Redis for ${waiting.size} account(s) in time; ` +
        `$${this.stats().unsyncedUsd.toFixed(9)} is kept in this process and sent when Redis is back`,
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
      if (this.sweepTimer) clearTimeout(this.sweepTimer);
      this.timer = undefined;
      this.sweepTimer = undefined;
      await this.ownClient?.close();
    }
  }

  stats(): RedisBudgetStoreStats {
    let unsyncedUsd = 0;
    for (const account of this.accounts.values()) unsyncedUsd += unsyncedOf(account);
    return {
      roundTrips: this.roundTrips,
      failures: this.failures,
      batches: this.batches,
      reachable: this.vouches(),
      unsyncedUsd,
      accounts: this.accounts.size,
    };
  }

  /** Whether the local views can be trusted: the last batch worked and the client is connected. */
  private vouches(): boolean {
    return this.reachable && this.silent.size === 0 && this.client.isReady !== false;
  }

  private vouchesFor(account: Account): boolean {
    return this.vouches() && !account.failing;
  }

  /** The key's account in the window current now; new ones are read from Redis at once. */
  private account(key: BudgetKey, now: number): Account {
    const id = accountKey(this.keyPrefix, key, now);
    let account = this.accounts.get(id);
    if (!account) {
      const keys = accountKeys(this.keyPrefix, key, now);
      account = new Account(id, keys.expireAtMs, windowEndsAt(key, now), keys.rollingMs, keys.bucketMs, now);
      this.accounts.set(id, account);
      this.enqueue(account, Queued.Urgent);
      this.sweepSoon();
    }
    account.usedAt = now;
    return account;
  }

  private addTo(account: Account, amountUsd: number): void {
    account.unsentUsd += amountUsd;
    const near = this.nearLimit(account);
    if (near) this.heat(account);
    this.enqueue(account, near ? Queued.Urgent : Queued.Normal);
  }

  /**
   * The account was read: re-read it from Redis if its view is older than the policy allows:
   * near its limit, every sync; otherwise `refreshMs`; never read yet, at once.
   */
  private noteRead(account: Account, now: number): void {
    const near = this.nearLimit(account);
    if (near) this.heat(account);
    if (account.queued !== Queued.No || account.outstanding !== undefined) return;
    if (account.answeredAt === 0) this.enqueue(account, Queued.Urgent);
    else if (near || now - account.answeredAt >= this.refreshMs) this.enqueue(account, Queued.Normal);
  }

  private heat(account: Account): void {
    if (account.hot) return;
    account.hot = true;
    this.hot.add(account);
    this.schedule(this.syncIntervalMs);
  }

  private cool(account: Account): void {
    account.hot = false;
    this.hot.delete(account);
  }

  private nearLimit(account: Account): boolean {
    const limit = account.limitUsd;
    return Number.isFinite(limit) && limit - viewUsd(account) <= limit * this.nearLimitShare;
  }

  private enqueue(account: Account, level: Queued, schedule = true): void {
    // An account Redis rejected waits for its retry time: never at the head of the line.
    if (account.failing) level = Queued.Normal;
    if (account.queued >= level) return;
    if (account.queued === Queued.Normal) this.queue.delete(account);
    account.queued = level;
    (level === Queued.Urgent ? this.urgent : this.queue).add(account);
    if (schedule) this.schedule(level === Queued.Urgent ? 0 : this.syncIntervalMs);
  }

  /** Runs the background sync in `delayMs` (sooner if asked again with a shorter delay). */
  private schedule(delayMs: number): void {
    if (this.closed || this.syncing) return; // the round under way schedules the next when it ends
    const due = Date.now() + delayMs;
    if (this.timer) {
      if (due >= this.timerDue) return;
      clearTimeout(this.timer);
    }
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.sync();
    }, delayMs);
    // Pending amounts must not keep a finished process alive: call close() to send them.
    this.timer.unref();
  }

  /** One batch, then the next one scheduled. Resolves with whether anything was sent. */
  private sync(): Promise<boolean> {
    if (this.syncing) return this.syncing;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const round = this.syncBatch()
      .catch((error: unknown) => {
        logInternalError('Redis budget store sync', error);
        return false;
      })
      .finally(() => {
        this.syncing = undefined;
        this.scheduleNext();
      });
    this.syncing = round;
    return round;
  }

  private scheduleNext(): void {
    // Unreachable, the store keeps probing even with nothing to send: a store failing
    // closed must learn that Redis is back without a request getting through first.
    const waiting = this.urgent.size > 0 || this.queue.size > 0 || this.hot.size > 0;
    if (!this.reachable || this.silent.size > 0 || this.connecting()) this.schedule(waiting ? RETRY_INTERVAL_MS : IDLE_PROBE_MS);
    else if (this.urgent.size > 0 || this.queue.size >= this.batchSize) this.schedule(0);
    else if (waiting) this.schedule(this.syncIntervalMs);
  }

  /** A client still making its first connection has nothing wrong yet: the store waits for it quietly. */
  private connecting(): boolean {
    return !this.contacted && this.client.isReady === false;
  }

  private async syncBatch(): Promise<boolean> {
    if (this.connecting()) return false;
    // Scripts sent would queue behind the unanswered ones on the same connection.
    if (this.silent.size > 0) {
      this.setReachable(false);
      if (Date.now() - this.silentSince < ABANDON_AFTER_TIMEOUTS * this.timeoutMs) return false;
      for (const account of this.silent) {
        account.outstanding = undefined;
        if (hasUnsent(account)) this.enqueue(account, Queued.Normal, false);
      }
      this.silent.clear();
    }
    const accounts = this.takeBatch(this.reachable ? this.batchSize : 1);
    if (accounts.length === 0) {
      if (!this.reachable) await this.probe();
      return false;
    }
    const commands = accounts.map((account) => this.command(account));
    const epochs = accounts.map((account) => account.epoch);
    this.batches++;
    const summary = await sendBatch(this.script, commands, this.timeoutMs, (index, outcome, late) =>
      this.take(accounts[index]!, commands[index]!, epochs[index]!, outcome, late),
    );
    // Redis answered every script (some may be rejected: those accounts are marked, Redis is up).
    this.setReachable(summary.failed === 0 && summary.timedOut === 0);
    return true;
  }

  /** Unreachable with nothing to send: is Redis back? */
  private async probe(): Promise<void> {
    try {
      await withTimeout(this.client.sendCommand(['PING']), this.timeoutMs);
      this.setReachable(true);
    } catch {
      // still away: the next probe is scheduled
    }
  }

  private setReachable(reachable: boolean): void {
    if (reachable) {
      if (!this.reachable) logInfo('Redis budget store: Redis reachable again; amounts kept meanwhile are recorded');
      this.contacted = true;
    } else if (this.reachable) {
      logInfo(
        `Redis budget store: Redis unreachable; failing ${this.failMode} (${
          this.failMode === 'open' ? 'requests go on, amounts kept locally until Redis is back' : 'new requests refused'
        })`,
      );
    }
    this.reachable = reachable;
  }

  /**
   * The next accounts to send, each at most once, bounded in count and bytes: the urgent
   * ones, then the others queued, then (if there is room) accounts near their limit whose
   * view is a sync old, taking turns.
   */
  private takeBatch(limit: number): Account[] {
    const now = Date.now();
    const taken: Account[] = [];
    let bytes = 0;
    const full = () => taken.length >= limit || bytes >= MAX_BATCH_BYTES;
    const take = (account: Account) => {
      account.queued = Queued.No;
      taken.push(account);
      bytes += 2 * account.id.length + COMMAND_OVERHEAD_BYTES;
    };
    for (const queue of [this.urgent, this.queue]) {
      for (const account of queue) {
        if (full()) return taken;
        if (account.outstanding !== undefined || account.retryAt > now) continue;
        queue.delete(account);
        take(account);
      }
    }
    if (!this.reachable) return taken;
    let looked = 0;
    const hotCount = this.hot.size;
    for (const account of this.hot) {
      if (full() || looked++ >= hotCount) break;
      if (now - account.usedAt > HOT_MS || !this.nearLimit(account)) {
        this.cool(account);
        continue;
      }
      if (account.outstanding !== undefined || account.queued !== Queued.No || account.retryAt > now) continue;
      if (now - account.answeredAt < this.syncIntervalMs) continue;
      // To the back of the line: with more hot accounts than a batch holds, they take turns.
      this.hot.delete(account);
      this.hot.add(account);
      take(account);
    }
    return taken;
  }

  /** The account's script: its batch (cut now from what is unsent, or the one not yet acknowledged), or a read. */
  private command(account: Account): ScriptCommand {
    let complete: boolean;
    if (!account.sending) {
      const nanos = Math.max(-MAX_BATCH_NANOS, Math.min(MAX_BATCH_NANOS, Math.round(account.unsentUsd * NANOS_PER_USD)));
      if (nanos !== 0 || account.resetRequested) {
        account.sending = { number: ++this.batchNumbers, nanos, reset: account.resetRequested };
        // The rounding remainder stays unsent, so nothing is lost to rounding over many batches.
        account.unsentUsd -= nanos / NANOS_PER_USD;
        account.resetRequested = false;
      }
      complete = !hasUnsent(account, false);
    } else {
      complete = Math.round(account.unsentUsd * NANOS_PER_USD) === 0 && !account.resetRequested;
    }
    const batch = account.sending;
    const command: ScriptCommand = {
      accountKey: account.id,
      writersKey: `${account.id}:writers`,
      expireAtMs: account.expireAtMs,
      rollingMs: account.rollingMs,
      bucketMs: account.bucketMs,
      writer: this.writer,
      batch: batch?.number ?? 0,
      nanos: batch?.nanos ?? 0,
      reset: batch?.reset ?? false,
      seq: complete ? ++this.scriptSeq : 0,
    };
    account.outstanding = command;
    return command;
  }

  /** One script's outcome: the fleet total taken, or the account queued to be sent again. */
  private take(account: Account, command: ScriptCommand, epoch: number, outcome: ScriptOutcome, late: boolean): void {
    // An outcome for a script given up on (see `silent`): its batch is sent again, Redis applies it once.
    if (account.outstanding !== command) return;
    if (outcome.kind === 'timeout') {
      // Still out: its real outcome arrives later (`late`), or the connection drops it.
      this.failures++;
      if (this.silent.size === 0) this.silentSince = Date.now();
      this.silent.add(account);
      return;
    }
    if (late) this.silent.delete(account);
    account.outstanding = undefined;
    if (outcome.kind === 'answered') {
      this.roundTrips++;
      account.failing = false;
      if (account.epoch === epoch) {
        if (account.sending?.number === command.batch) account.sending = undefined;
        account.sharedNanos = outcome.totalNanos;
        account.answeredAt = Date.now();
        if (command.seq > account.coveredSeq) account.coveredSeq = command.seq;
        if (this.nearLimit(account) && Date.now() - account.usedAt <= HOT_MS) this.heat(account);
      }
    } else {
      if (!late) this.failures++;
      if (outcome.kind === 'rejected') {
        if (!account.failing) logInternalError(`Redis budget store: Redis rejected account ${account.id}`, outcome.error);
        account.failing = true;
        account.retryAt = Date.now() + RETRY_INTERVAL_MS;
      } else if (this.reachable) {
        logInternalError('Redis budget store sync', outcome.error);
      }
    }
    // Amounts to send (kept after a failure, or added meanwhile) go out again; a read that
    // failed is tried again when the account is next used.
    if (hasUnsent(account)) this.enqueue(account, this.nearLimit(account) ? Queued.Urgent : Queued.Normal);
    if (late && this.silent.size === 0 && !this.syncing) this.schedule(0);
  }

  /** Drops, now and then, the accounts that are idle with nothing to send. */
  private sweepSoon(): void {
    if (this.sweepTimer || this.closed) return;
    this.sweepTimer = setTimeout(
      () => {
        this.sweepTimer = undefined;
        this.sweep();
        if (this.accounts.size > 0) this.sweepSoon();
      },
      Math.max(1000, this.evictIdleMs / 2),
    );
    this.sweepTimer.unref();
  }

  private sweep(): void {
    // While Redis is away, a view kept is all there is to check against.
    if (!this.vouches()) return;
    const now = Date.now();
    for (const [id, account] of this.accounts) {
      if (account.queued !== Queued.No || account.outstanding !== undefined || hasUnsent(account)) continue;
      const idleMs = now - account.usedAt;
      const evict =
        now >= account.endsAt || (idleMs >= this.evictIdleMs && (idleMs >= Math.max(this.evictIdleMs, KEEP_NEAR_LIMIT_MS) || !this.nearLimit(account)));
      if (!evict) continue;
      this.accounts.delete(id);
      if (account.hot) this.cool(account);
    }
  }
}

function viewUsd(account: Account): number {
  return (account.sharedNanos + (account.sending?.nanos ?? 0)) / NANOS_PER_USD + account.unsentUsd;
}

function unsyncedOf(account: Account): number {
  return ((account.sending?.nanos ?? 0) + Math.round(account.unsentUsd * NANOS_PER_USD)) / NANOS_PER_USD;
}

function hasUnsent(account: Account, countSending = true): boolean {
  return (countSending && account.sending !== undefined) || account.resetRequested || Math.round(account.unsentUsd * NANOS_PER_USD) !== 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
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
