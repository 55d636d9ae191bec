/**
 * The real thing, end to end: noVNC (@novnc/novnc's ES modules) in Debian's headless
 * Chromium, served from a page on http://127.0.0.1:<port>, connects through the `wsgate`
 * CLI (a subprocess, token file, origin allow-list) to x11vnc exporting an Xvfb display.
 * The test reads noVNC's canvas back and checks it shows the colour painted on the X
 * display, then repaints the display and checks the canvas follows (live frames through
 * the relay). Refusals are checked as the browser sees them (the handshake error
 * Chromium reports, noVNC's unclean disconnect) and as the proxy logs them.
 *
 * A second suite points noVNC at QEMU's own VNC server listening on a Unix socket (a
 * websockify-style `unix_socket:/path` token under `--allow-unix-dir`).
 *
 * Screenshots go to $WSGATE_E2E_ARTIFACTS (default: <tmpdir>/wsgate-e2e).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { launchBrowser, spkiHash, type TestBrowser } from '../helpers/browser.js';
import { portOf, startWsgate, type Daemon } from '../helpers/cli.js';
import {
  SETUP,
  TEST,
  afterWindow,
  assertRefusalLogged,
  mintSingleUse,
  rethrowFirst,
  screenshot,
  settleAll,
  since,
  spawnProxyProcess,
  stopDaemon,
  valueOf,
  withPage,
  writeTicketKeys,
} from '../helpers/e2e.js';
import {
  assertNeverConnects,
  openNoVnc,
  startNoVncSite,
  type NoVncSite,
  type NoVncView,
} from '../helpers/novnc-page.js';
import { startVncServer, type VncServer } from '../helpers/vnc.js';
import { startSpiceVm, VGA, type SpiceVm } from '../helpers/qemu-spice.js';
import { assertNoLeaks } from '../helpers/leak-scan.js';

const RED = '#ff0000';
const BLUE = '#0000ff';
const GREEN = '#00c000';

let dir: string;
let vnc: VncServer | undefined;
let site: NoVncSite | undefined;
let foreign: NoVncSite | undefined;
let browser: TestBrowser | undefined;
let proxy: Daemon | undefined;
let proxyPort = 0;
let tokenFile: string;

/** Runs a test body with noVNC loaded from `from` in a fresh page of `b` (see withPage). */
function withNoVnc(
  t: TestContext,
  b: TestBrowser,
  from: NoVncSite,
  body: (view: NoVncView) => Promise<void>,
): Promise<void> {
  return withPage(t, b, (page) => openNoVnc(page, from), body);
}

/**
 * Connects to `url`, whose handshake the proxy refuses: noVNC never connects and reports
 * an unclean disconnect; the page's one WebSocket fails as a refused handshake does.
 */
async function refusedByProxy(view: NoVncView, url: string): Promise<void> {
  const events = await assertNeverConnects(view, url);
  assert.deepEqual(events.find((e) => e.type === 'disconnect')?.detail, { clean: false });
  const [socket] = await view.sockets();
  assert.deepEqual(socket?.events, ['error', 'close 1006']);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wsgate-e2e-'));
  const start = performance.now();
  // Started in parallel: each is bounded by its own timeout.
  const [v, s, f, b] = await Promise.allSettled([
    startVncServer({ width: 320, height: 240, colour: RED }),
    startNoVncSite(),
    startNoVncSite(),
    launchBrowser(),
  ]);
  vnc = valueOf(v);
  site = valueOf(s);
  foreign = valueOf(f);
  browser = valueOf(b);
  rethrowFirst([v, s, f, b]);

  tokenFile = join(dir, 'tokens.txt');
  writeFileSync(tokenFile, `# x11vnc on Xvfb :${vnc!.display}\nvm1: 127.0.0.1:${vnc!.port}\n`);
  proxy = spawnProxyProcess({ tokenFile, allowOrigin: site!.origin });
  proxyPort = portOf(await proxy.waitFor((l) => l.msg === 'proxy listening'));
  process.stdout.write(`# e2e setup (Xvfb, x11vnc, Chromium, wsgate) took ${since(start)}\n`);
}, SETUP);

after(async () => {
  await settleAll(
    () => browser?.close(),
    () => stopDaemon(proxy),
    () => vnc?.stop(),
    () => site?.close(),
    () => foreign?.close(),
  );
  rmSync(dir, { recursive: true, force: true });
}, SETUP);

