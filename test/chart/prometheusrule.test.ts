/**
 * The chart's PrometheusRule: rendered by the real helm, checked by `promtool check
 * rules` (expressions and annotation templates parse) and unit-tested with `promtool
 * test rules` on the synthetic series of promtool/alerts.test.yaml (each alert fires
 * when it should, with the labels and summary it should, and stays quiet otherwise).
 * promtool comes from Debian's `prometheus` package (scripts/install-test-deps.sh).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it, type TestContext } from 'node:test';
import { parse, stringify } from 'yaml';
import { skipCluster, startCluster, type TestCluster } from '../cluster/harness.js';
import { ROOT, find, parseObjects, template } from './helpers.js';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface Group {
  name: string;
  rules: Rule[];
}

/** Every alert the rule ships; the promtool tests cover each one. */
const ALERTS = [
  'WsgateProxyDown',
  'WsgateProxyReplicasUnavailable',
  'WsgateHandshakeRefusals',
  'WsgateUpstreamErrors',
  'WsgateCertificateExpiringSoon',
  'WsgateCertificateExpired',
  'WsgateOperatorDown',
  'WsgateOperatorNoLeader',
  'WsgateOperatorReconcileErrors',
  'WsgateOperatorNotReconciling',
];

const TESTS = join(ROOT, 'test', 'chart', 'promtool', 'alerts.test.yaml');

function promtool(args: string[], cwd: string): { code: number; out: string } {
  const res = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (res.error) {
    throw new Error(
      `promtool: ${res.error.message} (install Debian's prometheus package: scripts/install-test-deps.sh)`,
    );
  }
  return { code: res.status ?? -1, out: `${res.stdout}${res.stderr}` };
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'wsgate-rules-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** spec.groups of the PrometheusRule rendered with `args`. */
async function renderGroups(cluster: TestCluster, args: string[]): Promise<Group[]> {
  const objects = parseObjects(await template(cluster, 'wsgate', 'wsgate-system', args));
  const rule = find(objects, 'PrometheusRule');
  return (rule['spec'] as { groups: Group[] }).groups;
}

describe('PrometheusRule', { skip: skipCluster, timeout: 300_000 }, () => {
  let cluster: TestCluster;
  let groups: Group[];
  before(async () => {
    cluster = await startCluster();
    groups = await renderGroups(cluster, ['--set', 'metrics.prometheusRule.enabled=true']);
  });

  it('is not rendered unless enabled', async () => {
    const objects = parseObjects(await template(cluster, 'wsgate', 'wsgate-system'));
    assert.equal(objects.filter((o) => o.kind === 'PrometheusRule').length, 0);
  });

  it('ships every alert, each with a severity, a summary and a description', () => {
    const rules = groups.flatMap((g) => g.rules);
    assert.deepEqual(rules.map((r) => r.alert).sort(), [...ALERTS].sort());
    for (const r of rules) {
      assert.match(r.labels?.['severity'] ?? '', /^(warning|critical)$/, `${r.alert} severity`);
      assert.ok(r.annotations?.['summary'], `${r.alert} has no summary`);
      assert.ok(r.annotations?.['description'], `${r.alert} has no description`);
    }
  });

  it('passes promtool check rules (expressions and annotation templates)', (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups }));
    const res = promtool(['check', 'rules', 'rules.yaml'], dir);
    assert.equal(res.code, 0, res.out);
    assert.match(res.out, new RegExp(`SUCCESS: ${ALERTS.length} rules found`));
  });

  it('fires each alert on the synthetic series of promtool/alerts.test.yaml, and only then', (t) => {
    const dir = tempDir(t);
    // Descriptions are prose; the tests pin the summaries, which carry the labels.
    const summaries = groups.map((g) => ({
      ...g,
      rules: g.rules.map((r) => ({ ...r, annotations: { summary: r.annotations!['summary']! } })),
    }));
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups: summaries }));
    const tests = parse(readFileSync(TESTS, 'utf8')) as {
      tests: Array<{ alert_rule_test: Array<{ alertname: string }> }>;
    };
    const tested = new Set(tests.tests.flatMap((c) => c.alert_rule_test.map((a) => a.alertname)));
    assert.deepEqual([...tested].sort(), [...ALERTS].sort(), 'every alert has a promtool test');
    writeFileSync(join(dir, 'alerts.test.yaml'), readFileSync(TESTS, 'utf8'));
    const res = promtool(['test', 'rules', 'alerts.test.yaml'], dir);
    assert.equal(res.code, 0, res.out);
    assert.match(res.out, /SUCCESS/);
  });

  it('drops the leader alert without leader election, and takes thresholds and selectors from values', async () => {
    const custom = await renderGroups(cluster, [
      '--set',
      'metrics.prometheusRule.enabled=true',
      '--set',
      'leaderElection.enabled=false',
      // --set turns 0.5 into a string; --set-json keeps it a number.
      '--set-json',
      'metrics.prometheusRule.refusedRatio=0.5',
      '--set',
      'metrics.prometheusRule.certificateExpiryDays=30',
      '--set-string',
      'metrics.prometheusRule.proxyTargets=job=~"wsgate-.*"',
      '--set-string',
      'metrics.prometheusRule.operatorTargets=job="wsgate-operator"',
      '--set',
      'metrics.prometheusRule.alertLabels.team=consoles',
    ]);
    const rules = new Map(custom.flatMap((g) => g.rules).map((r) => [r.alert, r]));
    assert.equal(rules.has('WsgateOperatorNoLeader'), false);
    assert.match(rules.get('WsgateHandshakeRefusals')!.expr, /> 0\.5\n/);
    assert.match(rules.get('WsgateCertificateExpiringSoon')!.expr, /< 30 \* 86400/);
    assert.equal(rules.get('WsgateProxyDown')!.expr, 'up{job=~"wsgate-.*"} == 0');
    assert.equal(rules.get('WsgateOperatorDown')!.expr, 'absent(up{job="wsgate-operator"} == 1)');
    for (const r of rules.values()) assert.equal(r.labels?.['team'], 'consoles', r.alert);
  });
});
