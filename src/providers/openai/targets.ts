/**
 * Where the openai SDK is hooked. Resources are class instances created by the client, and
 * `create` lives on their prototypes in every major version (4 to 7), so a prototype patch
 * covers clients made before or after it, `withOptions()` copies and `AzureOpenAI`. The
 * `.stream()` and `runTools()` helpers all call `chat.completions.create`.
 */
import { exportedClass, prototypeWith, type PatchTarget } from '../../core/patch-target.js';
import { planChatCompletion } from './chat.js';

export const OPENAI_MODULE = 'openai';
export const OPENAI_VERSIONS = ['>=4.0.0 <8'];

export function openaiTargets(moduleExports: unknown): PatchTarget[] {
  const OpenAI = exportedClass(moduleExports, 'OpenAI');
  const targets: PatchTarget[] = [];
  const chat = prototypeWith(OpenAI, ['Chat', 'Completions'], 'create');
  if (chat) targets.push({ owner: chat, method: 'create', plan: planChatCompletion, label: 'chat.completions.create' });
  return targets;
}
