/**
 * Where @anthropic-ai/sdk is hooked: `Messages.prototype.create` and its beta twin. The
 * `messages.stream()` helpers, `BetaMessageThread` and the tool runner all call them.
 * The `stream()` helpers are wrapped as well, without recording anything: they start the
 * SDK's own span (0.134 and later) before they call `create`, so the client's tracer has to
 * be dealt with there first (see `native-spans.ts`).
 */
import { exportedClass, prototypeWith, type PatchTarget } from '../../core/patch-target.js';
import type { VersionRange } from '../../core/version-range.js';
import { planMessage } from './messages.js';
import { quietNativeSpans, type NativeSpansMode } from './native-spans.js';

export const ANTHROPIC_MODULE = '@anthropic-ai/sdk';
export const ANTHROPIC_VERSIONS: VersionRange = { min: [0, 20, 0], below: [2, 0, 0], text: '>=0.20.0 <2' };

/** `nativeSpans` says, at each request, what happens to the SDK's own span for it. */
export function anthropicTargets(moduleExports: unknown, nativeSpans: () => NativeSpansMode): PatchTarget[] {
  const Anthropic = exportedClass(moduleExports, 'Anthropic');
  const targets: PatchTarget[] = [];
  const prepare = (resource: unknown) => quietNativeSpans(resource, nativeSpans);
  for (const [path, label] of [
    [['Messages'], 'messages'],
    [['Beta', 'Messages'], 'beta.messages'],
  ] as const) {
    const create = prototypeWith(Anthropic, path, 'create');
    if (create) targets.push({ owner: create, method: 'create', plan: planMessage, prepare, label: `${label}.create` });
    const stream = prototypeWith(Anthropic, path, 'stream');
    if (stream) targets.push({ owner: stream, method: 'stream', prepare, label: `${label}.stream` });
  }
  return targets;
}

/** Whether `moduleExports` looks like @anthropic-ai/sdk (for the manual `patch()` path). */
export function isAnthropicModule(moduleExports: unknown): boolean {
  return prototypeWith(exportedClass(moduleExports, 'Anthropic'), ['Messages'], 'create') !== undefined;
}
