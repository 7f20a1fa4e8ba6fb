/**
 * The byte-pair ranks of one encoding, looked up by byte range without building strings.
 *
 * js-tiktoken keys its rank map by `bytes.join(',')` and builds it in one go (0.6 s for
 * o200k on an idle core, 3 s on the loaded 2-core test machine), which a thread that must
 * stay responsive cannot afford. Here the tokens are decoded into one byte pool and indexed
 * by an open-addressing hash table; building is a generator that yields every few thousand
 * tokens, so the main thread can build it in slices.
 */

/** The rank data as js-tiktoken ships it (`js-tiktoken/ranks/<encoding>`). */
export interface RankData {
  readonly pat_str: string;
  /** Special-token markers; counted as plain text here, as the instrumentation does everywhere. */
  readonly special_tokens: Record<string, number>;
  /** Lines of `! <first rank> <base64 token> <base64 token> …`, ranks consecutive from the first. */
  readonly bpe_ranks: string;
}

/**
 * A built table's arrays, in `SharedArrayBuffer`s: posted to another thread, they are shared,
 * not copied, so a table built once serves every worker started later.
 */
export interface SharedRankTable {
  readonly pool: Uint8Array;
  readonly offsets: Int32Array;
  readonly lengths: Uint16Array;
  readonly slots: Int32Array;
  readonly maxTokenBytes: number;
}

/** Tokens decoded between two yields while building. */
const TOKENS_PER_STEP = 1024;

const BASE64 = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) BASE64['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;

export function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return hash >>> 0;
}

export class RankTable {
  /** Bytes of the longest token: no longer range can have a rank. */
  readonly maxTokenBytes: number;

  private constructor(
    private readonly pool: Uint8Array,
    /** Per rank: where its bytes start in `pool` (-1: no token has this rank). */
    private readonly offsets: Int32Array,
    private readonly lengths: Uint16Array,
    /** rank + 1 per slot, 0 = empty; size a power of two. */
    private readonly slots: Int32Array,
    maxTokenBytes: number,
  ) {
    this.maxTokenBytes = maxTokenBytes;
  }

  /** A table over arrays another thread built (`toShared`). */
  static fromShared(shared: SharedRankTable): RankTable {
    return new RankTable(shared.pool, shared.offsets, shared.lengths, shared.slots, shared.maxTokenBytes);
  }

  /** This table's arrays, shared (never copied) when posted to another thread. */
  toShared(): SharedRankTable {
    return { pool: this.pool, offsets: this.offsets, lengths: this.lengths, slots: this.slots, maxTokenBytes: this.maxTokenBytes };
  }

  /** One past the highest rank. */
  get rankCount(): number {
    return this.offsets.length;
  }

