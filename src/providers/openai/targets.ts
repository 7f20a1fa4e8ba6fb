/**
 * Where the openai SDK is hooked. Resources are class instances created by the client, and
 * their methods live on the prototypes in every major version (4 to 7), so a prototype
 * patch covers clients made before or after it, `withOptions()` copies and `AzureOpenAI`.
 * The chat `.stream()` and `runTools()` helpers call `chat.completions.create`; the
 * Responses `stream()` and `parse()` helpers call `responses.create`, or
 * `responses.retrieve(id, { stream: true })` to resume.
 */
import { exportedClass, prototypeWith, type PatchTarget } from '../../core/patch-target.js';
import type { VersionRange } from '../../core/version-range.js';
import { planChatCompletion } from './chat.js';
import { planCompletion } from './completions.js';
import { planEmbeddings } from './embeddings.js';
import { LiveResponses } from './live-responses.js';
import { responsesPlans, type ResponsesState } from './responses.js';
import { ResumeLedger } from './resume-ledger.js';

export const OPENAI_MODULE = 'openai';
/**
 * From 4.12.3 (4.12.2 was never published): before it, `Stream` has no `iterator` to observe, so
 * the usage we ask for could be neither read nor hidden, and the caller's loop would meet a
 * chunk with `choices: []` it never asked for. Older versions are left untouched, with one warning.
 */
export const OPENAI_VERSIONS: VersionRange = { min: [4, 12, 3], below: [8, 0, 0], text: '>=4.12.3 <8' };

/** What the openai hooks of one instrumentation instance remember across requests. */
export type OpenAIState = ResponsesState;

export function createOpenAIState(): OpenAIState {
  return { ledger: new ResumeLedger(), live: new LiveResponses() };
}

export function openaiTargets(moduleExports: unknown, state: OpenAIState): PatchTarget[] {
  const OpenAI = exportedClass(moduleExports, 'OpenAI');
  // Anthropic's class also has a `Completions` resource: without Chat this is not openai.
  if (!prototypeWith(OpenAI, ['Chat', 'Completions'], 'create')) return [];
  const targets: PatchTarget[] = [];
  const add = (path: readonly string[], method: string, plan: PatchTarget['plan'], label: string): void => {
    const owner = prototypeWith(OpenAI, path, method);
    if (owner) targets.push({ owner, method, plan, label });
  };
  add(['Chat', 'Completions'], 'create', planChatCompletion, 'chat.completions.create');
  const responses = responsesPlans(state);
  add(['Responses'], 'create', responses.create, 'responses.create');
  add(['Responses'], 'retrieve', responses.retrieve, 'responses.retrieve');
  add(['Responses'], 'cancel', responses.cancel, 'responses.cancel');
  add(['Completions'], 'create', planCompletion, 'completions.create');
  add(['Embeddings'], 'create', planEmbeddings, 'embeddings.create');
  return targets;
}

/** Whether `moduleExports` looks like the openai SDK (for the manual `patch()` path). */
export function isOpenAIModule(moduleExports: unknown): boolean {
  return prototypeWith(exportedClass(moduleExports, 'OpenAI'), ['Chat', 'Completions'], 'create') !== undefined;
}
