/**
 * One batch of the Redis budget store: a bounded number of account scripts written
 * together (node-redis pipelines commands issued in the same tick), and the answer of
 * each. The batch's deadline is about Redis's silence, not the batch's length: it fails
 * only if Redis answered nothing about its outstanding scripts for `timeoutMs`, so a Redis
 * that is busy but working through the batch is never taken for one that is down, and
 * neither is a Redis whose answers wait in the socket while this process is busy.
 */
import type { BatchCommand, BudgetScript } from './redis-script.js';

/**
 * - `answered`: the script ran; the account's fleet total;
 * - `rejected`: Redis answered with an error about this account (its key holds another
 *   type, a script error): Redis is up, this account cannot be synced;
 * - `failed`: no usable answer: the connection, the server's state (OOM, LOADING, BUSY,
 *   READONLY…), or `timeout` when Redis stayed silent (the script may still be answered
 *   later: the `late` outcome then follows).
 */
export type ScriptOutcome =
  | { readonly kind: 'answered'; readonly totalNanos: number }
  | { readonly kind: 'rejected'; readonly error: unknown }
  | { readonly kind: 'failed'; readonly error: unknown }
  | { readonly kind: 'timeout' };

export interface BatchSummary {
  readonly answered: number;
  readonly rejected: number;
  readonly failed: number;
  readonly timedOut: number;
}

/**
 * Sends the commands and reports each outcome through `deliver` as it comes; resolves
 * once every command has an outcome, or Redis stayed silent for `timeoutMs` (the commands
 * still out are then delivered as `timeout`, and their real outcome later with
 * `late = true`).
 */
export function sendBatch(
  script: BudgetScript,
  commands: readonly BatchCommand[],
  timeoutMs: number,
  deliver: (index: number, outcome: ScriptOutcome, late: boolean) => void,
): Promise<BatchSummary> {
  return new Promise((resolve) => {
    const summary = { answered: 0, rejected: 0, failed: 0, timedOut: 0 };
    const open = new Set<number>();
    let over = false;
    let lastAnswerAt = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      over = true;
      if (timer) clearTimeout(timer);
      resolve(summary);
    };
    const settle = (index: number, outcome: ScriptOutcome) => {
      if (over) return deliver(index, outcome, true);
      open.delete(index);
      lastAnswerAt = Date.now();
      if (outcome.kind === 'answered') summary.answered++;
      else if (outcome.kind === 'rejected') summary.rejected++;
      else summary.failed++;
      deliver(index, outcome, false);
      if (open.size === 0) finish();
    };
    commands.forEach((command, index) => {
      open.add(index);
      script
        .apply(command, () => (lastAnswerAt = Date.now()))
        .then(
          (totalNanos) => settle(index, { kind: 'answered', totalNanos }),
          (error: unknown) => settle(index, isAccountError(error) ? { kind: 'rejected', error } : { kind: 'failed', error }),
        );
    });
    if (open.size === 0) return finish();
    // This process's own stalls must not count as Redis's silence. The clients write what was
    // sent in a setImmediate (node-redis does): the clock starts once that ran. And when the
    // deadline fires (perhaps late, after a long task), the answers that arrived meanwhile
    // are still unread in the socket; the poll phase that follows reads them, before
    // setImmediate runs: only if none came is Redis silent.
    const expire = () => {
      const firedAt = Date.now();
      setImmediate(() => {
        if (over) return;
        if (lastAnswerAt >= firedAt || firedAt - lastAnswerAt < timeoutMs) {
          timer = setTimeout(expire, Math.max(1, timeoutMs - (Date.now() - lastAnswerAt)));
          return;
        }
        for (const index of open) {
          summary.timedOut++;
          deliver(index, { kind: 'timeout' }, false);
        }
        finish();
      });
    };
    setImmediate(() => {
      if (over) return;
      lastAnswerAt = Math.max(lastAnswerAt, Date.now());
      timer = setTimeout(expire, timeoutMs);
    });
  });
}

/**
 * Error replies about the command's own keys or script (`WRONGTYPE`, `ERR …`), as opposed to
 * the server's state (`OOM`, `LOADING`, `BUSY`, `READONLY`, `MASTERDOWN`…) or the connection.
 */
function isAccountError(error: unknown): boolean {
  return error instanceof Error && /^(WRONGTYPE|ERR) /.test(error.message);
}
