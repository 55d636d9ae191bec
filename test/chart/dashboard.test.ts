/**
 * The chart's Grafana dashboard against a real Prometheus: a real proxy (TLS, token file,
 * echo target) under traffic and a real operator reconciling a WebSocketProxy on the local
 * control plane, both scraped every second; the operator's secure /metrics over HTTPS with
 * a ServiceAccount token, as the chart's ServiceMonitor scrapes it. Every template variable is resolved the way
 * Grafana resolves it (label values through the HTTP API) and every panel's query, with
 * the variables substituted, must parse and return data. The ConfigMap the chart renders
 * carries the same JSON, labelled for Grafana's sidecar.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { WebSocket } from 'ws';
import { parseAllDocuments } from 'yaml';
import {
  adminConfig,
  createNamespace,
  runTool,
  skipCluster,
  startCluster,
  type TestCluster,
} from '../cluster/harness.js';
import { startPrometheus, type TestPrometheus } from '../helpers/prometheus.js';
import { openClient, receive, startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { startEchoServer, type TestServer } from '../helpers/servers.js';
import { issue } from '../helpers/tls.js';
import { adminClient, applyDocs, installCrd } from '../operator/kube.js';
import { inProcessOperator } from '../operator/operator-process.js';
import { proxy, tokenSecret } from '../operator/resources.js';
import { until } from '../operator/waits.js';
import type { RunningOperator } from '../../operator/src/operator.js';
import { selfSignedCert } from '../../operator/src/serving/cert.js';
import { CHART, ROOT, find, parseObjects, template } from './helpers.js';
import { sleep } from '../helpers/wait.js';

interface Target {
  refId: string;
  expr: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  targets?: Target[];
}
interface Variable {
  name: string;
  type: string;
  definition?: string;
}
interface Dashboard {
  panels: Panel[];
  templating: { list: Variable[] };
}

const DASHBOARD_FILE = join(CHART, 'dashboards', 'wsgate.json');
const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;

/** The labels prometheus-operator would give the scraped pods. */
const PROXY = { namespace: 'consoles-dash', pod: 'console-5d8f7-x2x9q', container: 'proxy' };
const PROXY_JOB = 'console-metrics';
const OPERATOR = { namespace: 'wsgate-system', pod: 'wsgate-operator-7c9d-abcde' };

/** What each variable must resolve to, given the scrape labels above. */
const EXPECTED: Record<string, string> = {
  namespace: PROXY.namespace,
  job: PROXY_JOB,
  pod: PROXY.pod,
  operator_namespace: OPERATOR.namespace,
  operator_pod: OPERATOR.pod,
};

/** Grafana's $__rate_interval is at least four scrape intervals; scrapes here are 1 s. */
const RATE_INTERVAL = '15s';

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `expr` with Grafana's variables replaced: regex-escaped values, as Grafana does for =~. */
function substitute(expr: string, values: Record<string, string>): string {
  return expr
    .replace(/\$__rate_interval|\$\{__rate_interval\}/g, RATE_INTERVAL)
    .replace(/\$\{?(\w+)\}?/g, (m, name: string) => {
      const v = values[name];
      assert.ok(v !== undefined, `unknown variable ${m} in ${expr}`);
      return escapeRegex(v);
    });
}