describe('noVNC in Chromium through the wsgate CLI to x11vnc', () => {
  test('shows the X display, follows it live, and the session is logged', TEST, async (t) => {
    await withNoVnc(t, browser!, site!, async (view) => {
      let start = performance.now();
      await view.connect(`ws://127.0.0.1:${proxyPort}/?token=vm1`);
      await view.waitForStatus('connected');
      t.diagnostic(`connected in ${since(start)}`);

      start = performance.now();
      const red = await view.waitForColour(RED);
      t.diagnostic(`first frame in ${since(start)}: ${JSON.stringify(red)}`);
      assert.equal(red.width, vnc!.width);
      assert.equal(red.height, vnc!.height);
      assert.deepEqual(red.centre, [255, 0, 0]);
      await screenshot(view.page, 'novnc-red', t);

      // The page's WebSocket went through the proxy, with noVNC's subprotocol.
      const [socket] = await view.sockets();
      assert.equal(socket?.url, `ws://127.0.0.1:${proxyPort}/?token=vm1`);
      assert.equal(socket?.protocol, 'binary');
      const opened = await proxy!.waitFor((l) => l.msg === 'connection opened');
      assert.equal(opened.target, `127.0.0.1:${vnc!.port}`, JSON.stringify(opened));
      assert.equal(opened.protocol, 'binary');

      for (const colour of [BLUE, GREEN]) {
        start = performance.now();
        await vnc!.setColour(colour);
        const sample = await view.waitForColour(colour);
        t.diagnostic(`canvas turned ${colour} in ${since(start)}`);
        assert.equal(sample.matching, 1);
      }
      await screenshot(view.page, 'novnc-green', t);

      await view.disconnect();
      await view.waitForStatus('disconnected');
      const events = await view.events();
      const disconnect = events.find((e) => e.type === 'disconnect');
      assert.deepEqual(disconnect?.detail, { clean: true });
      await proxy!.waitFor((l) => l.msg === 'connection closed');
      assert.deepEqual(view.socketErrors, []);
    });
  });

  test(
    'a wrong token is refused: 401 in the browser, PROXY_ERR_UNKNOWN_TOKEN in the log',
    TEST,
    async (t) => {
      await withNoVnc(t, browser!, site!, async (view) => {
        await refusedByProxy(view, `ws://127.0.0.1:${proxyPort}/?token=nope`);
        // Chromium words a 401 to a WebSocket as an authentication failure.
        assert.match(view.socketErrors.join('\n'), /\b401\b|HTTP Authentication failed/);
        await assertRefusalLogged(proxy!, 'PROXY_ERR_UNKNOWN_TOKEN', 401);
      });
    },
  );

  test(
    'a page from a foreign origin is refused: 403, PROXY_ERR_ORIGIN_FORBIDDEN',
    TEST,
    async (t) => {
      assert.notEqual(foreign!.origin, site!.origin);
      await withNoVnc(t, browser!, foreign!, async (view) => {
        await refusedByProxy(view, `ws://127.0.0.1:${proxyPort}/?token=vm1`);
        assert.match(view.socketErrors.join('\n'), /\b403\b/);
        await assertRefusalLogged(proxy!, 'PROXY_ERR_ORIGIN_FORBIDDEN', 403);
      });
    },
  );
});

/** openssl, bounded; throws with its stderr. */
function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'pipe', timeout: 10_000 });
}

/**
 * A test CA and a server certificate it issues for `sans` (like cert-manager's CA
 * issuer): returns the paths of ca.crt, tls.crt and tls.key.
 */
function issueCertificate(into: string, sans: string): { ca: string; crt: string; key: string } {
  const ca = join(into, 'ca.crt');
  const caKey = join(into, 'ca.key');
  const key = join(into, 'tls.key');
  const csr = join(into, 'tls.csr');
  const crt = join(into, 'tls.crt');
  const ext = join(into, 'tls.ext');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    caKey,
    '-out',
    ca,
    '-days',
    '2',
    '-subj',
    '/CN=wsgate e2e test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  openssl(['req', '-new', ...ec, '-keyout', key, '-out', csr, '-subj', '/CN=wsgate e2e']);
  writeFileSync(
    ext,
    `subjectAltName=${sans}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`,
  );
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-out',
    crt,
    '-days',
    '1',
    '-extfile',
    ext,
  ]);
  return { ca, crt, key };
}

