/**
 * The listener's TLS credentials, reloaded in place. cert-manager renews certificates
 * by rewriting the mounted Secret (a symlink swap); we notice, validate the new pair,
 * and hand it to `server.setSecureContext` so new handshakes get it while sessions that
 * are already open keep the old one. An invalid new pair (key not matching, garbage)
 * keeps the old context and is reported.
 */
import { createSecureContext, type SecureContextOptions, type Server as TlsServer } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { SettingError } from './config/setting-error.js';
import { filesSource, WatchedFile } from './util/watched-file.js';

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

/** A validated pair: the context's options and the leaf's notAfter in Unix seconds. */
interface Loaded {
  options: SecureContextOptions;
  notAfter: number;
}

export class TlsCredentials {
  readonly #files: WatchedFile<Buffer[], Loaded>;
  #servers: TlsServer[] = [];

  /**
   * Loads and validates the files once; throws a SettingError naming the bad file's flag.
   * The certificate, key and client CA are read as one consistent set (see
   * util/watched-file.ts), so a Secret swap never pairs a new certificate with an old key.
   */
  constructor(
    readonly settings: TlsSettings,
    private readonly events: TlsEvents = {},
    watch = true,
  ) {
    const { certFile, keyFile, clientCaFile } = settings;
    const flags = new Map([
      [certFile, '--tls-cert'],
      [keyFile, '--tls-key'],
    ]);
    if (clientCaFile) flags.set(clientCaFile, '--tls-client-ca');
    const files = clientCaFile ? [certFile, keyFile, clientCaFile] : [certFile, keyFile];
    this.#files = new WatchedFile<Buffer[], Loaded>({
      setting: '--tls-cert',
      source: filesSource(
        files,
        (file, e) =>
          new SettingError(
            flags.get(file) ?? '--tls-cert',
            `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`,
            { cause: e },
          ),
      ),
      parse: ([cert, key, ca]) => load(settings, cert!, key!, ca),
      watch,
      onReload: (r) => {
        if (r.error) {
          events.onReload?.('error', { error: r.error.message });
          return;
        }
        for (const s of this.#servers) s.setSecureContext(r.value.options);
        events.onExpiry?.(r.value.notAfter);
        events.onReload?.('ok', { notAfter: new Date(r.value.notAfter * 1000).toISOString() });
      },
    });
    events.onExpiry?.(this.#files.value.notAfter);
  }

  /** Options for `https.createServer`, including client-certificate settings. */
  serverOptions(): SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean } {
    const verifyClients = this.settings.clientCaFile !== undefined;
    return {
      ...this.#files.value.options,
      requestCert: verifyClients,
      rejectUnauthorized: verifyClients,
    };
  }

  /** Servers whose context follows reloads. */
  attach(server: TlsServer): void {
    this.#servers.push(server);
  }

  /** Re-checks the files now (the watcher does this on its own). */
  reload(): void {
    this.#files.check();
  }

  close(): void {
    this.#files.close();
  }
}

/** Validates a pair (and client CA); throws a SettingError naming the flag at fault. */
function load(settings: TlsSettings, cert: Buffer, key: Buffer, ca: Buffer | undefined): Loaded {
  const { certFile, minVersion, ciphers } = settings;
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (e) {
    throw new SettingError(
      '--tls-cert',
      `${certFile} holds no PEM certificate: ${(e as Error).message}`,
      { cause: e },
    );
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
    throw new SettingError('--tls-cert/--tls-key', (e as Error).message, { cause: e });
  }
  return { options, notAfter: Math.floor(Date.parse(leaf.validTo) / 1000) };
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
