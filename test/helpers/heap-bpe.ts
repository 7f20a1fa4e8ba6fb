/**
 * An independent reference for byte-pair counts of long pieces, where js-tiktoken (quadratic)
 * cannot serve: the textbook heap form of the same merge rule (lowest rank first, leftmost
 * on a tie), O(n log n), with its own rank map built from js-tiktoken's rank data. Slow and
 * memory-hungry (about 40 bytes per byte), so for tests only.
 */
import type { RankData } from '../../src/core/bpe/rank-table.js';

export function rankMapOf(data: RankData): Map<string, number> {
  const ranks = new Map<string, number>();
  for (const line of data.bpe_ranks.split('\n')) {
    if (!line) continue;
    const [, first, ...tokens] = line.split(' ');
    for (const [i, token] of tokens.entries()) ranks.set(atob(token), Number(first) + i);
  }
  return ranks;
}

/** Tokens in one pre-tokenised piece (its UTF-8 bytes), merged without the whole-piece short cut. */
export function heapMergeCount(ranks: Map<string, number>, bytes: Uint8Array): number {
  const n = bytes.length;
  if (n <= 1) return n;
  const key = (from: number, to: number): number => {
    if (to - from > 128) return -1;
    let text = '';
    for (let i = from; i < to; i++) text += String.fromCharCode(bytes[i]!);
    return ranks.get(text) ?? -1;
  };
  // Parts are identified by their start byte; a linked list in start order.
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const pairRank = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    next[i] = i + 1;
    prev[i] = i - 1;
  }
  const alive = new Uint8Array(n).fill(1);
  const heap: number[] = [];
  const SHIFT = 2 ** 26;
  const push = (rank: number, start: number): void => {
    heap.push(rank * SHIFT + start);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]! <= heap[i]!) break;
      [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
      i = parent;
    }
  };
  const pop = (): number => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && heap[l]! < heap[m]!) m = l;
        if (r < heap.length && heap[r]! < heap[m]!) m = r;
        if (m === i) break;
        [heap[m], heap[i]] = [heap[i]!, heap[m]!];
        i = m;
      }
    }
    return top;
  };
  const endOf = (start: number): number => next[start]!; // start of the following part (or n)
  const setPair = (start: number): void => {
    const following = next[start]!;
    pairRank[start] = following >= n ? -1 : key(start, endOf(following));
    if (pairRank[start]! >= 0) push(pairRank[start]!, start);
  };
  for (let i = 0; i < n - 1; i++) setPair(i);
  pairRank[n - 1] = -1;
  let parts = n;
  while (heap.length > 0) {
    const entry = pop();
    const rank = Math.floor(entry / SHIFT);
    const start = entry - rank * SHIFT;
    if (!alive[start] || pairRank[start] !== rank) continue;
    const absorbed = next[start]!;
    alive[absorbed] = 0;
    next[start] = next[absorbed]!;
    if (next[start]! < n) prev[next[start]!] = start;
    parts--;
    setPair(start);
    if (prev[start]! >= 0) setPair(prev[start]!);
  }
  return parts;
}
