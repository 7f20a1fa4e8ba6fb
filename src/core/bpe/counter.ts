/**
 * Exact token counts for one tiktoken encoding (o200k_base, cl100k_base), equal to
 * js-tiktoken's `encode(text, [], []).length` (special-token markers counted as text),
 * in time linear in the text's length whatever it holds.
 *
 * - Pre-tokenisation uses the encoding's own pattern, one match at a time. The patterns
 *   of both encodings are linear on long runs (measured on 6,000,000-character runs of
 *   letters, capitals, CJK, punctuation, spaces, newlines and base64: one pass each).
 * - A piece that is a token is one token (js-tiktoken's short cut, kept for equality).
 * - Pieces up to `LONG_PIECE_BYTES` are merged directly (`merge.ts`); longer ones by the
 *   linear prefix method (`long-piece.ts`), which gives the same count.
 *
 * Counting is a generator that yields every `CHARS_PER_STEP` characters or so, so a
 * caller can spread a long count over several turns of the event loop
 * (`tokenizer-slices.ts`); in the worker it simply runs to the end.
 */
import { LongPieceCounter } from './long-piece.js';
import { mergePiece, MergeScratch } from './merge.js';
import { RankTable, type RankData, type SharedRankTable } from './rank-table.js';
import { encodeUtf8, maxUtf8Bytes } from './utf8.js';

/**
 * Pieces longer than this many bytes use the linear method. The direct merge of a
 * 512-byte piece is ~0.1 M rank look-ups at worst (one `'a'` run), about a millisecond.
 */
const LONG_PIECE_BYTES = 512;
/** Characters of text between two yields. */
const CHARS_PER_STEP = 2048;

/** What another thread needs to count with a counter built here, its table shared. */
export interface SharedCounter {
  readonly table: SharedRankTable;
  readonly pattern: string;
}

export class BpeCounter {
  private readonly pattern: RegExp;
  private readonly scratch = new MergeScratch();
  private readonly pieceBytes: Uint8Array;
  private readonly longPieces: LongPieceCounter;
  /** Bytes above which a piece is counted by the linear method; never a whole token. */
  private readonly longPieceBytes: number;

  private constructor(
    private readonly table: RankTable,
    private readonly patternSource: string,
  ) {
    this.pattern = new RegExp(patternSource, 'gu');
    this.longPieces = new LongPieceCounter(table);
    this.longPieceBytes = Math.max(LONG_PIECE_BYTES, table.maxTokenBytes);
    this.pieceBytes = new Uint8Array(maxUtf8Bytes(this.longPieceBytes));
  }

  /** Builds a counter from js-tiktoken's rank data, yielding while the table is built. */
  static *build(data: RankData): Generator<void, BpeCounter> {
    const table = yield* RankTable.build(data);
    return new BpeCounter(table, data.pat_str);
  }

  /** A counter over a table another thread built, without building it again. */
  static fromShared(shared: SharedCounter): BpeCounter {
    return new BpeCounter(RankTable.fromShared(shared.table), shared.pattern);
  }

  toShared(): SharedCounter {
    return { table: this.table.toShared(), pattern: this.patternSource };
  }

  /** Tokens in `text`; yields every few thousand characters. */
  *count(text: string): Generator<void, number> {
    // A fresh regex state per count: a generator paused mid-count must not share lastIndex.
    const pattern = new RegExp(this.pattern);
    let total = 0;
    let sinceYield = 0;
    for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
      const piece = match[0];
      if (piece.length === 0) {
        pattern.lastIndex++;
        continue;
      }
      const start = match.index;
      const end = start + piece.length;
      if (maxUtf8Bytes(piece.length) <= this.pieceBytes.length) {
        const bytes = encodeUtf8(text, start, end, this.pieceBytes, 0);
        total += bytes > this.longPieceBytes ? yield* this.longPieces.count(text, start, end) : this.countShort(bytes);
      } else {
        total += yield* this.longPieces.count(text, start, end);
      }
      sinceYield += piece.length;
      if (sinceYield >= CHARS_PER_STEP) {
        sinceYield = 0;
        yield;
      }
    }
    return total;
  }

  /** Runs `count` to the end at once (in the worker, or for short texts). */
  countNow(text: string): number {
    const steps = this.count(text);
    for (;;) {
      const step = steps.next();
      if (step.done) return step.value;
    }
  }

  /** Tokens in the piece whose `bytes` bytes are in `pieceBytes`. */
  private countShort(bytes: number): number {
    if (bytes <= this.table.maxTokenBytes && this.table.rank(this.pieceBytes, 0, bytes) >= 0) return 1;
    return mergePiece(this.table, this.pieceBytes, 0, bytes, this.scratch);
  }
}