describe('wss:// with a certificate from a private CA (the Kubernetes setup)', () => {
  const NAME = 'wsgate.e2e.test';
  const WRONG = 'other.e2e.test';
  const hostMap = { [NAME]: '127.0.0.1', [WRONG]: '127.0.0.1' };
  let tls: Daemon | undefined;
  let tlsPort = 0;
  let trustingCa: TestBrowser | undefined;
  let trustingKey: TestBrowser | undefined;

  before(async () => {
    const certs = issueCertificate(dir, `DNS:${NAME},IP:127.0.0.1`);
    tls = spawnProxyProcess({
      tokenFile,
      allowOrigin: site!.origin,
      tls: { cert: certs.crt, key: certs.key },
    });
    const [port, caBrowser, keyBrowser] = await Promise.allSettled([
      tls.waitFor((l) => l.msg === 'proxy listening').then(portOf),
      launchBrowser({ trustCa: readFileSync(certs.ca), hostMap }),
      launchBrowser({ trustSpki: [spkiHash(readFileSync(certs.crt))], hostMap }),
    ]);
    trustingCa = valueOf(caBrowser);
    trustingKey = valueOf(keyBrowser);
    rethrowFirst([port, caBrowser, keyBrowser]);
    tlsPort = valueOf(port)!;
  }, SETUP);

  after(async () => {
    await settleAll(
      () => trustingCa?.close(),
      () => trustingKey?.close(),
      () => stopDaemon(tls),
    );
  }, SETUP);

  /** Connects over wss:// to `host`, checks the canvas shows the display and follows it. */
  async function showsDisplay(t: TestContext, b: TestBrowser, host: string): Promise<void> {
    await withNoVnc(t, b, site!, async (view) => {
      await vnc!.setColour(RED);
      const start = performance.now();
      await view.connect(`wss://${host}:${tlsPort}/?token=vm1`);
      await view.waitForStatus('connected');
      await view.waitForColour(RED);
      t.diagnostic(`wss://${host} connected and drew in ${since(start)}`);
      await vnc!.setColour(BLUE);
      await view.waitForColour(BLUE);
      await view.disconnect();
      await view.waitForStatus('disconnected');
      assert.deepEqual(view.socketErrors, []);
    });
  }

  /** Connects over wss:// to `host` and expects Chromium to refuse the certificate. */
  async function certificateRefused(
    t: TestContext,
    b: TestBrowser,
    host: string,
    error: RegExp,
  ): Promise<void> {
    await withNoVnc(t, b, site!, async (view) => {
      await assertNeverConnects(view, `wss://${host}:${tlsPort}/?token=vm1`);
      assert.match(view.socketErrors.join('\n'), error);
    });
  }

  test('a browser trusting the CA connects by name and sees the display', TEST, (t) =>
    showsDisplay(t, trustingCa!, NAME),
  );

  test('a browser trusting the CA still checks the name', TEST, (t) =>
    certificateRefused(t, trustingCa!, WRONG, /ERR_CERT_COMMON_NAME_INVALID/),
  );

  test('a browser that does not trust the CA refuses the certificate', TEST, (t) =>
    certificateRefused(t, browser!, '127.0.0.1', /ERR_CERT_AUTHORITY_INVALID/),
  );

  test("a browser trusting the certificate's key (SPKI) connects too", TEST, (t) =>
    showsDisplay(t, trustingKey!, NAME),
  );
});

describe('noVNC with a single-use ticket (--jwt-single-use, minted by `wsgate token`)', () => {
  /** The proxy's default --jwt-single-use-window. */
  const WINDOW_MS = 5000;
  let single: Daemon | undefined;
  let singlePort = 0;
  let keys: { priv: string; pub: string };

  before(async () => {
    keys = writeTicketKeys(dir);
    single = spawnProxyProcess({
      allowOrigin: site!.origin,
      args: ['--jwt-key', keys.pub, '--jwt-single-use', '--allow-target', '127.0.0.1/32'],
    });
    singlePort = portOf(await single.waitFor((l) => l.msg === 'proxy listening'));
  }, SETUP);

  after(() => stopDaemon(single), SETUP);

  test(
    'the ticket opens the console; its URL replayed in another browser context after the window is refused (401, PROXY_ERR_TOKEN_REPLAYED)',
    TEST,
    async (t) => {
      const ticket = await mintSingleUse(keys.priv, `127.0.0.1:${vnc!.port}`);
      const url = `ws://127.0.0.1:${singlePort}/?token=${ticket}`;
      await vnc!.setColour(BLUE);
      await withNoVnc(t, browser!, site!, async (view) => {
        await view.connect(url);
        await view.waitForStatus('connected');
        await view.waitForColour(BLUE);
        const opened = await single!.waitFor((l) => l.msg === 'connection opened');
        assert.match(String(opened.token), /^sha256:[0-9a-f]{12}$/);

        // While this console stays open, the same URL elsewhere after the window.
        await afterWindow(opened, WINDOW_MS);
        await withNoVnc(t, browser!, site!, async (replay) => {
          await refusedByProxy(replay, url);
          assert.match(replay.socketErrors.join('\n'), /\b401\b|HTTP Authentication failed/);
          await assertRefusalLogged(single!, 'PROXY_ERR_TOKEN_REPLAYED', 401);
        });
        const refused = single!.logs.find((l) => l.code === 'PROXY_ERR_TOKEN_REPLAYED')!;
        assert.equal(refused.token, opened.token, 'logged with the ticket hash');
        assert.equal(refused.detail, 'ticket already used');
        assertNoLeaks(single!.logs, [ticket]); // the ticket is never logged, in any form

        // The first console is unaffected and follows the display live.
        await vnc!.setColour(RED);
        await view.waitForColour(RED);
        assert.deepEqual(view.socketErrors, []);
      });
    },
  );
});

