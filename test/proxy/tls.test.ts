/**
 * TLS end to end with generated certificates (test/helpers/tls.ts): the wss:// listener
 * (chain, versions, ciphers), client certificates and the subject allow-list, live
 * reload of the certificate files (plain overwrite and a Kubernetes `..data` swap), and
 * verified TLS from the proxy to targets, for every session or per ticket.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  connect as tlsConnect,
  createServer as createTlsServer,
  type ConnectionOptions,
  type DetailedPeerCertificate,
  type Server as TlsServer,
  type TLSSocket,
} from 'node:tls';
import type { ClientOptions, WebSocket } from 'ws';
import { parseSigningKey } from '../../proxy/src/tokens/keys.js';
import { mintTicket } from '../../proxy/src/tokens/mint.js';
import {
  closed,
  eventually,
  metricValue,
  openClient,
  receive,
  startTestProxy,
  type TestProxy,
} from '../helpers/proxy.js';
import { connections, refusedWith, withProxy, type Refused } from '../helpers/proxy-session.js';
import { engineTicket, newEngine } from '../helpers/ovirt.js';
import { proxyProtocolFront, proxyV1 } from '../helpers/raw.js';
import { startEchoServer, type TestServer } from '../helpers/servers.js';
import { makePki, type Issued, type Pki } from '../helpers/tls.js';
import { tempDir, writeSecretMount } from './tokens-fixtures.js';

/** A failure below HTTP: the TLS handshake (or the connection) failed, no status came. */
const refusedByTls = (e: Refused & { message?: string }) => {
  assert.equal(e.status, undefined, `expected a TLS failure, got HTTP ${e.status}: ${e.body}`);
  // ws reports a TLS alert as EPROTO with OpenSSL's text; a reset can win the race.
  assert.match(
    `${e.code} ${e.message}`,
    /^ERR_SSL_|^EPROTO .*alert|^ECONNRESET |^EPIPE /,
    `${e.code} ${e.message}`,
  );
  return true;
};

const wss = (proxy: TestProxy, path = '/?token=echo') =>
  `wss://127.0.0.1:${proxy.address.port}${path}`;

/** The TLS socket under a ws client (ws keeps it as `_socket`). */
const tlsOf = (ws: WebSocket) => (ws as unknown as { _socket: TLSSocket })._socket;

async function roundTrip(ws: WebSocket, text = 'ping'): Promise<void> {
  const got = receive(ws, text.length);
  ws.send(Buffer.from(text));
  assert.equal((await got).toString(), text);
}

interface Probe {
  error?: string;
  cert?: DetailedPeerCertificate;
  cipher?: string;
  protocol?: string | null;
  authorized?: boolean;
}

/** A bare TLS handshake against `port`: what the server presented, or the error code. */
function probe(port: number, options: ConnectionOptions = {}): Promise<Probe> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ...options });
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ error: 'timeout' });
    }, 5000);
    s.once('secureConnect', () => {
      clearTimeout(timer);
      resolve({
        cert: s.getPeerCertificate(true),
        cipher: s.getCipher().name,
        protocol: s.getProtocol(),
        authorized: s.authorized,
      });
      s.destroy();
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ error: e.code ?? e.message });
    });
  });
}

const expiryMetric = (proxy: TestProxy) =>
  metricValue(proxy.metricsUrl('/metrics'), 'wsgate_tls_certificate_expiry_timestamp_seconds');
const reloads = (proxy: TestProxy, result: 'ok' | 'error') =>
  metricValue(proxy.metricsUrl('/metrics'), 'wsgate_config_reloads_total', `result="${result}"`);

let pki: Pki;
let dir: string;
let echo: TestServer;
let tokens: string;
let rootFile: string;

