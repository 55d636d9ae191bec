/**
 * Issue 6, end to end on the local control plane: a CA Issuer stands in for the
 * virtualization manager's CA; a WebSocketProxy with `tls.issuerRef` and a token Secret is
 * reconciled by the operator (in-process, admin credentials: RBAC is proven by
 * test/operator); the real cert-manager issues the certificate. The proxy then runs as its
 * pods would, the built CLI with exactly the files the operator rendered (its ConfigMap,
 * cert-manager's TLS Secret, the token Secret) laid out as the kubelet mounts them, and
 * noVNC in headless Chromium, trusting only the CA, draws the VNC server's screen over
 * wss://console.e2e.test. The certificate is then reissued and swapped into the mount as
 * the kubelet would: the open session carries on and new connections get the new
 * certificate.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import {
  adminConfig,
  createNamespace,
  skipCluster,
  startCluster,
  type TestCluster,
} from '../cluster/harness.js';
import { get } from '../cluster/probe.js';
import { PATHS } from '../../operator/src/objects/mounts.js';
import type { KubeClient } from '../../operator/src/kube/client.js';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { portOf, startWsgate, type Daemon } from '../helpers/cli.js';
import {
  assertRefusalLogged,
  rethrowFirst,
  settleAll,
  since,
  stopDaemon,
  valueOf,
} from '../helpers/e2e.js';
import { PodMounts, caIssuerDocs, pick, secretData } from '../helpers/k8s-e2e.js';
import {
  assertNeverConnects,
  openNoVnc,
  startNoVncSite,
  type NoVncSite,
  type NoVncView,
} from '../helpers/novnc-page.js';
import { startVncServer, type VncServer } from '../helpers/vnc.js';
import { adminClient, applyDocs, installCrd } from '../operator/kube.js';
import { inProcessOperator } from '../operator/operator-process.js';
import { paths } from '../operator/resources.js';
import { until, waitCondition } from '../operator/waits.js';
import { sampleValue } from '../helpers/metrics.js';

const NAME = 'console';
const HOST = 'console.e2e.test';
const CA = 'manager-ca';
const TOKEN = 'e2e-7f3c9a1d';
const RED = '#ff0000';
const BLUE = '#0000ff';
const GREEN = '#00c000';

/** The certificate a plain TLS client gets from 127.0.0.1:`port` for SNI `HOST`. */
function servedCertificate(port: number, ca: Buffer): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: HOST, ca }, () => {
      const raw = socket.getPeerX509Certificate();
      socket.end();
      if (raw) resolve(raw);
      else reject(new Error('no peer certificate'));
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error('TLS connect timed out')));
    socket.once('error', reject);
  });
}

