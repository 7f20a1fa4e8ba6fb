/**
 * collector-config.yaml, checked structurally: every pipeline names components that are
 * defined, and every component is one the Collector contrib distribution ships.
 * The file is written in a plain block style, so a few lines of parsing suffice.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';

const CONTRIB_COMPONENTS: Record<string, string[]> = {
  receivers: ['otlp', 'prometheus', 'hostmetrics'],
  processors: ['batch', 'memory_limiter', 'resource', 'attributes', 'filter'],
  exporters: ['otlp', 'otlphttp', 'prometheus', 'prometheusremotewrite', 'debug'],
  extensions: ['health_check', 'pprof', 'zpages'],
};

/** Top-level section → its direct children (keys indented by two spaces). */
function sections(yaml: string): Map<string, string[]> {
  const result = new Map<string, string[]>();
  let current: string | undefined;
  for (const line of yaml.split('\n')) {
    if (/^\s*#/.test(line) || line.trim() === '') continue;
    const top = /^([a-z_]+):\s*$/.exec(line);
    if (top) {
      current = top[1]!;
      result.set(current, []);
      continue;
    }
    const child = /^ {2}([a-z_/]+):/.exec(line);
    if (child && current) result.get(current)!.push(child[1]!);
  }
  return result;
}

const yaml = readFileSync(join(__dirname, '..', 'collector-config.yaml'), 'utf8');
const defined = sections(yaml);

it('every component is one the contrib distribution ships', () => {
  for (const kind of Object.keys(CONTRIB_COMPONENTS)) {
    for (const name of defined.get(kind) ?? []) {
      const type = name.split('/')[0]!;
      assert.ok(CONTRIB_COMPONENTS[kind]!.includes(type), `${kind}.${name}`);
    }
  }
});

it('every pipeline names defined receivers, processors and exporters', () => {
  const pipelines = [...yaml.matchAll(/^ {4}(traces|metrics|logs):\n((?: {6}.*\n?)+)/gm)];
  assert.deepEqual(pipelines.map((p) => p[1]).sort(), ['metrics', 'traces']);
  for (const [, name, body] of pipelines) {
    for (const [, kind, list] of body!.matchAll(/ {6}(receivers|processors|exporters): \[([^\]]*)\]/g)) {
      const names = list!.split(',').map((s) => s.trim()).filter(Boolean);
      assert.ok(names.length > 0, `${name}.${kind} is empty`);
      for (const component of names) assert.ok(defined.get(kind!)?.includes(component), `${name} uses undefined ${kind} ${component}`);
    }
  }
  const extensions = /^ {2}extensions: \[([^\]]*)\]/m.exec(yaml)?.[1]?.split(',').map((s) => s.trim()) ?? [];
  for (const extension of extensions) assert.ok(defined.get('extensions')?.includes(extension), extension);
});

it('traces go to Jaeger over OTLP and metrics to a Prometheus endpoint', () => {
  assert.match(yaml, /traces:\n(?: {6}.*\n)*? {6}exporters: \[otlp\/jaeger\]/);
  assert.match(yaml, /metrics:\n(?: {6}.*\n)*? {6}exporters: \[prometheus\]/);
  assert.match(yaml, /otlp:\n {4}protocols:\n {6}grpc:/);
});