before(async () => {
  pki = makePki();
  dir = tempDir('wsgate-tls-');
  echo = await startEchoServer();
  tokens = join(dir, 'tokens.txt');
  writeFileSync(tokens, `echo: 127.0.0.1:${echo.port}\n`);
  rootFile = join(dir, 'root.pem');
  writeFileSync(rootFile, pki.root.cert);
});
after(async () => {
  await echo.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * The flags of a wss:// listener serving `files` in front of the echo token file, then
 * `extra`: nearly every test here starts its proxy with these.
 */
const tlsFlags = (files: { cert: string; key: string }, ...extra: string[]) => [
  '--token-file',
  tokens,
  '--tls-cert',
  files.cert,
  '--tls-key',
  files.key,
  ...extra,
];

/** A wss:// client of `proxy` trusting only the test root CA, with any further `options`. */
const openTrusting = (proxy: TestProxy, options: ClientOptions = {}) =>
  openClient(wss(proxy), undefined, { ca: pki.root.cert, ...options });

/** Writes `leaf`'s chain and key under `name` and returns the two paths. */
function writePair(leaf: Issued, name: string, chain = true): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  writeFileSync(cert, chain ? pki.chain(leaf) : leaf.cert);
  writeFileSync(key, leaf.key);
  return { cert, key };
}

describe('wss:// listener', () => {
  let leaf: Issued;
  let files: { cert: string; key: string };
  before(() => {
    leaf = pki.server();
    files = writePair(leaf, 'server');
  });

  test('a client trusting only the test root CA relays; leaf and intermediate are served', () =>
    withProxy(tlsFlags(files), async (proxy) => {
      const ws = await openTrusting(proxy);
      const socket = tlsOf(ws);
      assert.equal(socket.authorized, true, String(socket.authorizationError));
      const cert = socket.getPeerCertificate(true);
      assert.equal(cert.fingerprint256, leaf.fingerprint256);
      assert.equal(cert.issuerCertificate.fingerprint256, pki.intermediate.fingerprint256);
      await roundTrip(ws);
      ws.close();
      await closed(ws);

      // A client that trusts only the intermediate's issuer could not have verified the
      // leaf without the intermediate on the wire; a client trusting nothing fails.
      const untrusted = await probe(proxy.address.port, { rejectUnauthorized: false });
      assert.equal(untrusted.error, undefined);
      assert.equal(untrusted.authorized, false);
      await assert.rejects(openClient(wss(proxy)), (e: Refused) => {
        assert.equal(e.status, undefined);
        assert.match(String(e.code), /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET/);
        return true;
      });

      // Plain HTTP on the TLS port gets no answer in clear, and is logged.
      await assert.rejects(openClient(proxy.url('/?token=echo')));
      await eventually(() => proxy.logs.find((l) => l.msg === 'TLS handshake failed'));
    }));

  test('a bare TCP check is not a failed handshake; plain HTTP on the TLS port is', () =>
    withProxy(tlsFlags(files), async (proxy) => {
      const exchange = (data?: string) =>
        new Promise<void>((resolve, reject) => {
          const socket = netConnect(proxy.address.port, '127.0.0.1', () =>
            data ? socket.end(data) : socket.end(),
          );
          socket.on('error', reject);
          socket.on('close', () => resolve());
          socket.resume();
        });
      // A load balancer's TCP health check: connect, then close without a byte.
      for (let i = 0; i < 3; i++) await exchange();
      await exchange('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await eventually(
        () => proxy.logs.some((l) => l.msg === 'TLS handshake failed'),
        5000,
        'the plain HTTP request logged',
      );
      assert.equal(await connections(proxy, 'bad_request'), 1);
      assert.equal(proxy.logs.filter((l) => l.msg === 'TLS handshake failed').length, 1);
      const ws = await openTrusting(proxy);
      await roundTrip(ws);
      ws.close();
    }));

  test('--cert/--key are aliases of --tls-cert/--tls-key', () =>
    withProxy(['--token-file', tokens, '--cert', files.cert, '--key', files.key], async (proxy) => {
      const ws = await openTrusting(proxy);
      assert.equal(tlsOf(ws).getPeerCertificate().fingerprint256, leaf.fingerprint256);
      await roundTrip(ws);
      ws.close();
    }));

  test('TLS 1.2 is the minimum: TLS 1.1 clients are refused, 1.2 and 1.3 accepted', () =>
    withProxy(tlsFlags(files), async (proxy) => {
      const port = proxy.address.port;
      // SECLEVEL=0 lets this client really offer TLS 1.1, so the refusal is the server's.
      const old = await probe(port, {
        ca: pki.root.cert,
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1.1',
        ciphers: 'DEFAULT@SECLEVEL=0',
      });
      assert.equal(
        old.error,
        'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
        'the server sent protocol_version',
      );
      const v12 = await probe(port, { ca: pki.root.cert, maxVersion: 'TLSv1.2' });
      assert.equal(v12.protocol, 'TLSv1.2');
      assert.equal(v12.authorized, true);
      const v13 = await probe(port, { ca: pki.root.cert });
      assert.equal(v13.protocol, 'TLSv1.3');
      await eventually(() => proxy.logs.find((l) => l.msg === 'TLS handshake failed'));
    }));

  test('--tls-min-version TLSv1.3 refuses a TLS 1.2-only client', () =>
    withProxy(tlsFlags(files, '--tls-min-version', 'TLSv1.3'), async (proxy) => {
      const v12 = await probe(proxy.address.port, { ca: pki.root.cert, maxVersion: 'TLSv1.2' });
      assert.equal(v12.error, 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
      await assert.rejects(openTrusting(proxy, { maxVersion: 'TLSv1.2' }), refusedByTls);
      const ws = await openTrusting(proxy);
      assert.equal(tlsOf(ws).getProtocol(), 'TLSv1.3');
      await roundTrip(ws);
      ws.close();
    }));

  test('--tls-ciphers is honoured for TLS 1.2', async () => {
    const only = 'ECDHE-ECDSA-AES256-GCM-SHA384';
    const other = 'ECDHE-ECDSA-AES128-GCM-SHA256';
    const plain = await startTestProxy(tlsFlags(files));
    const strict = await startTestProxy(tlsFlags(files, '--tls-ciphers', only));
    try {
      const tls12 = { ca: pki.root.cert, maxVersion: 'TLSv1.2' } as const;
      // Control: without the flag, a client offering only the other suite gets it.
      assert.equal((await probe(plain.address.port, { ...tls12, ciphers: other })).cipher, other);
      assert.match(
        String((await probe(strict.address.port, { ...tls12, ciphers: other })).error),
        /^ERR_SSL_.*ALERT_HANDSHAKE_FAILURE$/,
      );
      assert.equal((await probe(strict.address.port, tls12)).cipher, only);
      const ws = await openClient(wss(strict), undefined, tls12);
      assert.equal(tlsOf(ws).getCipher().name, only);
      await roundTrip(ws);
      ws.close();
    } finally {
      await Promise.all([plain.close(), strict.close()]);
    }
  });

  test('PROXY protocol header and TLS ClientHello arriving in one segment', () =>
    withProxy(tlsFlags(files, '--proxy-protocol'), async (proxy) => {
      const front = await proxyProtocolFront(proxy.address.port, () =>
        proxyV1('198.51.100.7', 40000, proxy.address.port),
      );
      try {
        const ws = await openClient(`wss://127.0.0.1:${front.port}/?token=echo`, undefined, {
          ca: pki.root.cert,
        });
        await roundTrip(ws);
        const opened = await eventually(() =>
          proxy.logs.find((l) => l.msg === 'connection opened'),
        );
        assert.equal(opened.client, '198.51.100.7');
        ws.close();
        await closed(ws);
      } finally {
        await front.close();
      }
    }));
});

describe('client certificates', () => {
  let clients: Pki;
  let files: { cert: string; key: string };
  let clientCa: string;
  before(() => {
    files = writePair(pki.server(), 'server-cc');
    clients = makePki('clients');
    clientCa = join(dir, 'client-ca.pem');
    writeFileSync(clientCa, clients.root.cert);
  });

  test('--tls-client-ca: no certificate or a foreign one is refused at the TLS handshake', () =>
    withProxy(tlsFlags(files, '--tls-client-ca', clientCa), async (proxy) => {
      const good = clients.client('console-a');
      const ws = await openTrusting(proxy, { cert: good.cert, key: good.key });
      await roundTrip(ws);
      ws.close();
      await closed(ws);

      for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
        await assert.rejects(
          openTrusting(proxy, { maxVersion: version }),
          refusedByTls,
          `no client certificate over ${version}`,
        );
      }
      const foreign = pki.client('console-a'); // right CN, wrong CA
      await assert.rejects(
        openTrusting(proxy, { cert: foreign.cert, key: foreign.key }),
        refusedByTls,
      );
      await eventually(
        () => proxy.logs.filter((l) => l.msg === 'TLS handshake failed').length >= 3,
        5000,
        'three TLS refusals logged',
      );
      assert.equal(await connections(proxy, 'ok'), 1);
      // One count and one log line per refusal (https re-emits TLS errors as clientError).
      assert.equal(await connections(proxy, 'bad_request'), 3);
      const failures = proxy.logs.filter((l) => l.msg === 'TLS handshake failed');
      assert.equal(failures.length, 3);
      assert.ok(!proxy.logs.some((l) => l.msg === 'malformed request'));
      // The foreign certificate ends in a reset; the log says what was wrong with it.
      assert.ok(
        failures.some((l) => typeof l.authorizationError === 'string'),
        JSON.stringify(failures),
      );
      assert.ok(
        !proxy.logs.some((l) => l.msg === 'handshake refused'),
        'refused before any HTTP was read',
      );
    }));

  test('--tls-client-subject: another CN gets 403 PROXY_ERR_CLIENT_CERT', () =>
    withProxy(
      tlsFlags(
        files,
        '--tls-client-ca',
        clientCa,
        '--tls-client-subject',
        'console-a',
        '--tls-client-subject',
        'console-c',
      ),
      async (proxy) => {
        for (const cn of ['console-a', 'console-c']) {
          const c = clients.client(cn);
          const ws = await openTrusting(proxy, { cert: c.cert, key: c.key });
          await roundTrip(ws);
          ws.close();
        }
        const b = clients.client('console-b');
        await assert.rejects(
          openTrusting(proxy, { cert: b.cert, key: b.key }),
          refusedWith(403, 'PROXY_ERR_CLIENT_CERT'),
        );
        const line = await eventually(() => proxy.logs.find((l) => l.msg === 'handshake refused'));
        assert.equal(line.code, 'PROXY_ERR_CLIENT_CERT');
        assert.match(String(line.detail), /console-b/);
        assert.equal(await connections(proxy, 'forbidden'), 1);
      },
    ));
});

describe('live reload of the certificate', () => {
  const RELOAD_MS = 15_000; // inotify normally answers in ~100 ms; the poll is every 10 s

  async function servedFingerprint(proxy: TestProxy): Promise<string | undefined> {
    const p = await probe(proxy.address.port, { ca: pki.root.cert });
    return p.cert?.fingerprint256;
  }

  /**
   * A Kubernetes-style Secret mount (a fresh temp dir named from `prefix`) holding
   * `first`'s chain and key, a proxy serving from it while `use` runs, then both removed.
   */
  async function withSecretMount(
    prefix: string,
    first: Issued,
    use: (proxy: TestProxy, mount: string) => Promise<void>,
  ): Promise<void> {
    const mount = tempDir(prefix);
    writeSecretMount(mount, { 'tls.crt': pki.chain(first), 'tls.key': first.key });
    try {
      const files = { cert: join(mount, 'tls.crt'), key: join(mount, 'tls.key') };
      await withProxy(tlsFlags(files), (proxy) => use(proxy, mount));
    } finally {
      rmSync(mount, { recursive: true, force: true });
    }
  }

  test('plain overwrite: new handshakes get the new certificate, open sessions keep relaying', async () => {
    const first = pki.server({ days: 30 });
    const second = pki.server({ days: 60 });
    const files = writePair(first, 'overwrite');
    await withProxy(tlsFlags(files), async (proxy) => {
      assert.equal(await servedFingerprint(proxy), first.fingerprint256);
      const served = (await probe(proxy.address.port, { ca: pki.root.cert })).cert!;
      assert.equal(await expiryMetric(proxy), Date.parse(served.valid_to) / 1000);
      assert.equal(await expiryMetric(proxy), first.notAfter);
      const old = await openTrusting(proxy);
      await roundTrip(old);

      writeFileSync(files.cert, pki.chain(second));
      writeFileSync(files.key, second.key);
      await eventually(
        async () => (await servedFingerprint(proxy)) === second.fingerprint256,
        RELOAD_MS,
        'the new certificate to be served',
      );
      const fresh = await openTrusting(proxy);
      assert.equal(tlsOf(fresh).getPeerCertificate().fingerprint256, second.fingerprint256);
      await roundTrip(fresh);
      // The session opened before still relays, on its original handshake.
      assert.equal(tlsOf(old).getPeerCertificate().fingerprint256, first.fingerprint256);
      await roundTrip(old, 'still here');
      assert.equal(await expiryMetric(proxy), second.notAfter);
      assert.ok((await reloads(proxy, 'ok'))! >= 1);
      assert.equal(await reloads(proxy, 'error'), 0);
      assert.ok(proxy.logs.some((l) => l.msg === 'TLS certificate reloaded'));
      old.close();
      fresh.close();
    });
  });

  test('Kubernetes Secret mount: the ..data symlink swap is picked up', async () => {
    const first = pki.server({ days: 20 });
    const second = pki.server({ days: 40 });
    await withSecretMount('wsgate-tls-secret-', first, async (proxy, mount) => {
      assert.equal(await servedFingerprint(proxy), first.fingerprint256);
      const old = await openTrusting(proxy);
      await roundTrip(old);
      writeSecretMount(mount, { 'tls.crt': pki.chain(second), 'tls.key': second.key });
      await eventually(
        async () => (await servedFingerprint(proxy)) === second.fingerprint256,
        RELOAD_MS,
        'the swapped certificate to be served',
      );
      await roundTrip(old, 'after swap');
      assert.equal(await expiryMetric(proxy), second.notAfter);
      assert.equal(await reloads(proxy, 'error'), 0);
      old.close();
    });
  });

  test('an invalid new pair keeps the old certificate, is logged and counted', async () => {
    const first = pki.server({ days: 25 });
    const second = pki.server({ days: 50 });
    await withSecretMount('wsgate-tls-bad-', first, async (proxy, mount) => {
      const old = await openTrusting(proxy);
      // The new certificate with the old key: they do not match.
      writeSecretMount(mount, { 'tls.crt': pki.chain(second), 'tls.key': first.key });
      await eventually(
        async () => (await reloads(proxy, 'error'))! >= 1,
        RELOAD_MS,
        'a failed reload',
      );
      const line = proxy.logs.find(
        (l) => l.msg === 'TLS certificate reload failed; serving the previous one',
      );
      assert.ok(line, 'the failure is logged');
      assert.equal(line.level, 50, 'at error level');
      assert.equal(await servedFingerprint(proxy), first.fingerprint256);
      assert.equal(await expiryMetric(proxy), first.notAfter);
      await roundTrip(old);
      const during = await openTrusting(proxy);
      await roundTrip(during);

      // Garbage in place of the certificate: still the old one.
      const errors = (await reloads(proxy, 'error'))!;
      writeSecretMount(mount, { 'tls.crt': 'not a certificate\n', 'tls.key': first.key });
      await eventually(
        async () => (await reloads(proxy, 'error'))! > errors,
        RELOAD_MS,
        'a second failed reload',
      );
      assert.equal(await servedFingerprint(proxy), first.fingerprint256);

      // A good pair afterwards is taken.
      writeSecretMount(mount, { 'tls.crt': pki.chain(second), 'tls.key': second.key });
      await eventually(
        async () => (await servedFingerprint(proxy)) === second.fingerprint256,
        RELOAD_MS,
        'recovery with a valid pair',
      );
      assert.equal(await expiryMetric(proxy), second.notAfter);
      await roundTrip(old, 'survived');
      old.close();
      during.close();
    });
  });
});

describe('TLS to the target', () => {
  let targetPki: Pki;
  let good: TlsServer;
  let wrongName: TlsServer;
  let goodPort: number;
  let wrongNamePort: number;
  let targetRoot: string;
  let otherRoot: string;
  let targetTokens: string;
  const handshakes = { good: 0 };

  const tlsEcho = async (leaf: Issued, chain: string, onSecure?: () => void) => {
    const server = createTlsServer({ cert: chain, key: leaf.key }, (s) => {
      onSecure?.();
      s.on('error', () => {});
      s.pipe(s);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return server;
  };

  before(async () => {
    targetPki = makePki('targets');
    const leaf = targetPki.server();
    good = await tlsEcho(leaf, targetPki.chain(leaf), () => handshakes.good++);
    const misnamed = targetPki.server({ dns: ['elsewhere.test'], ips: ['192.0.2.1'] });
    wrongName = await tlsEcho(misnamed, targetPki.chain(misnamed));
    goodPort = (good.address() as AddressInfo).port;
    wrongNamePort = (wrongName.address() as AddressInfo).port;
    targetRoot = join(dir, 'target-root.pem');
    writeFileSync(targetRoot, targetPki.root.cert);
    otherRoot = join(dir, 'other-root.pem');
    writeFileSync(otherRoot, makePki('unrelated').root.cert);
    targetTokens = join(dir, 'target-tokens.txt');
    writeFileSync(
      targetTokens,
      [
        `good: 127.0.0.1:${goodPort}`,
        `byname: localhost:${goodPort}`,
        `misnamed: 127.0.0.1:${wrongNamePort}`,
      ].join('\n'),
    );
  });
  after(() => {
    good.close();
    wrongName.close();
  });

  /** Flags for TLS to every target of the target token file, verified against `ca` if given. */
  const targetTlsFlags = (ca?: string) => [
    '--token-file',
    targetTokens,
    '--target-tls',
    ...(ca ? ['--target-ca', ca] : []),
  ];

  /**
   * Flags for per-session target TLS: the resolver `flags`, any loopback target allowed,
   * and the target CA for the sessions that ask for TLS.
   */
  const perSessionFlags = (...flags: string[]) => [
    ...flags,
    '--allow-target',
    '127.0.0.1/32',
    '--target-ca',
    targetRoot,
  ];

  test('--target-tls with --target-ca: a valid certificate relays', () =>
    withProxy(targetTlsFlags(targetRoot), async (proxy) => {
      const before = handshakes.good;
      const ws = await openClient(proxy.url('/?token=good'));
      await roundTrip(ws, 'over tls');
      assert.equal(handshakes.good, before + 1, 'the target saw a TLS session');
      ws.close();
      await closed(ws);
      // By name: the certificate's DNS SAN `localhost` is checked (whichever address
      // localhost resolves to first, the proxy tries each).
      const byName = await openClient(proxy.url('/?token=byname'));
      await roundTrip(byName, 'by name');
      byName.close();
    }));

  test('a target certificate from another CA: 502 PROXY_ERR_TARGET_TLS', () =>
    withProxy(targetTlsFlags(otherRoot), async (proxy) => {
      await assert.rejects(
        openClient(proxy.url('/?token=good')),
        refusedWith(502, 'PROXY_ERR_TARGET_TLS'),
      );
      const line = await eventually(() => proxy.logs.find((l) => l.msg === 'handshake refused'));
      assert.match(String(line.detail), /UNABLE_TO_GET_ISSUER_CERT|UNABLE_TO_VERIFY|SELF_SIGNED/);
      assert.equal(await connections(proxy, 'upstream_error'), 1);
    }));

  test('without --target-ca the system store does not know the test CA: 502', () =>
    withProxy(targetTlsFlags(), async (proxy) => {
      await assert.rejects(
        openClient(proxy.url('/?token=good')),
        refusedWith(502, 'PROXY_ERR_TARGET_TLS'),
      );
    }));

  test('a certificate for another name: 502 PROXY_ERR_TARGET_TLS', () =>
    withProxy(targetTlsFlags(targetRoot), async (proxy) => {
      await assert.rejects(
        openClient(proxy.url('/?token=misnamed')),
        refusedWith(502, 'PROXY_ERR_TARGET_TLS'),
      );
      const line = await eventually(() => proxy.logs.find((l) => l.msg === 'handshake refused'));
      assert.match(String(line.detail), /ERR_TLS_CERT_ALTNAME_INVALID/);
    }));

  test('per session: a JWT with `tls: true` gets verified TLS, one without gets plain TCP', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pub = join(dir, 'jwt.pub');
    writeFileSync(pub, publicKey.export({ type: 'spki', format: 'pem' }));
    const key = parseSigningKey(Buffer.from(privateKey.export({ type: 'pkcs8', format: 'pem' })));
    const ticket = (port: number, tls?: boolean) =>
      mintTicket({
        key,
        target: { host: '127.0.0.1', port, ...(tls ? { tls } : {}) },
        ttlSeconds: 60,
      });
    await withProxy(perSessionFlags('--jwt-key', pub), async (proxy) => {
      const before = handshakes.good;
      const secure = await openClient(proxy.url(`/?token=${await ticket(goodPort, true)}`));
      await roundTrip(secure, 'jwt tls');
      assert.equal(handshakes.good, before + 1);
      const plain = await openClient(proxy.url(`/?token=${await ticket(echo.port)}`));
      await roundTrip(plain, 'jwt plain');
      // TLS asked for against a plain TCP echo: the handshake fails, 502.
      await assert.rejects(
        openClient(proxy.url(`/?token=${await ticket(echo.port, true)}`)),
        refusedWith(502, 'PROXY_ERR_TARGET_TLS'),
      );
      // TLS to a target whose certificate names someone else: 502 as well.
      await assert.rejects(
        openClient(proxy.url(`/?token=${await ticket(wrongNamePort, true)}`)),
        refusedWith(502, 'PROXY_ERR_TARGET_TLS'),
      );
      secure.close();
      plain.close();
    });
  });

  test('per session: an oVirt ticket with ssl_target', async () => {
    const engine = newEngine();
    const engineCert = join(dir, 'engine.cer');
    writeFileSync(engineCert, engine.certPem);
    await withProxy(perSessionFlags('--ovirt-cert', engineCert), async (proxy) => {
      const before = handshakes.good;
      const t = engineTicket(engine, {
        host: '127.0.0.1',
        port: String(goodPort),
        sslTarget: true,
      });
      const ws = await openClient(proxy.url(`/${encodeURIComponent(t)}`));
      await roundTrip(ws, 'ovirt tls');
      assert.equal(handshakes.good, before + 1);
      ws.close();
      const p = engineTicket(engine, { host: '127.0.0.1', port: String(echo.port) });
      const plain = await openClient(proxy.url(`/${encodeURIComponent(p)}`));
      await roundTrip(plain, 'ovirt plain');
      plain.close();
    });
  });
});
