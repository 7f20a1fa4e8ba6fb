/**
 * The one server-side step of the Redis budget store: apply a process's batch of amounts
 * to an account, and answer the account's total for the whole fleet, atomically.
 *
 * Amounts are integers of nano-USD (`HINCRBY`), so no rounding accumulates in Redis.
 * Each batch carries its writer's id and a sequence number, and a batch already applied is
 * not applied again: a batch whose answer was lost (a timeout, a dropped connection) can
 * be sent again without counting twice. A script stopped by an error writes nothing that
 * would mark its batch applied (Lua scripts are not rolled back): the keys' types are
 * checked first, and the batch number is recorded after the amount.
 */
import { createHash } from 'node:crypto';
import type { RedisCommandClient } from './redis-client.js';

/**
 * KEYS[1] the account: a hash, field `t` for total/day/month windows, one field per time
 *         bucket (its index since the epoch) for rolling windows
 * KEYS[2] the last batch number applied per writer (a hash)
 * ARGV    writer, batch (0: only read), nanos, reset (1: empty the account first),
 *         expireAtMs (calendar windows, else 0), rollingMs (else 0), bucketMs, writersTtlMs
 */
const SCRIPT = `
if redis.replicate_commands then redis.replicate_commands() end
local account, writers = KEYS[1], KEYS[2]
local writer, batch, nanos, reset = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local expireAt, rolling, bucketMs = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local field, oldest = 't', nil
if rolling > 0 then
  local now = redis.call('TIME')
  local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  field = string.format('%.0f', math.floor(ms / bucketMs))
  oldest = math.floor((ms - rolling) / bucketMs)
end
for _, key in ipairs(KEYS) do
  local kind = redis.call('TYPE', key)['ok']
  if kind ~= 'hash' and kind ~= 'none' then
    return redis.error_reply('WRONGTYPE budget key ' .. key .. ' holds a ' .. kind)
  end
end
if batch > 0 and batch > tonumber(redis.call('HGET', writers, writer) or '0') then
  if reset == '1' then redis.call('DEL', account) end
  if nanos ~= '0' then
    redis.call('HINCRBY', account, field, nanos)
    if rolling > 0 then
      redis.call('PEXPIRE', account, rolling + bucketMs)
    elseif expireAt > 0 then
      redis.call('PEXPIREAT', account, expireAt)
    end
  end
  redis.call('HSET', writers, writer, batch)
  redis.call('PEXPIRE', writers, ARGV[8])
end
if rolling == 0 then
  return redis.call('HGET', account, 't') or '0'
end
local total = 0
local fields = redis.call('HGETALL', account)
for i = 1, #fields, 2 do
  if tonumber(fields[i]) <= oldest then
    redis.call('HDEL', account, fields[i])
  else
    total = total + tonumber(fields[i + 1])
  end
end
return string.format('%.0f', total)
`;

const SCRIPT_SHA = createHash('sha1').update(SCRIPT).digest('hex');

/** How long a writer's last batch number is kept: far longer than any retry of a batch. */
const WRITERS_TTL_MS = 7 * 24 * 3600 * 1000;

export interface BatchCommand {
  readonly accountKey: string;
  readonly writersKey: string;
  readonly writer: string;
  /** 0 to only read the total. */
  readonly batch: number;
  readonly nanos: number;
  readonly reset: boolean;
  readonly expireAtMs: number;
  readonly rollingMs: number;
  readonly bucketMs: number;
}

/**
 * Runs the script by its hash. The first use on a server (or after a restart or SCRIPT
 * FLUSH) answers NOSCRIPT: the script is then loaded once, by one SCRIPT LOAD however many
 * commands are waiting, and they are sent again by hash. (Sending each one as EVAL with the
 * ~1.5 kB body instead made a batch of 500 hundreds of kilobytes, written slowly.)
 */
export class BudgetScript {
  private loading: Promise<unknown> | undefined;

  constructor(private readonly client: RedisCommandClient) {}

  /**
   * Applies the batch (once) and resolves with the account's total in nano-USD.
   * `onReply` is told of an intermediate reply (NOSCRIPT): Redis is answering.
   */
  async apply(command: BatchCommand, onReply?: () => void): Promise<number> {
    const args = ['EVALSHA', SCRIPT_SHA, ...keysAndArgs(command)];
    let reply: unknown;
    try {
      reply = await this.client.sendCommand(args);
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
      onReply?.();
      await this.load();
      onReply?.();
      reply = await this.client.sendCommand(args);
    }
    const nanos = Number(typeof reply === 'string' || typeof reply === 'number' ? reply : String(reply));
    if (!Number.isFinite(nanos)) throw new Error(`unexpected reply from the budget script: ${String(reply)}`);
    return nanos;
  }

  /** Loads the script into Redis's script cache (done once before the first batch, by `ready()`). */
  load(): Promise<unknown> {
    this.loading ??= this.client.sendCommand(['SCRIPT', 'LOAD', SCRIPT]).finally(() => (this.loading = undefined));
    return this.loading;
  }
}

function keysAndArgs(command: BatchCommand): string[] {
  return [
    '2',
    command.accountKey,
    command.writersKey,
    command.writer,
    String(command.batch),
    command.nanos.toFixed(0),
    command.reset ? '1' : '0',
    String(command.expireAtMs),
    String(command.rollingMs),
    String(command.bucketMs),
    String(WRITERS_TTL_MS),
  ];
}
