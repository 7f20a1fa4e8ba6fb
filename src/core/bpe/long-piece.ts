/**
 * Exact byte-pair counting of a long piece (a whitespace-free run of letters, CJK text
 * without punctuation, a row of `=`, a run of spaces) in linear time.
 *
 * The direct merge (`merge.ts`) is quadratic: `'a'` × 10,000 takes seconds, and
 * js-tiktoken needs minutes for 100,000. Cutting the piece into slices changes the count,
 * because a merge near a cut would have gone differently. Instead this follows the
 * backtracking encoder of github/rust-gems' `bpe` crate, which rests on two properties of
 * rank-ordered merging that hold for any rank table:
 *
 *  (a) Any run of consecutive tokens of a piece's encoding is itself the encoding of its
 *      bytes: no merge crossed the run's edges, and the merges inside it happen in the
 *      same order when the run is encoded alone.
 *  (b) If E1 (ending with token t) and E2 (starting with that same t, at the same place)
 *      are the encodings of two overlapping byte ranges, E1 followed by E2 without t is the
 *      encoding of their union: a merge across either edge of t would contradict E1 or E2.
 *
 * Call two tokens compatible when their bytes, merged alone, give exactly those two
 * tokens. By (b), a token sequence that spells the piece, whose first token encodes as
 * itself and whose neighbours are all compatible, is the piece's encoding, and it is
 * unique. So the encoder extends a sequence with the longest token that fits, tries the
 * next shorter one when a token does not fit, and steps back when none does. Because the
 * sequence that reaches a position is always the same (the unique encoding of that
 * prefix), a position from which nothing fits is marked and never tried again: each
 * position's candidates are tried at most once, which bounds the work by the length of
 * the piece times the longest token (in practice one to two tries per token).
 * Compatibility is decided by merging the two tokens' bytes (at most 2 × 128) and cached.
 */
import { mergePiece, MergeScratch } from './merge.js';
import type { RankTable } from './rank-table.js';
import { encodeUtf8, maxUtf8Bytes } from './utf8.js';

/** Tokens tried between two yields of the counting generator. */
const TRIES_PER_STEP = 2048;
/** Tokens inserted into the trie between two yields while building it. */
const TOKENS_PER_STEP = 1024;
/** Slots of the compatibility cache (open addressing, emptied when half full). */
const CACHED_PAIRS = 1 << 16;

/** The tokens keyed by their bytes, for "which tokens start here?". */
export class TokenTrie {
  private constructor(
    /** Token rank at each node, -1 for none; node 0 is the root. */
    private readonly nodeRanks: Int32Array,
    /** Open-addressing table of edges: key `node * 256 + byte + 1` (0 = empty) → child node. */
    private readonly edgeKeys: Int32Array,
    private readonly edgeChildren: Int32Array,
  ) {}

  rankAt(node: number): number {
    return this.nodeRanks[node]!;
  }

  /** The child of `node` along `byte`, or 0 (the root is never a child). */
  child(node: number, byte: number): number {
    const key = node * 256 + byte + 1;
    const mask = this.edgeKeys.length - 1;
    for (let slot = edgeSlot(key, mask); ; slot = (slot + 1) & mask) {
      const found = this.edgeKeys[slot]!;
      if (found === key) return this.edgeChildren[slot]!;
      if (found === 0) return 0;
    }
  }