describe("QEMU's VNC on a Unix socket (token file: websockify's unix_socket:/path)", () => {
  let vm: SpiceVm | undefined;
  let unixProxy: Daemon | undefined;
  let unixPort = 0;
  let socketDir: string;
  let socketPath: string;

  before(async () => {
    socketDir = join(dir, 'sockets');
    mkdirSync(socketDir);
    socketPath = join(socketDir, 'vm2.vnc');
    const tokens = join(dir, 'unix-tokens.txt');
    writeFileSync(
      tokens,
      `vm2: unix_socket:${socketPath}\noutside: unix_socket:${join(dir, 'x.sock')}\n`,
    );
    const [v] = await Promise.allSettled([startSpiceVm({ vncUnixSocket: socketPath })]);
    vm = valueOf(v);
    rethrowFirst([v]);
    unixProxy = startWsgate([
      'proxy',
      '--listen',
      '127.0.0.1:0',
      '--token-file',
      tokens,
      '--metrics-listen',
      '',
      '--allow-origin',
      site!.origin,
      '--allow-unix-dir',
      socketDir,
    ]);
    unixPort = portOf(await unixProxy.waitFor((l) => l.msg === 'proxy listening'));
  }, SETUP);

  after(async () => {
    await settleAll(
      () => stopDaemon(unixProxy),
      () => vm?.stop(),
    );
  }, SETUP);

  test('noVNC shows the guest through the socket and follows it live', TEST, async (t) => {
    await withNoVnc(t, browser!, site!, async (view) => {
      const start = performance.now();
      await view.connect(`ws://127.0.0.1:${unixPort}/?token=vm2`);
      await view.waitForStatus('connected');
      // The boot sector's screen: black with one line of grey text, 720x400.
      const black = await view.waitForColour('#000000', { share: 0.95 });
      assert.equal(black.width, 720);
      assert.equal(black.height, 400);
      t.diagnostic(`connected and drew the guest in ${since(start)}`);
      const opened = await unixProxy!.waitFor((l) => l.msg === 'connection opened');
      assert.equal(opened.target, `unix:${socketPath}`);
      // A key typed into the guest (QMP) repaints it blue: frames keep coming through.
      await vm!.qmp('send-key', { keys: [{ type: 'qcode', data: '1' }] });
      const blue = await view.waitForColour(vgaHex(VGA.blue));
      assert.equal(blue.matching, 1);
      await screenshot(view.page, 'novnc-unix-socket', t);
      await view.disconnect();
      await view.waitForStatus('disconnected');
      assert.deepEqual(view.socketErrors, []);
    });
  });

  test(
    'a socket outside --allow-unix-dir is refused: 403 PROXY_ERR_UNIX_FORBIDDEN',
    TEST,
    async (t) => {
      await withNoVnc(t, browser!, site!, async (view) => {
        await refusedByProxy(view, `ws://127.0.0.1:${unixPort}/?token=outside`);
        assert.match(view.socketErrors.join('\n'), /\b403\b/);
        await assertRefusalLogged(unixProxy!, 'PROXY_ERR_UNIX_FORBIDDEN', 403);
      });
    },
  );
});

/** `#rrggbb` of an RGB triple. */
function vgaHex(rgb: readonly [number, number, number]): string {
  return '#' + rgb.map((c) => c.toString(16).padStart(2, '0')).join('');
}
