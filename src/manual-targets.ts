/**
 * The patch targets for the manual path (`patch(moduleExports)`, `instrumentClient(client)`):
 * which SDK an object belongs to is told from its shape, since a bundled copy has no module
 * name or package.json to go by.
 */
import type { PatchTarget } from './core/patch-target.js';
import { isAnthropicModule } from './providers/anthropic/targets.js';
import { isOpenAIModule } from './providers/openai/targets.js';

/** The targets of each SDK, as one instrumentation instance builds them. */
export interface SdkTargets {
  openai(moduleExports: unknown): PatchTarget[];
  anthropic(moduleExports: unknown): PatchTarget[];
}

export function targetsOfModule(moduleExports: unknown, sdks: SdkTargets): PatchTarget[] {
  if (isOpenAIModule(moduleExports)) return sdks.openai(moduleExports);
  if (isAnthropicModule(moduleExports)) return sdks.anthropic(moduleExports);
  return [];
}

/**
 * A client's class carries the SDK's resource classes as statics (`OpenAI.Chat`,
 * `Anthropic.Messages`), inherited by subclasses such as `AzureOpenAI`, so the class stands
 * in for the module.
 */
export function targetsOfClient(client: unknown, sdks: SdkTargets): PatchTarget[] {
  if (typeof client !== 'object' || client === null) return [];
  const clientClass: unknown = (client as { constructor?: unknown }).constructor;
  if (typeof clientClass !== 'function') return [];
  return targetsOfModule({ default: clientClass }, sdks);
}