  static *build(table: RankTable): Generator<void, TokenTrie> {
    let totalBytes = 0;
    for (let rank = 0; rank < table.rankCount; rank++) totalBytes += table.tokenLength(rank);
    // Tokens share prefixes: o200k's 1,397,670 bytes make 421,660 nodes (cl100k: 643,830 and
    // 216,749), so room for half the bytes is plenty; the tables grow if another is denser.
    let capacity = 1024;
    while (capacity < totalBytes / 2) capacity *= 2;
    let nodeRanks: Int32Array = new Int32Array(capacity).fill(-1);
    let edgeKeys: Int32Array = new Int32Array(capacity);
    let edgeChildren: Int32Array = new Int32Array(capacity);
    let nodes = 1;
    let sinceYield = 0;
    yield;
    for (let rank = 0; rank < table.rankCount; rank++) {
      const length = table.tokenLength(rank);
      if (length === 0) continue;
      if ((nodes + length) * 4 > capacity * 3) {
        capacity *= 2;
        [edgeKeys, edgeChildren] = rehash(edgeKeys, edgeChildren, capacity);
        const ranks = new Int32Array(capacity).fill(-1);
        ranks.set(nodeRanks);
        nodeRanks = ranks;
        yield;
      }
      const mask = capacity - 1;
      let node = 0;
      for (let i = 0; i < length; i++) {
        const key = node * 256 + table.tokenByte(rank, i) + 1;
        let slot = edgeSlot(key, mask);
        while (edgeKeys[slot] !== 0 && edgeKeys[slot] !== key) slot = (slot + 1) & mask;
        if (edgeKeys[slot] === 0) {
          edgeKeys[slot] = key;
          edgeChildren[slot] = nodes++;
        }
        node = edgeChildren[slot]!;
      }
      nodeRanks[node] = rank;
      if (++sinceYield === TOKENS_PER_STEP) {
        sinceYield = 0;
        yield;
      }
    }
    return new TokenTrie(nodeRanks, edgeKeys, edgeChildren);
  }
}

function rehash(keys: Int32Array, children: Int32Array, capacity: number): [Int32Array, Int32Array] {
  const newKeys = new Int32Array(capacity);
  const newChildren = new Int32Array(capacity);
  const mask = capacity - 1;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (key === 0) continue;
    let slot = edgeSlot(key, mask);
    while (newKeys[slot] !== 0) slot = (slot + 1) & mask;
    newKeys[slot] = key;
    newChildren[slot] = children[i]!;
  }
  return [newKeys, newChildren];
}

function edgeSlot(key: number, mask: number): number {
  return (Math.imul(key, 0x9e3779b1) >>> 7) & mask;
}

/** Counts long pieces of one encoding; holds its caches, so one per counter. */
export class LongPieceCounter {
  private trie: TokenTrie | undefined;
  private readonly scratch = new MergeScratch();
  private readonly pairBytes: Uint8Array;
  /** Cache of compatibility answers: the pair in each slot (left -1: empty), and 1 (yes) or 2 (no). */
  private readonly cachedLeft = new Int32Array(CACHED_PAIRS).fill(-1);
  private readonly cachedRight = new Int32Array(CACHED_PAIRS);
  private readonly cachedAnswer = new Uint8Array(CACHED_PAIRS);
  private cachedPairs = 0;
  /** Per rank: 0 not checked, 1 the token alone encodes as itself, 2 it does not. */
  private readonly selfEncoding: Uint8Array;
  /** Per rank: the longest token that is a proper prefix of it (-1 none, -2 not computed). */
  private readonly shorterPrefixes: Int32Array;

  constructor(private readonly table: RankTable) {
    this.pairBytes = new Uint8Array(table.maxTokenBytes * 2);
    this.selfEncoding = new Uint8Array(table.rankCount);
    this.shorterPrefixes = new Int32Array(table.rankCount).fill(-2);
  }