  /** The rank of `bytes[start, end)`, or -1 when no token has exactly these bytes. */
  rank(bytes: Uint8Array, start: number, end: number): number {
    const length = end - start;
    if (length > this.maxTokenBytes || length <= 0) return -1;
    const mask = this.slots.length - 1;
    for (let slot = hashBytes(bytes, start, end) & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot]!;
      if (entry === 0) return -1;
      const rank = entry - 1;
      if (this.lengths[rank] === length && this.equals(rank, bytes, start)) return rank;
    }
  }

  /** Length in bytes of the token with this rank (0 if none). */
  tokenLength(rank: number): number {
    return this.offsets[rank]! < 0 ? 0 : this.lengths[rank]!;
  }

  /** Byte `index` of the token with this rank. */
  tokenByte(rank: number, index: number): number {
    return this.pool[this.offsets[rank]! + index]!;
  }

  /** Copies the token's bytes into `target` at `at`. */
  copyToken(rank: number, target: Uint8Array, at: number): void {
    const offset = this.offsets[rank]!;
    target.set(this.pool.subarray(offset, offset + this.lengths[rank]!), at);
  }

  private equals(rank: number, bytes: Uint8Array, start: number): boolean {
    const offset = this.offsets[rank]!;
    const length = this.lengths[rank]!;
    for (let i = 0; i < length; i++) if (this.pool[offset + i] !== bytes[start + i]) return false;
    return true;
  }

  /** Builds the table, yielding every few thousand tokens (drive it with `tokenizer-slices.ts`). */
  static *build(data: RankData): Generator<void, RankTable> {
    const text = data.bpe_ranks;
    const pool = new Uint8Array(Math.ceil((text.length * 3) / 4));
    let poolEnd = 0;
    let offsets = new Int32Array(1024).fill(-1);
    let lengths = new Uint16Array(1024);
    let highestRank = -1;
    let maxTokenBytes = 0;
    let sinceYield = 0;

    let lineStart = 0;
    while (lineStart < text.length) {
      let lineEnd = text.indexOf('\n', lineStart);
      if (lineEnd < 0) lineEnd = text.length;
      // `! <first rank> <token> <token> …`
      const beforeRank = text.indexOf(' ', lineStart);
      if (beforeRank < 0 || beforeRank >= lineEnd) throw new Error('malformed rank data');
      let afterRank = text.indexOf(' ', beforeRank + 1);
      if (afterRank < 0 || afterRank > lineEnd) afterRank = lineEnd;
      let rank = Number.parseInt(text.slice(beforeRank + 1, afterRank), 10);
      if (!Number.isSafeInteger(rank) || rank < 0) throw new Error('malformed rank data');
      let at = afterRank + 1;
      while (at < lineEnd) {
        let tokenEnd = text.indexOf(' ', at);
        if (tokenEnd < 0 || tokenEnd > lineEnd) tokenEnd = lineEnd;
        if (tokenEnd > at) {
          const start = poolEnd;
          poolEnd = decodeBase64(text, at, tokenEnd, pool, poolEnd);
          if (rank >= offsets.length) {
            const size = Math.max(rank + 1, offsets.length * 2);
            offsets = grow(offsets, size, -1);
            lengths = grow(lengths, size, 0);
          }
          offsets[rank] = start;
          lengths[rank] = poolEnd - start;
          if (poolEnd - start > maxTokenBytes) maxTokenBytes = poolEnd - start;
          if (rank > highestRank) highestRank = rank;
          rank++;
          if (++sinceYield === TOKENS_PER_STEP) {
            sinceYield = 0;
            yield;
          }
        }
        at = tokenEnd + 1;
      }
      lineStart = lineEnd + 1;
    }

    offsets = inSharedMemory(offsets.subarray(0, highestRank + 1));
    lengths = inSharedMemory(lengths.subarray(0, highestRank + 1));
    let capacity = 1;
    while (capacity < (highestRank + 1) * 2) capacity *= 2;
    const slots = new Int32Array(new SharedArrayBuffer(capacity * Int32Array.BYTES_PER_ELEMENT));
    const mask = capacity - 1;
    for (let rank = 0; rank <= highestRank; rank++) {
      const offset = offsets[rank]!;
      if (offset < 0) continue;
      let slot = hashBytes(pool, offset, offset + lengths[rank]!) & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = rank + 1;
      if (++sinceYield === TOKENS_PER_STEP) {
        sinceYield = 0;
        yield;
      }
    }
    return new RankTable(inSharedMemory(pool.subarray(0, poolEnd)), offsets, lengths, slots, maxTokenBytes);
  }
}

/** A copy of `array` in a `SharedArrayBuffer`. */
function inSharedMemory<T extends Uint8Array | Int32Array | Uint16Array>(array: T): T {
  const Kind = array.constructor as new (buffer: SharedArrayBuffer) => T;
  const copy = new Kind(new SharedArrayBuffer(array.byteLength));
  copy.set(array);
  return copy;
}

function grow<T extends Int32Array | Uint16Array>(array: T, size: number, fill: number): T {
  const bigger = new (array.constructor as new (n: number) => T)(size);
  bigger.fill(fill);
  bigger.set(array);
  return bigger;
}

/** Decodes `text[start, end)` (standard base64, padded) into `out` at `at`; returns the new end. */
function decodeBase64(text: string, start: number, end: number, out: Uint8Array, at: number): number {
  let bits = 0;
  let buffered = 0;
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code === 61) break; // '='
    const value = code < 128 ? BASE64[code]! : -1;
    if (value < 0) throw new Error(`invalid base64 in the rank data at ${i}`);
    bits = (bits << 6) | value;
    buffered += 6;
    if (buffered >= 8) {
      buffered -= 8;
      out[at++] = (bits >> buffered) & 0xff;
    }
  }
  return at;
}