describe(
  'Kubernetes: operator + cert-manager + the rendered proxy config, noVNC over wss://',
  { skip: skipCluster, timeout: 420_000 },
  () => {
    let cluster: TestCluster;
    let admin: KubeClient | undefined;
    let ns: string | undefined;
    let dir: string;
    let vnc: VncServer | undefined;
    let site: NoVncSite | undefined;
    let browser: TestBrowser | undefined;
    let proxy: Daemon | undefined;
    let proxyPort = 0;
    let metricsPort = 0;
    let caPem: Buffer;
    let issuedSerial = '';
    let mounts: PodMounts;
    const stops: (() => Promise<unknown>)[] = [];

    before(
      async () => {
        dir = mkdtempSync(join(tmpdir(), 'wsgate-k8s-e2e-'));
        mounts = new PodMounts(join(dir, 'pod'));
        const start = performance.now();
        const [c, v, s] = await Promise.allSettled([
          startCluster().then(async (cl) => {
            await installCrd(cl);
            return cl;
          }),
          startVncServer({ width: 320, height: 240, colour: RED }),
          startNoVncSite(),
        ]);
        vnc = valueOf(v);
        site = valueOf(s);
        rethrowFirst([c, v, s]);
        cluster = valueOf(c)!;
        admin = await adminClient(cluster);
        ns = await createNamespace(cluster, undefined, 'e2e');
        process.stdout.write(`# cluster, Xvfb, x11vnc, noVNC site ready in ${since(start)}\n`);
      },
      { timeout: 360_000 },
    );

    after(
      async () => {
        try {
          await settleAll(
            () => browser?.close(),
            () => stopDaemon(proxy),
            () => vnc?.stop(),
            () => site?.close(),
            ...stops.reverse(),
          );
        } finally {
          if (ns) await admin?.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
          admin?.close();
          if (dir) rmSync(dir, { recursive: true, force: true });
        }
      },
      { timeout: 60_000 },
    );

    async function newView(t: TestContext, b: TestBrowser): Promise<NoVncView> {
      const page = await b.newPage();
      t.after(() => page.context().close());
      return openNoVnc(page, site!);
    }

    it(
      'reconciles the WebSocketProxy; cert-manager issues its certificate from the CA',
      { timeout: 150_000 },
      async () => {
        let start = performance.now();
        await applyDocs(cluster, [
          ...caIssuerDocs(ns!, CA),
          {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name: 'console-tokens', namespace: ns },
            // A websockify token file naming the x11vnc target.
            stringData: {
              tokens: `# x11vnc on Xvfb :${vnc!.display}\n${TOKEN}: 127.0.0.1:${vnc!.port}\n`,
            },
          },
          {
            apiVersion: 'wsgate.dev/v1alpha1',
            kind: 'WebSocketProxy',
            metadata: { name: NAME, namespace: ns },
            spec: {
              tls: { issuerRef: { name: CA, kind: 'Issuer' }, dnsNames: [HOST] },
              tokens: { file: { secretRef: { name: 'console-tokens', key: 'tokens' } } },
              targets: { allow: [`127.0.0.1/32:${vnc!.port}`] },
              allowedOrigins: [site!.origin],
            },
          },
        ]);
        const op = await inProcessOperator(
          adminConfig(cluster),
          { namespaces: [ns!] },
          { after: (fn) => void stops.push(fn) },
        );
        assert.ok(op);
        const wsp = await waitCondition(
          admin!,
          ns!,
          NAME,
          'CertificateReady',
          'True',
          undefined,
          90_000,
        );
        const cm = await until(
          'the ConfigMap',
          async () => (await admin!.get<V1ConfigMap>(paths(ns!, NAME).configMap)) ?? undefined,
          30_000,
        );
        process.stdout.write(`# operator + cert-manager: certificate ready in ${since(start)}\n`);
        assert.ok(wsp.status);

        // The pod's mounts, as the kubelet lays them out.
        const p = paths(ns!, NAME);
        const tlsData = secretData(await admin!.get<V1Secret>(p.tlsSecret));
        const caData = secretData(
          await admin!.get<V1Secret>(`/api/v1/namespaces/${ns}/secrets/${CA}`),
        );
        const tokens = secretData(
          await admin!.get<V1Secret>(`/api/v1/namespaces/${ns}/secrets/console-tokens`),
        );
        caPem = caData['ca.crt']!;
        assert.ok(caPem, 'the CA Secret has ca.crt');
        const leaf = new X509Certificate(tlsData['tls.crt']!);
        assert.ok(leaf.checkIssued(new X509Certificate(caPem)), 'issued by the CA');
        issuedSerial = leaf.serialNumber;
        assert.match(leaf.subjectAltName ?? '', new RegExp(`DNS:${HOST.replace(/\./g, '\\.')}`));
        mounts.write(PATHS.tls, pick(tlsData, ['tls.crt', 'tls.key']));
        mounts.write(PATHS.tokens, pick(tokens, ['tokens']));
        // The only deviations from the rendered config: the /etc/wsgate/... mount paths get
        // the temp dir as a prefix, and listen/metricsListen move to 127.0.0.1 (port 0: the
        // proxy picks free ports and logs them).
        const rendered = cm.data?.['proxy.yaml'] ?? '';
        const { file, changed, config } = mounts.writeConfig(
          rendered,
          '127.0.0.1:0',
          '127.0.0.1:0',
        );
        assert.deepEqual(changed.sort(), [
          'listen',
          'metricsListen',
          'tlsCert',
          'tlsKey',
          'tokenFile',
        ]);
        assert.deepEqual(config['allowOrigin'], [site!.origin]);
        assert.deepEqual(config['allowTarget'], [`127.0.0.1/32:${vnc!.port}`]);

        start = performance.now();
        proxy = startWsgate(['proxy', '--config', file]);
        const [listening, metrics, b] = await Promise.allSettled([
          proxy.waitFor((l) => l.msg === 'proxy listening', 15_000),
          proxy.waitFor((l) => l.msg === 'metrics listening', 15_000),
          launchBrowser({ trustCa: caPem, hostMap: { [HOST]: '127.0.0.1' } }),
        ]);
        browser = valueOf(b);
        rethrowFirst([listening, metrics, b]);
        proxyPort = portOf(valueOf(listening)!);
        metricsPort = portOf(valueOf(metrics)!);
        process.stdout.write(`# proxy + Chromium started in ${since(start)}\n`);
      },
    );

    it('a wrong token is refused', { timeout: 60_000 }, async (t) => {
      assert.ok(browser && proxyPort, 'set up by the previous test');
      const view = await newView(t, browser);
      await assertNeverConnects(view, `wss://${HOST}:${proxyPort}/?token=not-${TOKEN}`);
      assert.match(view.socketErrors.join('\n'), /\b401\b|HTTP Authentication failed/);
      await assertRefusalLogged(proxy!, 'PROXY_ERR_UNKNOWN_TOKEN', 401);
    });

    it(
      'draws the screen; a reissued certificate reaches new sessions while the open one carries on',
      { timeout: 150_000 },
      async (t) => {
        assert.ok(browser && proxyPort, 'set up by the first test');
        let start = performance.now();
        const view = await newView(t, browser);
        await view.connect(`wss://${HOST}:${proxyPort}/?token=${TOKEN}`);
        await view.waitForStatus('connected');
        const red = await view.waitForColour(RED);
        t.diagnostic(`wss:// session drew in ${since(start)}: ${JSON.stringify(red)}`);
        assert.equal(red.width, vnc!.width);
        assert.deepEqual(red.centre, [255, 0, 0]);
        const opened = await proxy!.waitFor((l) => l.msg === 'connection opened');
        assert.equal(opened.target, `127.0.0.1:${vnc!.port}`);
        await vnc!.setColour(BLUE);
        assert.equal((await view.waitForColour(BLUE)).matching, 1);

        const before = await servedCertificate(proxyPort, caPem);
        assert.equal(before.serialNumber, issuedSerial, 'served: the Secret as first mounted');
        // Reissue: a new dnsName on the WebSocketProxy; the operator updates the
        // Certificate and cert-manager issues a new one into the Secret.
        start = performance.now();
        const p = paths(ns!, NAME);
        await admin!.request('PATCH', p.proxy, {
          body: { spec: { tls: { dnsNames: [HOST, `new.${HOST}`] } } },
          contentType: 'application/merge-patch+json',
        });
        const renewed = await until(
          'cert-manager to reissue the certificate',
          async () => {
            const data = secretData(await admin!.get<V1Secret>(p.tlsSecret));
            const crt = data['tls.crt'];
            if (!crt) return undefined;
            const x = new X509Certificate(crt);
            return x.serialNumber !== before.serialNumber && x.subjectAltName?.includes('new.')
              ? data
              : undefined;
          },
          60_000,
          250,
        );
        const next = new X509Certificate(renewed['tls.crt']!);
        t.diagnostic(`reissued in ${since(start)}: serial ${next.serialNumber}`);
        // The kubelet's update: a new timestamped directory and a `..data` swap.
        mounts.write(PATHS.tls, pick(renewed, ['tls.crt', 'tls.key']));
        const reloaded = await proxy!.waitFor((l) => l.msg === 'TLS certificate reloaded', 15_000);
        t.diagnostic(`proxy reloaded the certificate ${since(start)} after the patch`);
        assert.equal(reloaded.notAfter, new Date(Date.parse(next.validTo)).toISOString());

        const served = await servedCertificate(proxyPort, caPem);
        assert.equal(served.serialNumber, next.serialNumber);
        const metrics = (await get(`http://127.0.0.1:${metricsPort}/metrics`)).body;
        assert.ok(
          (sampleValue(metrics, 'wsgate_config_reloads_total', { result: 'ok' }) ?? 0) >= 1,
        );
        const expiry = sampleValue(metrics, 'wsgate_tls_certificate_expiry_timestamp_seconds');
        assert.ok(
          Math.abs((expiry ?? 0) - new Date(next.validTo).getTime() / 1000) <= 1,
          `expiry metric ${expiry} vs notAfter ${next.validTo}`,
        );

        // The open session still carries frames.
        await vnc!.setColour(GREEN);
        assert.equal((await view.waitForColour(GREEN)).matching, 1);
        assert.equal(await view.status(), 'connected');

        // A new browser session, on the new certificate, sees the display too.
        const second = await newView(t, browser);
        await second.connect(`wss://${HOST}:${proxyPort}/?token=${TOKEN}`);
        await second.waitForStatus('connected');
        await second.waitForColour(GREEN);
        await vnc!.setColour(RED);
        await Promise.all([view.waitForColour(RED), second.waitForColour(RED)]);
        assert.deepEqual(view.socketErrors, []);
        assert.deepEqual(second.socketErrors, []);
        await second.disconnect();
        await view.disconnect();
        await view.waitForStatus('disconnected');
      },
    );
  },
);
