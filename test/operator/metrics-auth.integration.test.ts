/**
 * The operator's secure /metrics against the real API server: HTTPS, and only bearer
 * tokens that a TokenReview authenticates and a SubjectAccessReview allows `get` on
 * /metrics (the wsgate-metrics-reader ClusterRole of role.yaml). The operator runs as its
 * ServiceAccount, bound to role.yaml's roles, so the test also proves that
 * wsgate-operator-metrics-auth is what lets it ask. Health stays plain HTTP.
 */
import assert from 'node:assert/strict';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { freePorts } from '../cluster/ports.js';
import {
  createNamespace,
  runTool,
  skipCluster,
  startCluster,
  type TestCluster,
} from '../cluster/harness.js';
import { get } from '../cluster/probe.js';
import {
  applyDocs,
  installCrd,
  operatorAccount,
  OPERATOR_SA,
  type OperatorAccount,
} from './kube.js';
import { spawnOperator, type OperatorProcess } from './operator-process.js';
import { until } from './waits.js';

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
  subject: string;
}

/** GET over HTTPS without verifying the (self-signed) certificate; reports its subject. */
function scrape(url: string, token?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/metrics`,
      {
        rejectUnauthorized: false,
        headers: token ? { authorization: `Bearer ${token}` } : {},
        timeout: 10_000,
      },
      (res) => {
        // The socket is detached once the response ends: read the certificate now.
        const peer = (res.socket as TLSSocket).getPeerCertificate();
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body,
            headers: res.headers,
            subject: String(peer.subject?.CN ?? ''),
          }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('scrape timed out')));
    req.on('error', reject);
    req.end();
  });
}

const binding = (name: string, role: string, subject: object) => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRoleBinding',
  metadata: { name, labels: { 'wsgate.dev/test': 'true' } },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
  subjects: [subject],
});

describe('secure operator metrics', { skip: skipCluster, timeout: 300_000 }, () => {
  let cluster: TestCluster;
  let account: OperatorAccount;
  let ns: string;
  let operator: OperatorProcess | undefined;
  let healthPort: number;
  const cleanups: Array<() => Promise<void>> = [];
  const tokens: Record<string, string> = {};
  const bindings: string[] = [];

  before(async () => {
    cluster = await startCluster();
    await installCrd(cluster);
    account = await operatorAccount(cluster, (fn) => void cleanups.push(fn));
    ns = await createNamespace(cluster, undefined, 'metrics-auth');
    cleanups.push(async () => {
      await runTool(cluster, 'kubectl', ['delete', 'namespace', ns, '--wait=false']);
    });
    // Two scrapers: one bound to the reader role, one with nothing.
    const reader = `wsgate-metrics-reader-${ns}`;
    bindings.push(reader);
    await applyDocs(cluster, [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'scraper', namespace: ns } },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'stranger', namespace: ns } },
      binding(reader, 'wsgate-metrics-reader', {
        kind: 'ServiceAccount',
        name: 'scraper',
        namespace: ns,
      }),
    ]);
    for (const sa of ['scraper', 'stranger']) {
      const res = await runTool(cluster, 'kubectl', [
        'create',
        'token',
        sa,
        '-n',
        ns,
        '--duration=10m',
      ]);
      assert.equal(res.code, 0, res.stderr);
      tokens[sa] = res.stdout.trim();
    }
    healthPort = (await freePorts(1))[0]!;
    operator = await spawnOperator(
      [
        '--kubeconfig',
        account.kubeconfig,
        '--namespace',
        ns,
        '--metrics-secure',
        `--health-listen=127.0.0.1:${healthPort}`,
        '--log-level=debug',
      ],
      { POD_NAME: 'wsgate-operator-test' },
    );
  });

  after(async () => {
    await operator?.stop();
    for (const b of bindings) {
      await runTool(cluster, 'kubectl', ['delete', 'clusterrolebinding', b, '--ignore-not-found']);
    }
    for (const c of cleanups.reverse()) await c();
  });

  it('without the metrics-auth binding the operator cannot ask, and refuses (503)', async () => {
    const res = await scrape(operator!.url, tokens['scraper']);
    assert.equal(res.status, 503, res.body);
    // The log reaches this process through a pipe, a moment after the answer.
    await until('the warning in the log', async () =>
      /metrics authentication unavailable/.test(operator!.logs()) ? true : undefined,
    );
  });

  it('with it: no token 401, a token without the role 403, with the role 200', async () => {
    const auth = `wsgate-operator-metrics-auth-${account.namespace}`;
    bindings.push(auth);
    await applyDocs(cluster, [
      binding(auth, 'wsgate-operator-metrics-auth', {
        kind: 'ServiceAccount',
        name: OPERATOR_SA,
        namespace: account.namespace,
      }),
    ]);
    // RBAC changes reach the authorizer within moments; 503 is never cached.
    const ok = await until('the reader to be served', async () => {
      const res = await scrape(operator!.url, tokens['scraper']);
      return res.status === 200 ? res : undefined;
    });
    assert.match(ok.body, /^# HELP controller_runtime_reconcile_total/m);
    assert.match(ok.body, /^process_cpu_seconds_total /m);

    const none = await scrape(operator!.url);
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    assert.doesNotMatch(none.body, /controller_runtime/);

    const garbage = await scrape(operator!.url, 'not-a-token');
    assert.equal(garbage.status, 401, garbage.body);

    const stranger = await scrape(operator!.url, tokens['stranger']);
    assert.equal(stranger.status, 403, stranger.body);
    assert.match(stranger.body, new RegExp(`system:serviceaccount:${ns}:stranger`));
    assert.doesNotMatch(stranger.body, /controller_runtime/);
  });

  it('caches decisions: repeated scrapes with one token ask the API server nothing more', async () => {
    // The operator watches an empty namespace without leader election: its only POSTs are
    // the reviews.
    const posts = (body: string) =>
      [...body.matchAll(/^rest_client_requests_total\{[^}]*method="POST"[^}]*\} (\d+)/gm)]
        .map((m) => Number(m[1]))
        .reduce((a, b) => a + b, 0);
    const first = await scrape(operator!.url, tokens['scraper']);
    assert.equal(first.status, 200);
    for (let i = 0; i < 3; i++)
      assert.equal((await scrape(operator!.url, tokens['scraper'])).status, 200);
    const last = await scrape(operator!.url, tokens['scraper']);
    assert.ok(posts(first.body) > 0, 'the first decision asked the API server');
    assert.equal(posts(last.body), posts(first.body));
  });

  it('serves TLS with a self-signed certificate named after the pod; no plain HTTP there', async () => {
    const res = await scrape(operator!.url, tokens['scraper']);
    assert.equal(res.subject, 'wsgate-operator-test');
    await assert.rejects(
      fetch(`${operator!.url.replace('https:', 'http:')}/metrics`).then((r) => r.text()),
    );
  });

  it('health stays plain HTTP without credentials, on its own listener', async () => {
    assert.equal((await get(`http://127.0.0.1:${healthPort}/healthz`)).status, 200);
    await until('ready', async () =>
      (await get(`http://127.0.0.1:${healthPort}/readyz`)).status === 200 ? true : undefined,
    );
    assert.equal((await get(`http://127.0.0.1:${healthPort}/metrics`)).status, 404);
  });

  it('never logs a token', () => {
    for (const t of Object.values(tokens)) assert.ok(!operator!.logs().includes(t));
    assert.ok(!operator!.logs().includes('not-a-token'));
  });
});
