/**
 * The listener's TLS credentials, reloaded in place. cert-manager renews certificates
 * by rewriting the mounted Secret (a symlink swap); we notice, validate the new pair,
 * and hand it to `server.setSecureContext` so new handshakes get it while sessions that
 * are already open keep the old one. An invalid new pair (key not matching, garbage)
 * keeps the old context and is reported.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions, type Server as TlsServer } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { watchPaths, type Watcher } from './util/watch.js';

export interface TlsSettings {
  certFile: string;
  keyFile: string;
  /** PEM bundle of CAs that sign acceptable client certificates. */
  clientCaFile?: string;
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  ciphers?: string;
}

export interface TlsEvents {
  onReload?(result: 'ok' | 'error', detail: { error?: string; notAfter?: string }): void;
  /** notAfter of the leaf certificate now served, in Unix seconds. */
  onExpiry?(unixSeconds: number): void;
}

export class TlsCredentials {
  #options: SecureContextOptions;
  #fingerprint: string;
  #servers: TlsServer[] = [];
  #watcher: Watcher | undefined;

  /** Loads and validates the files once; throws with a message naming the bad file. */
  constructor(
    readonly settings: TlsSettings,
    private readonly events: TlsEvents = {},
    watch = true,
  ) {
    const loaded = this.load();
    this.#options = loaded.options;
    this.#fingerprint = loaded.fingerprint;
    events.onExpiry?.(loaded.notAfter);
    if (watch) {
      const files = [settings.certFile, settings.keyFile, settings.clientCaFile].filter(
        (f): f is string => !!f,
      );
      this.#watcher = watchPaths(files, () => this.reload());
    }
  }

  /** Options for `https.createServer`, including client-certificate settings. */
  serverOptions(): SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean } {
    const verifyClients = this.settings.clientCaFile !== undefined;
    return { ...this.#options, requestCert: verifyClients, rejectUnauthorized: verifyClients };
  }

  /** Servers whose context follows reloads. */
  attach(server: TlsServer): void {
    this.#servers.push(server);
  }

  reload(): void {
    let loaded;
    try {
      loaded = this.load();
    } catch (e) {
      this.events.onReload?.('error', { error: (e as Error).message });
      return;
    }
    if (loaded.fingerprint === this.#fingerprint) return;
    this.#options = loaded.options;
    this.#fingerprint = loaded.fingerprint;
    for (const s of this.#servers) s.setSecureContext(loaded.options);
    this.events.onExpiry?.(loaded.notAfter);
    this.events.onReload?.('ok', { notAfter: new Date(loaded.notAfter * 1000).toISOString() });
  }

  close(): void {
    this.#watcher?.close();
  }

  private load() {
    const { certFile, keyFile, clientCaFile, minVersion, ciphers } = this.settings;
    const read = (flag: string, file: string) => {
      try {
        return readFileSync(file);
      } catch (e) {
        throw new Error(`${flag}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`, {
          cause: e,
        });
      }
    };
    const cert = read('--tls-cert', certFile);
    const key = read('--tls-key', keyFile);
    const ca = clientCaFile ? read('--tls-client-ca', clientCaFile) : undefined;
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(cert);
    } catch (e) {
      throw new Error(`--tls-cert: ${certFile} holds no PEM certificate: ${(e as Error).message}`, {
        cause: e,
      });
    }
    const options: SecureContextOptions = {
      cert,
      key,
      minVersion,
      ...(ca ? { ca } : {}),
      ...(ciphers ? { ciphers } : {}),
    };
    try {
      // Throws for a key that does not match the certificate, bad PEM, bad ciphers.
      createSecureContext(options);
    } catch (e) {
      throw new Error(`--tls-cert/--tls-key: ${(e as Error).message}`, { cause: e });
    }
    return {
      options,
      notAfter: Math.floor(Date.parse(leaf.validTo) / 1000),
      fingerprint:
        cert.toString('base64') + key.toString('base64') + (ca?.toString('base64') ?? ''),
    };
  }
}

/**
 * The client-certificate subject allow-list (`--tls-client-subject`): entries match the
 * certificate's subject CN exactly. Empty: any certificate the CA signed is accepted.
 */
export function clientSubjectAllowed(
  allowed: readonly string[],
  subjectCN: string | undefined,
): boolean {
  return allowed.length === 0 || (subjectCN !== undefined && allowed.includes(subjectCN));
}
