/**
 * The shape docs/architecture.md promises, checked on the source: runtime imports (not
 * `import type`) form no cycle, and the generic core depends on nothing outside itself but
 * the attribute names, so that budgets, pricing and providers plug into it and not the reverse.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, resolve } from 'node:path';
import { describe, it } from 'node:test';

const src = resolve(__dirname, '..', 'src');
const RUNTIME_IMPORT = /^(?:import|export)\s+(?!type\b)[^;]*?\bfrom\s+'(\.[^']+)'/gm;

function runtimeImports(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const entry of readdirSync(src, { recursive: true })) {
    const file = String(entry);
    if (!file.endsWith('.ts')) continue;
    const text = readFileSync(join(src, file), 'utf8');
    const targets = [...text.matchAll(RUNTIME_IMPORT)].map((m) => normalize(join(dirname(file), m[1]!.replace(/\.js$/, '.ts'))));
    graph.set(normalize(file), targets);
  }
  return graph;
}

/** Strongly connected components with more than one module (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component);
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('the import graph of src/', () => {
  const graph = runtimeImports();

  it('has no cycle', () => {
    assert.ok(graph.size > 50, `read ${graph.size} modules`);
    assert.deepEqual(cycles(graph), []);
  });

  it('core/ imports nothing outside core/ but semconv.ts', () => {
    const outside = [...graph]
      .filter(([file]) => file.startsWith('core/'))
      .flatMap(([file, targets]) => targets.filter((t) => !t.startsWith('core/') && t !== 'semconv.ts').map((t) => `${file} -> ${t}`));
    assert.deepEqual(outside, []);
  });

  it('providers/ and telemetry/ never import budget/', () => {
    const wrong = [...graph]
      .filter(([file]) => file.startsWith('providers/') || file.startsWith('telemetry/'))
      .flatMap(([file, targets]) => targets.filter((t) => t.startsWith('budget/')).map((t) => `${file} -> ${t}`));
    assert.deepEqual(wrong, []);
  });
});