  /**
   * Tokens in the piece `text[from, to)`; yields every few thousand tries. A count's state
   * is its own, so counts may be interleaved; the caches are only touched between yields.
   */
  *count(text: string, from: number, to: number): Generator<void, number> {
    this.trie ??= yield* TokenTrie.build(this.table);
    const trie = this.trie;
    const bytes = new Uint8Array(maxUtf8Bytes(to - from));
    const length = encodeUtf8(text, from, to, bytes, 0);
    /** One bit per position: nothing fits from there (see the module comment). */
    const dead = new Uint8Array((length >> 3) + 1);
    let stack = new Int32Array(Math.max(16, length >> 4));
    let depth = 0;
    let position = 0;
    let candidate = this.longestAt(trie, bytes, 0, length);
    let tries = 0;

    while (position < length) {
      if (++tries === TRIES_PER_STEP) {
        tries = 0;
        yield;
      }
      if (candidate < 0) {
        // Nothing fits from here: step back and try the previous token's next shorter prefix.
        dead[position >> 3]! |= 1 << (position & 7);
        if (depth === 0) throw new Error('no byte-pair encoding fits the piece');
        const previous = stack[--depth]!;
        position -= this.table.tokenLength(previous);
        candidate = this.shorterPrefix(trie, previous);
        continue;
      }
      const end = position + this.table.tokenLength(candidate);
      const fits =
        (dead[end >> 3]! & (1 << (end & 7))) === 0 && (depth === 0 ? this.encodesAsItself(candidate) : this.areCompatible(stack[depth - 1]!, candidate));
      if (!fits) {
        candidate = this.shorterPrefix(trie, candidate);
        continue;
      }
      if (depth === stack.length) {
        const bigger = new Int32Array(stack.length * 2);
        bigger.set(stack);
        stack = bigger;
      }
      stack[depth++] = candidate;
      position = end;
      if (position < length) candidate = this.longestAt(trie, bytes, position, length);
    }
    return depth;
  }

  /** The longest token spelled by `bytes` from `start` (a single byte always is one). */
  private longestAt(trie: TokenTrie, bytes: Uint8Array, start: number, end: number): number {
    const limit = Math.min(end, start + this.table.maxTokenBytes);
    let node = 0;
    let longest = -1;
    for (let i = start; i < limit; i++) {
      node = trie.child(node, bytes[i]!);
      if (node === 0) break;
      const rank = trie.rankAt(node);
      if (rank >= 0) longest = rank;
    }
    return longest;
  }

  private shorterPrefix(trie: TokenTrie, rank: number): number {
    let known = this.shorterPrefixes[rank]!;
    if (known === -2) {
      known = -1;
      let node = 0;
      const length = this.table.tokenLength(rank);
      for (let i = 0; i < length - 1; i++) {
        node = trie.child(node, this.table.tokenByte(rank, i));
        const found = trie.rankAt(node);
        if (found >= 0) known = found;
      }
      this.shorterPrefixes[rank] = known;
    }
    return known;
  }

  private encodesAsItself(rank: number): boolean {
    let known = this.selfEncoding[rank]!;
    if (known === 0) {
      const length = this.table.tokenLength(rank);
      this.table.copyToken(rank, this.pairBytes, 0);
      known = mergePiece(this.table, this.pairBytes, 0, length, this.scratch) === 1 ? 1 : 2;
      this.selfEncoding[rank] = known;
    }
    return known === 1;
  }

  /** Whether the bytes of `left` then `right`, merged alone, give exactly these two tokens. */
  private areCompatible(left: number, right: number): boolean {
    const mask = CACHED_PAIRS - 1;
    let slot = (Math.imul(left, 0x9e3779b1) ^ Math.imul(right, 0x85ebca6b)) >>> 16;
    for (; this.cachedLeft[slot] !== -1; slot = (slot + 1) & mask) {
      if (this.cachedLeft[slot] === left && this.cachedRight[slot] === right) return this.cachedAnswer[slot] === 1;
    }
    const leftLength = this.table.tokenLength(left);
    const length = leftLength + this.table.tokenLength(right);
    this.table.copyToken(left, this.pairBytes, 0);
    this.table.copyToken(right, this.pairBytes, leftLength);
    const compatible = mergePiece(this.table, this.pairBytes, 0, length, this.scratch) === 2 && this.scratch.bounds[1] === leftLength;
    if (++this.cachedPairs > CACHED_PAIRS / 2) {
      // Full enough that probes grow long: start again (a piece rarely needs more than a few hundred pairs).
      this.cachedLeft.fill(-1);
      this.cachedPairs = 1;
      slot = (Math.imul(left, 0x9e3779b1) ^ Math.imul(right, 0x85ebca6b)) >>> 16;
    }
    this.cachedLeft[slot] = left;
    this.cachedRight[slot] = right;
    this.cachedAnswer[slot] = compatible ? 1 : 2;
    return compatible;
  }
}
