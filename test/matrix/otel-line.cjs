'use strict';
/**
 * Which OpenTelemetry packages a matrix cell really loaded. The cells of a second
 * OpenTelemetry line (test/otel-next: sdk-node 0.30x, api 1.10) must load every
 * @opentelemetry package from that tree: a silent fallback to the repository's own copies
 * would test the old line twice, and a second copy of @opentelemetry/api would leave the
 * instrumentation talking to a registry nobody reads (it records nothing, and says nothing).
 *
 * What was loaded comes as edges `{ from, to }` (absolute file paths): from a resolve hook in
 * a running cell (`watchLoads`), or from esbuild's metafile for a bundle.
 */
const { readFileSync } = require('node:fs');
const { join, sep } = require('node:path');
const { fileURLToPath } = require('node:url');

/**
 * Starts recording every module resolution of this process (`require` and `import`).
 * Needs `module.registerHooks` (Node 22.15 and later, the only Nodes the 0.30x line runs on).
 * @returns {() => { from: string, to: string }[]} the edges recorded so far
 */
function watchLoads() {
  const { registerHooks } = require('node:module');
  if (typeof registerHooks !== 'function') {
    throw new Error(`Node ${process.version} has no module.registerHooks: cannot tell which OpenTelemetry copies load`);
  }
  const edges = [];
  const pathOf = (url) => (typeof url === 'string' && url.startsWith('file:') ? fileURLToPath(url) : undefined);
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const resolved = nextResolve(specifier, context);
      const to = pathOf(resolved.url);
      if (to) edges.push({ from: pathOf(context.parentURL) ?? '', to });
      return resolved;
    },
  });
  return () => edges.slice();
}

/** The package a file belongs to: its name and folder, from the last `node_modules` in its path. */
function packageOf(file) {
  const marker = `${sep}node_modules${sep}`;
  const at = file.lastIndexOf(marker);
  if (at === -1) return undefined;
  const parts = file.slice(at + marker.length).split(sep);
  const name = parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  return { name, dir: file.slice(0, at + marker.length) + name.split('/').join(sep) };
}

const copyCount = (n) => (n === 1 ? 'one copy' : `${n} copies`);

function versionOf(dir) {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
}

/**
 * Checks the loads against the line's tree and describes them.
 * @param {{ from: string, to: string }[]} edges
 * @param {object} line
 * @param {string} line.tree the line's node_modules (test/otel-next/node_modules)
 * @param {string} line.ours this package's folder in the cell (`<cell>/node_modules/otel-llm-cost`)
 * @param {string} line.repoBuild the repository's dist/, which the cell must not load
 * @returns {{ summary: string, problems: string[] }}
 */
function inspectLoads(edges, line) {
  const loaded = new Map(); // package folder -> name
  const ourImports = new Set(); // folders of the @opentelemetry/instrumentation this package loaded
  const problems = [];
  const inside = (file, dir) => file === dir || file.startsWith(dir + sep);
  for (const { from, to } of edges) {
    const target = packageOf(to);
    if (target?.name.startsWith('@opentelemetry/')) {
      loaded.set(target.dir, target.name);
      if (target.name === '@opentelemetry/instrumentation' && inside(from, line.ours)) ourImports.add(target.dir);
    }
    if (inside(to, line.repoBuild)) problems.push(`the repository's build was loaded (${to}), not the cell's copy`);
  }
  if (!edges.some(({ to }) => inside(to, line.ours))) problems.push(`otel-llm-cost was not loaded from ${line.ours}`);

  const copies = (name) => [...loaded].filter(([, n]) => n === name).map(([dir]) => dir);
  const expect = (name, dirs, role) => {
    const wanted = join(line.tree, ...name.split('/'));
    if (dirs.length !== 1 || dirs[0] !== wanted) {
      problems.push(
        `${role}: expected one copy, ${wanted} (${versionOf(wanted)}); loaded ${dirs.length === 0 ? 'none' : dirs.map((d) => `${d} (${versionOf(d)})`).join(', ')}`,
      );
    }
    return versionOf(wanted);
  };
  const sdkNode = expect('@opentelemetry/sdk-node', copies('@opentelemetry/sdk-node'), '@opentelemetry/sdk-node');
  const instrumentation = expect('@opentelemetry/instrumentation', [...ourImports], "otel-llm-cost's @opentelemetry/instrumentation");
  const api = expect('@opentelemetry/api', copies('@opentelemetry/api'), '@opentelemetry/api');
  for (const [dir, name] of loaded) {
    if (!inside(dir, line.tree)) problems.push(`${name} ${versionOf(dir)} loaded from outside ${line.tree}: ${dir}`);
  }
  const others = copies('@opentelemetry/instrumentation').filter((dir) => !ourImports.has(dir));
  const besides = others.length > 0 ? ` (sdk-node's own: ${others.map(versionOf).join(', ')})` : '';
  return {
    summary: `sdk-node ${sdkNode}, instrumentation ${instrumentation}${besides}, api ${api} (${copyCount(copies('@opentelemetry/api').length)})`,
    problems,
  };
}

/** Adds the check to a cell's results and prints what was loaded. */
function checkLoads(results, edges, line) {
  const { summary, problems } = inspectLoads(edges, line);
  process.stdout.write(`MATRIX-OTEL ${summary}\n`);
  const name = `OpenTelemetry from ${line.tree}: ${summary}`;
  if (problems.length === 0) results.passed.push(name);
  else results.failed.push({ name, error: problems.join('\n') });
  return results;
}

module.exports = { watchLoads, inspectLoads, checkLoads, packageOf };
