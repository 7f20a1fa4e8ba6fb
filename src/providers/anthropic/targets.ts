/**
 * Where @anthropic-ai/sdk is hooked: `Messages.prototype.create` and its beta twin. The
 * `messages.stream()` helpers, `BetaMessageThread` and the tool runner all call them.
 */
import { exportedClass, prototypeWith, type PatchTarget } from '../../core/patch-target.js';
import { planMessage } from './messages.js';

export const ANTHROPIC_MODULE = '@anthropic-ai/sdk';
export const ANTHROPIC_VERSIONS = ['>=0.20.0 <2'];

export function anthropicTargets(moduleExports: unknown): PatchTarget[] {
  const Anthropic = exportedClass(moduleExports, 'Anthropic');
  const targets: PatchTarget[] = [];
  const messages = prototypeWith(Anthropic, ['Messages'], 'create');
  if (messages) targets.push({ owner: messages, method: 'create', plan: planMessage, label: 'messages.create' });
  const beta = prototypeWith(Anthropic, ['Beta', 'Messages'], 'create');
  if (beta) targets.push({ owner: beta, method: 'create', plan: planMessage, label: 'beta.messages.create' });
  return targets;
}
