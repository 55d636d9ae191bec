/** The chart's generated templates stay in step with crds/ and operator/rbac/role.yaml. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { ROOT } from './helpers.js';

interface GeneratorModule {
  CRD_PATH: string;
  ROLE_PATH: string;
  CRD_OUT: string;
  RULES_OUT: string;
  generateAll(root?: string): Map<string, string>;
  generateCrd(text: string): string;
  generateRules(text: string): string;
}

const load = async () => (await import(join(ROOT, 'scripts/gen-chart.mjs'))) as GeneratorModule;
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** The body of `{{- define "name" }}…{{- end }}` in a generated template. */
function defineBody(text: string, name: string): string {
  const start = text.indexOf(`{{- define "${name}" }}\n`);
  assert.ok(start >= 0, `define ${name} is missing`);
  const body = text.slice(start).split('\n').slice(1);
  return body.slice(0, body.indexOf('{{- end }}')).join('\n');
}

describe('gen-chart', () => {
  test('the committed templates are what the sources generate (run node scripts/gen-chart.mjs)', async () => {
    const { generateAll } = await load();
    const outputs = generateAll(`${ROOT}/`);
    assert.equal(outputs.size, 2);
    for (const [path, content] of outputs) {
      assert.equal(read(path), content, `${path} is stale: run node scripts/gen-chart.mjs`);
    }
  });

  test('the CRD template carries the source spec unchanged, gated by crds.enabled', async () => {
    const { CRD_PATH, CRD_OUT } = await load();
    const source = parse(read(CRD_PATH), { maxAliasCount: -1 }) as { spec: unknown };
    const lines = read(CRD_OUT).split('\n');
    assert.equal(lines[1], '{{- if .Values.crds.enabled }}');
    assert.ok(lines.includes('  {{- if .Values.crds.keep }}'));
    assert.ok(lines.includes('    helm.sh/resource-policy: keep'));
    // The spec is plain YAML (no template actions): parse it back and compare.
    const spec = lines.slice(lines.indexOf('spec:') + 1, lines.lastIndexOf('{{- end }}'));
    assert.ok(!spec.some((l) => l.includes('{{')), 'spec contains template actions');
    assert.deepEqual((parse(['spec:', ...spec].join('\n')) as { spec: unknown }).spec, source.spec);
  });

  test('every role of role.yaml becomes a named rules template, verbatim', async () => {
    const { ROLE_PATH, RULES_OUT } = await load();
    const roles = parseAllDocuments(read(ROLE_PATH)).map(
      (d) => d.toJS() as { metadata: { name: string }; rules: unknown[] },
    );
    const out = read(RULES_OUT);
    const defines: Record<string, string> = {
      'wsgate-operator': 'wsgate.rules.operator',
      'wsgate-operator-secrets': 'wsgate.rules.secrets',
      'wsgate-operator-leader-election': 'wsgate.rules.leaderElection',
      'wsgate-operator-metrics-auth': 'wsgate.rules.metricsAuth',
      'wsgate-metrics-reader': 'wsgate.rules.metricsReader',
    };
    for (const role of roles) {
      const name = defines[role.metadata.name];
      assert.ok(name, `no template for ${role.metadata.name}`);
      assert.deepEqual(parse(defineBody(out, name)), role.rules);
    }
  });

  test('the cluster-scoped subset holds only cluster-scoped resources, read-only', async () => {
    const { RULES_OUT } = await load();
    const rules = parse(defineBody(read(RULES_OUT), 'wsgate.rules.clusterScoped')) as Array<{
      apiGroups: string[];
      resources: string[];
      verbs: string[];
    }>;
    const resources = rules.flatMap((r) => r.resources).sort();
    assert.deepEqual(resources, ['clusterissuers', 'customresourcedefinitions']);
    for (const r of rules) {
      for (const verb of r.verbs) assert.ok(['get', 'list', 'watch'].includes(verb), verb);
    }
  });

  test('refuses a role file whose roles are not the expected three', async () => {
    const { generateRules } = await load();
    assert.throws(
      () =>
        generateRules(
          'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: x}\nrules: []\n',
        ),
      /expected roles ClusterRole\/wsgate-operator/,
    );
  });

  test('template delimiters in a source are printed literally', async () => {
    const { generateCrd } = await load();
    const out = generateCrd(
      'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: xs.example.com}\nspec: {description: "a {{ b }}"}\n',
    );
    assert.match(out, /a \{\{ "\{\{" \}\} b \{\{ "\}\}" \}\}/);
  });
});
