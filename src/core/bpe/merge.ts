/**
 * Byte-pair merging of one pre-tokenised piece, as tiktoken defines it: start from single
 * bytes, repeatedly merge the adjacent pair whose concatenation has the lowest rank (the
 * leftmost on a tie), stop when no adjacent pair has a rank.
 *
 * This direct form costs O(n²) in the piece's length n, so it is used for short pieces
 * (and for the two-token checks of `long-piece.ts`); longer ones go to `long-piece.ts`.
 */
import type { RankTable } from './rank-table.js';

/** Reusable work arrays, grown on demand; one per counter (never shared between threads). */
export class MergeScratch {
  bounds = new Int32Array(256);
  pairRanks = new Int32Array(256);

  fit(parts: number): void {
    if (this.bounds.length > parts) return;
    const size = Math.max(parts + 1, this.bounds.length * 2);
    this.bounds = new Int32Array(size);
    this.pairRanks = new Int32Array(size);
  }
}

/**
 * Merges `bytes[start, end)` and returns the number of tokens. On return
 * `scratch.bounds[0..count]` holds the token boundaries.
 */
export function mergePiece(table: RankTable, bytes: Uint8Array, start: number, end: number, scratch: MergeScratch): number {
  let parts = end - start;
  scratch.fit(parts);
  const bounds = scratch.bounds;
  const pairRanks = scratch.pairRanks;
  for (let i = 0; i <= parts; i++) bounds[i] = start + i;
  for (let i = 0; i < parts - 1; i++) pairRanks[i] = table.rank(bytes, bounds[i]!, bounds[i + 2]!);

  while (parts > 1) {
    let best = -1;
    let bestRank = 0x7fffffff;
    for (let i = 0; i < parts - 1; i++) {
      const rank = pairRanks[i]!;
      if (rank >= 0 && rank < bestRank) {
        bestRank = rank;
        best = i;
      }
    }
    if (best < 0) break;
    // Parts `best` and `best + 1` become one: drop the boundary between them.
    bounds.copyWithin(best + 1, best + 2, parts + 1);
    pairRanks.copyWithin(best + 1, best + 2, parts - 1);
    parts--;
    if (best < parts - 1) pairRanks[best] = table.rank(bytes, bounds[best]!, bounds[best + 2]!);
    if (best > 0) pairRanks[best - 1] = table.rank(bytes, bounds[best - 1]!, bounds[best + 1]!);
  }
  return parts;
}
