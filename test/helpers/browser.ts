/**
 * Headless Chromium for end-to-end tests: Debian's /usr/bin/chromium (package chromium)
 * driven by playwright-core. No browser is downloaded; `WSGATE_CHROMIUM` may name another
 * Chromium binary. Each launch gets a fresh temporary profile (playwright's
 * `--user-data-dir`), removed on close.
 *
 * Trusting a private certificate for wss:// (the Kubernetes test: the proxy's
 * certificate is issued by cert-manager from a test CA) without touching the system
 * store. Both ways below were tried with Debian's Chromium 156 (test/e2e/novnc.test.ts
 * keeps them working):
 *
 *  1. `trustCa` (preferred; faithful): Chromium on Linux also trusts the roots of the NSS
 *     database in `$HOME/.pki/nssdb`. The helper makes a private HOME, imports each CA
 *     certificate there with `certutil -A -t C,,` (Debian package libnss3-tools, in
 *     scripts/install-test-deps.sh) and starts Chromium with that HOME. Everything is
 *     then checked as for a public site: the chain up to that CA, the name the page
 *     dials against `subjectAltName` (a wrong name fails ERR_CERT_COMMON_NAME_INVALID),
 *     the validity period. Renewals by the same CA need nothing.
 *  2. `trustSpki` (a shortcut): `--ignore-certificate-errors-spki-list=<base64 sha256 of
 *     a SubjectPublicKeyInfo>` (Chromium honours it only with `--user-data-dir`, which
 *     playwright passes). When a certificate the server presents has a listed key, EVERY
 *     error is ignored, the name and the dates included (verified: a name not in the
 *     certificate still loads). So it proves the wss:// path works with that key, not
 *     that the certificate is right; pair it with a check in Node (`tls.connect` with
 *     `ca` and `servername`) if that matters. Pass the leaf's key (`spkiHash(tls.crt)`):
 *     the CA may not be in the chain the server sends. A renewal with a new key
 *     (cert-manager's `rotationPolicy: Always`) needs the new hash.
 *
 * Playwright's `ignoreHTTPSErrors` is deliberately not used: it accepts any certificate.
 *
 * Names: `hostMap` resolves names to addresses inside Chromium only
 * (`--host-resolver-rules`), so a page can dial `wss://wsgate.example.test:PORT` at a
 * port-forward on 127.0.0.1 and the certificate's DNS name is what gets checked; no
 * /etc/hosts edit.
 */
import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.WSGATE_CHROMIUM || '/usr/bin/chromium';

/** Flags for a quiet, self-contained headless Chromium in a sandboxed CI machine. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox', // containers without user namespaces; the pages are our own
  '--disable-gpu',
  '--disable-dev-shm-usage', // small /dev/shm in containers
  '--disable-quic',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-extensions',
  '--disable-features=Translate,MediaRouter,OptimizationHints',
  '--password-store=basic',
  '--use-mock-keychain',
];

export interface BrowserOptions {
  /** PEM CA certificate(s) (one or a bundle) to trust as roots, via a private NSS database. */
  trustCa?: string | Buffer;
  /** Base64 SHA-256 SPKI hashes whose certificates are accepted whatever their errors. */
  trustSpki?: string[];
  /** Host name → IP address, for Chromium only (e.g. `{ 'wsgate.test': '127.0.0.1' }`). */
  hostMap?: Record<string, string>;
  /** More Chromium flags. */
  args?: string[];
  /** Bound on the launch. */
  timeoutMs?: number;
}

export interface TestBrowser {
  browser: Browser;
  /** A new page in a new, isolated context (bounded default timeouts). */
  newPage(timeoutMs?: number): Promise<Page>;
  /** Closes the browser (bounded) and removes the private HOME, if any. */
  close(): Promise<void>;
}

/** base64(sha256(SubjectPublicKeyInfo DER)) of a PEM certificate, for `trustSpki`. */
export function spkiHash(certPem: string | Buffer): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

function certutil(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('certutil', args, { timeout: 10_000 }, (err, _out, stderr) =>
      err ? reject(new Error(`certutil ${args.join(' ')}: ${err.message} ${stderr}`)) : resolve(),
    );
  });
}

/** A fresh HOME whose NSS database trusts the CA certificates in `pem` (as TLS roots). */
export async function nssHomeTrusting(pem: string | Buffer): Promise<string> {
  const certs = pem
    .toString()
    .match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!certs?.length) throw new Error('trustCa: no PEM certificate found');
  const home = mkdtempSync(join(tmpdir(), 'wsgate-chromium-home-'));
  try {
    const dir = join(home, '.pki', 'nssdb');
    mkdirSync(dir, { recursive: true });
    const db = `sql:${dir}`;
    await certutil(['-N', '-d', db, '--empty-password']);
    for (const [i, cert] of certs.entries()) {
      const file = join(home, `ca-${i}.pem`);
      writeFileSync(file, `${cert}\n`);
      await certutil(['-A', '-d', db, '-n', `wsgate-test-ca-${i}`, '-t', 'C,,', '-i', file]);
    }
    return home;
  } catch (e) {
    rmSync(home, { recursive: true, force: true });
    throw e;
  }
}

/** Launches Debian's Chromium headless; throws with playwright's launch log if it cannot. */
export async function launchBrowser(opts: BrowserOptions = {}): Promise<TestBrowser> {
  const args = [...CHROMIUM_ARGS, ...(opts.args ?? [])];
  if (opts.trustSpki?.length)
    args.push(`--ignore-certificate-errors-spki-list=${opts.trustSpki.join(',')}`);
  const rules = Object.entries(opts.hostMap ?? {}).map(([name, ip]) => `MAP ${name} ${ip}`);
  if (rules.length) args.push(`--host-resolver-rules=${rules.join(', ')}`);
  const home = opts.trustCa ? await nssHomeTrusting(opts.trustCa) : undefined;
  let browser: Browser;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args,
      timeout: opts.timeoutMs ?? 30_000,
      ...(home ? { env: { ...process.env, HOME: home } } : {}),
    });
  } catch (e) {
    if (home) rmSync(home, { recursive: true, force: true });
    throw e;
  }
  return {
    browser,
    async newPage(timeoutMs = 15_000) {
      const context = await browser.newContext();
      const page = await context.newPage();
      page.setDefaultTimeout(timeoutMs);
      page.setDefaultNavigationTimeout(timeoutMs);
      return page;
    },
    async close() {
      // playwright closes the browser it launched, or kills it after its own grace time,
      // and kills it when this process exits; the bound here only keeps a hook finite.
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((r) => (timer = setTimeout(r, 15_000)));
      await Promise.race([browser.close(), late]);
      clearTimeout(timer);
      if (home) rmSync(home, { recursive: true, force: true });
    },
  };
}
