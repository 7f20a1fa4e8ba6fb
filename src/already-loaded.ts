/**
 * An SDK required before the instrumentation was enabled: the module hooks fire only on a
 * later `require`, so without this its requests would simply never be recorded, without a
 * word (the most common setup mistake: `new LLMCostInstrumentation()` in a file that runs
 * after the one importing `openai`).
 *
 * At enable time the CommonJS module cache is searched for each SDK's entry file; a copy
 * found there is instrumented as `patch()` would (its request methods live on shared
 * prototypes, so clients created before are covered too), after the same version check as
 * the hooks, and `diag` says once which module was loaded early and how to avoid it. An ES
 * module import that ran earlier is not in that cache and cannot be found: the warning's
 * advice is the only remedy there.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';

export interface LoadedModule {
  /** The entry file, as in `require.cache`. */
  readonly path: string;
  readonly exports: unknown;
  /** From the package.json next to it; undefined when it cannot be read. */
  readonly version: string | undefined;
}

/** Copies of package `name` whose entry file (`<name>/index.js`) is in the CommonJS cache. */
export function loadedCopies(name: string, cache: NodeJS.Dict<NodeJS.Module> | undefined = commonJsCache()): LoadedModule[] {
  if (!cache) return [];
  const entry = `${sep}node_modules${sep}${name.split('/').join(sep)}${sep}index.js`;
  const copies: LoadedModule[] = [];
  for (const [path, module] of Object.entries(cache)) {
    if (!module || !path.endsWith(entry) || !module.loaded) continue;
    copies.push({ path, exports: module.exports, version: versionNextTo(path) });
  }
  return copies;
}

/** Undefined where there is none: inside an ES module bundle, or a bundler's own `require`. */
function commonJsCache(): NodeJS.Dict<NodeJS.Module> | undefined {
  return typeof require === 'function' && typeof require.cache === 'object' ? require.cache : undefined;
}

function versionNextTo(entry: string): string | undefined {
  try {
    const version = (JSON.parse(readFileSync(join(dirname(entry), 'package.json'), 'utf8')) as { version?: unknown }).version;
    return typeof version === 'string' ? version : undefined;
  } catch {
    return undefined;
  }
}

export function loadedEarlyMessage(name: string, copy: LoadedModule, instrumented: boolean): string {
  const outcome = instrumented ? 'it has been instrumented now, but requests already under way were not recorded' : 'its requests are not recorded';
  return (
    `${name}${copy.version ? `@${copy.version}` : ''} (${copy.path}) was loaded before the instrumentation was enabled: ${outcome}. ` +
    `Create and register the instrumentation (or start the OpenTelemetry SDK) before anything imports ${name}, ` +
    `for example in a file loaded with \`node --require\` or \`--import\`, or call instrumentation.patch(require('${name}')).`
  );
}
