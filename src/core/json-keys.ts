/**
 * Counts the top-level keys of a JSON object that arrives in pieces (a streamed tool
 * call's arguments), without keeping the text: each top-level key is followed by exactly
 * one `:` outside strings at depth 1.
 */
export class TopLevelKeyCounter {
  keys = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;

  feed(piece: string): void {
    for (let i = 0; i < piece.length; i++) {
      const c = piece.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c /* \ */) this.escaped = true;
        else if (c === 0x22 /* " */) this.inString = false;
      } else if (c === 0x22) this.inString = true;
      else if (c === 0x7b /* { */ || c === 0x5b /* [ */) this.depth++;
      else if (c === 0x7d /* } */ || c === 0x5d /* ] */) this.depth--;
      else if (c === 0x3a /* : */ && this.depth === 1) this.keys++;
    }
  }
}
