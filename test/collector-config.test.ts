/**
 * The shipped collector-config.yaml, checked structurally: every pipeline names receivers,
 * processors and exporters that are defined, every component type exists in the
 * OpenTelemetry Collector contrib distribution, and the pieces the stack relies on are
 * there. The file is written in a restricted YAML style (nested block mappings, scalars,
 * `[a, b]` lists, comments), read here by a small purpose-built reader rather than a
 * YAML library.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';

const root = resolve(__dirname, '..');
const configText = readFileSync(resolve(root, 'collector-config.yaml'), 'utf8');

type YamlValue = string | string[] | YamlMap;
interface YamlMap {
  [key: string]: YamlValue;
}

/** Reads the restricted YAML subset; throws on anything outside it, so the style stays checkable. */
function readRestrictedYaml(text: string): YamlMap {
  const rootMap: YamlMap = {};
  const stack: Array<{ indent: number; map: YamlMap }> = [{ indent: -1, map: rootMap }];
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\s+#.*$/, '').trimEnd();
    if (line.trim() === '' || line.trim().startsWith('#')) return;
    const match = /^( *)([A-Za-z0-9_./-]+):(?: (.*))?$/.exec(line);
    assert.ok(match, `collector-config.yaml line ${index + 1} is outside the restricted style: ${raw}`);
    const [, spaces = '', key = '', rest] = match;
    const indent = spaces.length;
    while (stack.length > 1 && stack[stack.length - 1]!.indent >= indent) stack.pop();
    const parent = stack[stack.length - 1]!.map;
    assert.ok(!(key in parent), `duplicate key ${key} on line ${index + 1}`);
    if (rest === undefined || rest === '') {
      const child: YamlMap = {};
      parent[key] = child;
      stack.push({ indent, map: child });
    } else if (rest.startsWith('[')) {
      assert.ok(rest.endsWith(']'), `unclosed list on line ${index + 1}`);
      const inner = rest.slice(1, -1).trim();
      parent[key] = inner === '' ? [] : inner.split(',').map((item) => item.trim());
    } else {
      parent[key] = rest.replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1');
    }
  });
  return rootMap;
}

function mapAt(map: YamlMap, ...path: string[]): YamlMap {
  let current: YamlValue = map;
  for (const key of path) {
    assert.ok(typeof current === 'object' && !Array.isArray(current), `${path.join('.')}: not a mapping`);
    const next: YamlValue | undefined = current[key];
    assert.ok(next !== undefined, `${path.join('.')}: missing`);
    current = next;
  }
  assert.ok(typeof current === 'object' && !Array.isArray(current), `${path.join('.')}: not a mapping`);
  return current;
}

function listAt(map: YamlMap, key: string, where: string): string[] {
  const value = map[key];
  assert.ok(Array.isArray(value), `${where}.${key}: expected a [list]`);
  return value;
}

/** Component types of the contrib distribution this config may use (a subset of its manifest). */
const CONTRIB_COMPONENTS = {
  receivers: new Set(['otlp', 'prometheus', 'hostmetrics']),
  processors: new Set(['batch', 'memory_limiter', 'resource', 'attributes', 'filter', 'transform']),
  exporters: new Set(['otlp', 'otlphttp', 'prometheus', 'prometheusremotewrite', 'debug']),
  extensions: new Set(['health_check', 'pprof', 'zpages']),
} as const;

/** `otlp/jaeger` is an `otlp` exporter named `jaeger`. */
const typeOf = (id: string): string => id.split('/')[0]!;

const config = readRestrictedYaml(configText);

describe('collector-config.yaml', () => {
  it('defines only components of the contrib distribution', () => {
    for (const kind of ['receivers', 'processors', 'exporters', 'extensions'] as const) {
      for (const id of Object.keys(mapAt(config, kind))) {
        assert.ok(CONTRIB_COMPONENTS[kind].has(typeOf(id)), `${kind}: ${id} is not an otelcol-contrib component`);
      }
    }
  });

  it('every pipeline and the service name defined components only', () => {
    const service = mapAt(config, 'service');
    const extensions = mapAt(config, 'extensions');
    for (const id of listAt(service, 'extensions', 'service')) assert.ok(id in extensions, `extension ${id} is not defined`);

    const pipelines = mapAt(service, 'pipelines');
    assert.deepEqual(Object.keys(pipelines).map(typeOf).sort(), ['metrics', 'traces']);
    for (const [name, pipeline] of Object.entries(pipelines)) {
      assert.ok(typeof pipeline === 'object' && !Array.isArray(pipeline), `pipeline ${name}`);
      for (const kind of ['receivers', 'processors', 'exporters'] as const) {
        const defined = mapAt(config, kind);
        const used = listAt(pipeline, kind, `service.pipelines.${name}`);
        assert.ok(used.length > 0 || kind === 'processors', `pipeline ${name} has no ${kind}`);
        for (const id of used) assert.ok(id in defined, `pipeline ${name}: ${kind.slice(0, -1)} ${id} is not defined`);
      }
      // memory_limiter must see data first to protect the batch processor behind it.
      assert.deepEqual(listAt(pipeline, 'processors', name), ['memory_limiter', 'batch'], `pipeline ${name} processors`);
    }
  });

  it('receives OTLP over gRPC and HTTP, sends traces to Jaeger over OTLP and metrics to a Prometheus endpoint', () => {
    const protocols = mapAt(config, 'receivers', 'otlp', 'protocols');
    assert.equal(mapAt(protocols, 'grpc')['endpoint'], '0.0.0.0:4317');
    assert.equal(mapAt(protocols, 'http')['endpoint'], '0.0.0.0:4318');

    const pipelines = mapAt(config, 'service', 'pipelines');
    const traceExporters = listAt(mapAt(pipelines, 'traces'), 'exporters', 'traces');
    const jaeger = traceExporters.find((id) => typeOf(id) === 'otlp');
    assert.ok(jaeger, 'traces go to an otlp exporter');
    assert.match(String(mapAt(config, 'exporters', jaeger)['endpoint']), /^jaeger:4317$/);

    assert.deepEqual(listAt(mapAt(pipelines, 'metrics'), 'exporters', 'metrics'), ['prometheus']);
    const prometheusEndpoint = String(mapAt(config, 'exporters', 'prometheus')['endpoint']);
    const port = prometheusEndpoint.split(':').at(-1);
    const scrapeConfig = readFileSync(resolve(root, 'deploy/prometheus/prometheus.yml'), 'utf8');
    assert.ok(scrapeConfig.includes(`'otel-collector:${port}'`), `deploy/prometheus/prometheus.yml scrapes the collector on :${port}`);

    assert.ok('health_check' in mapAt(config, 'extensions'), 'health_check extension');
    assert.ok(mapAt(config, 'processors', 'memory_limiter')['limit_percentage'], 'memory_limiter has a limit');
  });

  it('offers remote write as a commented alternative', () => {
    assert.match(configText, /^ {2}# prometheusremotewrite:\n {2}# {3}endpoint: http:\/\/prometheus:9090\/api\/v1\/write$/m);
    assert.ok(!('prometheusremotewrite' in mapAt(config, 'exporters')), 'remote write stays commented out');
  });

  it('is the file the compose stack mounts into the Collector', () => {
    const compose = readFileSync(resolve(root, 'deploy/docker-compose.yaml'), 'utf8');
    assert.match(compose, /image: otel\/opentelemetry-collector-contrib:/);
    assert.match(compose, /- \.\.\/collector-config\.yaml:\/etc\/otelcol-contrib\/config\.yaml:ro/);
  });
});
