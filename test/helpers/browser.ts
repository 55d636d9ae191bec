/**
 * Headless Chromium for end-to-end tests: Debian's /usr/bin/chromium (package chromium)
 * driven by playwright-core. No browser is downloaded; `WSGATE_CHROMIUM` may name another
 * Chromium binary.
 *
 * Trusting a private certificate for wss:// (the Kubernetes test: the proxy's
 * certificate is issued by cert-manager from a test CA), without touching the system
 * store. Two ways work with this Chromium:
 *
 *  1. `trustSpki` (what this helper implements): Chromium's
 *     `--ignore-certificate-errors-spki-list=<base64 sha256 of the SubjectPublicKeyInfo>`
 *     accepts a chain that fails verification when one of the certificates the server
 *     presents has a listed key. Pass the leaf's key (`spkiHash(tls.crt)`): cert-manager
 *     may or may not send the CA in the chain, and the leaf always is. Chromium honours
 *     the flag only together with `--user-data-dir`, which playwright always passes (a
 *     fresh temporary profile per launch). Every other check still applies: the name must
 *     match (`subjectAltName` with the host the page dials) and the certificate must be
 *     within its validity period, so it is a faithful test of what a browser sees, except
 *     that the anchor is "this key" rather than "this CA". A certificate renewed with a
 *     new key (cert-manager's `rotationPolicy: Always`) needs the new hash.
 *  2. An NSS database in a private HOME: Chromium on Linux also trusts roots from
 *     `$HOME/.pki/nssdb`. Create it with `certutil -N -d sql:$HOME/.pki/nssdb
 *     --empty-password` and `certutil -A -d sql:$HOME/.pki/nssdb -n test-ca -t C,, -i
 *     ca.crt` (Debian package libnss3-tools), then launch with `env: { ...process.env,
 *     HOME }`. That trusts the CA itself, so renewals need nothing, at the cost of a
 *     package and a subprocess. Use it if a test must survive a key rotation.
 *
 * Playwright's `ignoreHTTPSErrors` is deliberately not used: it accepts any certificate,
 * so it would not notice a wrong name or an expired certificate.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.WSGATE_CHROMIUM || '/usr/bin/chromium';

/** Flags for a quiet, self-contained headless Chromium in a sandboxed CI machine. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox', // containers without user namespaces; the page is our own
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
  /** Base64 SHA-256 SPKI hashes of certificates to accept (see `spkiHash`). */
  trustSpki?: string[];
  /** More Chromium flags. */
  args?: string[];
  /** Bound on the launch. */
  timeoutMs?: number;
  /** Environment of the browser process (e.g. a private HOME with an NSS database). */
  env?: NodeJS.ProcessEnv;
}

export interface TestBrowser {
  browser: Browser;
  /** A new page in a new, isolated context (bounded default timeouts). */
  newPage(timeoutMs?: number): Promise<Page>;
  /** Closes the browser (bounded; playwright kills the process it started if needed). */
  close(): Promise<void>;
}

/** base64(sha256(SubjectPublicKeyInfo DER)) of a PEM certificate, for `trustSpki`. */
export function spkiHash(certPem: string | Buffer): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/** Launches Debian's Chromium headless; throws with Chromium's own output if it cannot. */
export async function launchBrowser(opts: BrowserOptions = {}): Promise<TestBrowser> {
  const args = [...CHROMIUM_ARGS, ...(opts.args ?? [])];
  if (opts.trustSpki?.length)
    args.push(`--ignore-certificate-errors-spki-list=${opts.trustSpki.join(',')}`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args,
    timeout: opts.timeoutMs ?? 30_000,
    ...(opts.env ? { env: opts.env } : {}),
  });
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
    },
  };
}