describe('Grafana dashboard', { skip: skipCluster, timeout: 300_000 }, () => {
  let cluster: TestCluster;
  let echo: TestServer;
  let wsgate: TestProxy;
  let operator: RunningOperator;
  let prometheus: TestPrometheus;
  let dir: string;
  let stopTraffic = false;
  let traffic: Promise<void>;
  let longSession: WebSocket;
  const cleanups: Array<() => Promise<unknown>> = [];

  before(async () => {
    cluster = await startCluster();
    dir = mkdtempSync(join(tmpdir(), 'wsgate-dashboard-'));
    echo = await startEchoServer();
    const cert = issue({ cn: 'localhost', dns: ['localhost'], ips: ['127.0.0.1'], days: 30 });
    writeFileSync(join(dir, 'tls.crt'), cert.cert);
    writeFileSync(join(dir, 'tls.key'), cert.key);
    writeFileSync(join(dir, 'tokens'), `vm1: 127.0.0.1:${echo.port}\n`);
    wsgate = await startTestProxy([
      '--token-file',
      join(dir, 'tokens'),
      '--tls-cert',
      join(dir, 'tls.crt'),
      '--tls-key',
      join(dir, 'tls.key'),
      '--log-level',
      'warn',
    ]);

    // The operator, limited to a namespace of its own, reconciling one WebSocketProxy.
    await installCrd(cluster);
    const ns = await createNamespace(cluster, undefined, 'dashboard');
    cleanups.push(() =>
      adminClient(cluster).then((c) => c.request('DELETE', `/api/v1/namespaces/${ns}`)),
    );
    // Its /metrics are secure, as the chart serves them: Prometheus scrapes over HTTPS
    // with a ServiceAccount token bound to the metrics-reader role, as the chart's
    // ServiceMonitor does (bearer token, self-signed certificate not verified).
    const readerRole = parseAllDocuments(
      readFileSync(join(ROOT, 'operator/rbac/role.yaml'), 'utf8'),
    )
      .map((d) => d.toJS() as { metadata: { name: string } })
      .find((r) => r.metadata.name === 'wsgate-metrics-reader')!;
    const readerBinding = `wsgate-metrics-reader-${ns}`;
    await applyDocs(cluster, [
      readerRole,
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'prometheus', namespace: ns } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: readerBinding, labels: { 'wsgate.dev/test': 'true' } },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'wsgate-metrics-reader',
        },
        subjects: [{ kind: 'ServiceAccount', name: 'prometheus', namespace: ns }],
      },
    ]);
    cleanups.push(() =>
      runTool(cluster, 'kubectl', [
        'delete',
        'clusterrolebinding',
        readerBinding,
        '--ignore-not-found',
      ]),
    );
    const token = await runTool(cluster, 'kubectl', [
      'create',
      'token',
      'prometheus',
      '-n',
      ns,
      '--duration=15m',
    ]);
    assert.equal(token.code, 0, token.stderr);
    operator = await inProcessOperator(
      adminConfig(cluster),
      {
        namespaces: [ns],
        defaultMetrics: true,
        healthListen: { host: '127.0.0.1', port: 0 },
        metricsSecure: { cert: selfSignedCert(['localhost', '127.0.0.1']) },
      },
      { after: (fn) => void cleanups.push(fn) },
    );
    await applyDocs(cluster, [tokenSecret(ns), proxy(ns, 'console')]);
    await until('a reconcile', async () =>
      (
        await operator.metrics.registry.getSingleMetricAsString(
          'controller_runtime_reconcile_total',
        )
      ).includes('result="success"')
        ? true
        : undefined,
    );

    prometheus = await startPrometheus([
      {
        name: PROXY_JOB,
        target: `127.0.0.1:${wsgate.metricsAddress!.port}`,
        labels: PROXY,
      },
      {
        name: 'wsgate',
        target: `127.0.0.1:${operator.metricsAddress.port}`,
        labels: { ...OPERATOR, container: 'operator' },
        scheme: 'https',
        bearerToken: token.stdout.trim(),
        insecureSkipVerify: true,
      },
    ]);

    // Traffic until the tests end: one long session, short sessions with data both ways,
    // and refused attempts (unknown token).
    const url = `wss://127.0.0.1:${wsgate.address.port}/?token=`;
    const tls = { ca: cert.cert };
    longSession = await openClient(`${url}vm1`, undefined, tls);
    traffic = (async () => {
      const deadline = Date.now() + 240_000;
      for (let i = 0; !stopTraffic && Date.now() < deadline; i++) {
        const ws = await openClient(`${url}vm1`, undefined, tls);
        ws.send(Buffer.alloc(16 * 1024, i));
        await receive(ws, 16 * 1024);
        ws.close();
        if (i % 3 === 0) await openClient(`${url}unknown`, undefined, tls).catch(() => undefined);
        await sleep(100);
      }
    })();
  });

  after(async () => {
    stopTraffic = true;
    await traffic?.catch(() => undefined);
    longSession?.terminate();
    await prometheus?.stop();
    await wsgate?.close?.();
    await echo?.close();
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('scrapes both targets, the operator over HTTPS with a ServiceAccount token', async () => {
    const targets = await until('both targets up', async () => {
      const all = await prometheus.targets();
      return all.length === 2 && all.every((t) => t.health === 'up') ? all : undefined;
    });
    assert.deepEqual(targets.map((t) => t.job).sort(), [PROXY_JOB, 'wsgate']);
  });

  it('resolves every template variable to the scraped pods', async () => {
    const values: Record<string, string> = {};
    for (const v of dashboard.templating.list) {
      if (v.type === 'datasource') continue;
      assert.equal(v.type, 'query', v.name);
      const m = /^label_values\((.+),\s*(\w+)\)$/.exec(v.definition ?? '');
      assert.ok(m, `${v.name}: not a label_values query: ${v.definition}`);
      const match = m[1]!.replace(/\$(\w+)/g, (_, n: string) => escapeRegex(values[n] ?? ''));
      const found = await until(`values of $${v.name}`, async () => {
        const got = await prometheus.labelValues(m[2]!, match);
        return got.length > 0 ? got : undefined;
      });
      assert.deepEqual(found, [EXPECTED[v.name]], `$${v.name}`);
      values[v.name] = found[0]!;
    }
    assert.deepEqual(Object.keys(values).sort(), Object.keys(EXPECTED).sort());
  });

  it('has a query for every panel; each parses and returns data', async () => {
    const panels = dashboard.panels.filter((p) => p.type !== 'row');
    assert.ok(panels.length >= 12, `${panels.length} panels`);
    for (const panel of panels) {
      assert.ok(panel.targets?.length, `panel ${panel.title} has no query`);
      for (const target of panel.targets!) {
        const expr = substitute(target.expr, EXPECTED);
        const answer = await until(
          `data for panel "${panel.title}" (${target.refId}): ${expr}`,
          async () => {
            const a = await prometheus.query(expr);
            // A parse error is final; an empty answer may only mean too few scrapes yet.
            assert.equal(a.httpStatus, 200, `${panel.title}: ${expr}: ${a.error}`);
            return a.result.length > 0 ? a : undefined;
          },
          60_000,
          1_000,
        );
        assert.equal(answer.status, 'success');
      }
    }
  });

  it('the proxy panels see the traffic: sessions open, bytes both ways, a certificate 30 days out', async () => {
    const q = async (expr: string) =>
      Number((await prometheus.query(substitute(expr, EXPECTED))).result[0]?.value?.[1]);
    await until('Prometheus to see the traffic', async () =>
      (await q('sum(wsgate_connections_active{pod=~"$pod"})')) >= 1 &&
      (await q('sum(wsgate_bytes_total{pod=~"$pod", direction="target_to_client"})')) > 0 &&
      (await q('sum(wsgate_connections_total{pod=~"$pod", result="unauthorized"})')) > 0
        ? true
        : undefined,
    );
    const expiry = dashboard.panels.find((p) => p.title === 'Certificate expiry')!;
    const left = await q(expiry.targets![0]!.expr);
    assert.ok(left > 29 * 86400 && left <= 30 * 86400, `expires in ${left} s`);
  });

  it('is shipped in a ConfigMap labelled for the Grafana sidecar, unchanged', async () => {
    const off = parseObjects(await template(cluster, 'wsgate', 'wsgate-system'));
    assert.equal(off.filter((o) => o.kind === 'ConfigMap').length, 0);
    const objects = parseObjects(
      await template(cluster, 'wsgate', 'wsgate-system', [
        '--set',
        'metrics.dashboard.enabled=true',
        '--set',
        'metrics.dashboard.namespace=monitoring',
      ]),
    );
    const cm = find(objects, 'ConfigMap', 'wsgate-dashboard');
    assert.equal(cm.metadata.namespace, 'monitoring');
    assert.equal(cm.metadata.labels?.['grafana_dashboard'], '1');
    const data = (cm['data'] as Record<string, string>)['wsgate.json']!;
    assert.deepEqual(JSON.parse(data), dashboard);
  });
});
