/**
 * Where each Secret the proxy reads is mounted. The ConfigMap renderer takes file paths
 * from here and the Deployment renderer takes volumes, so the two cannot disagree; the
 * status code takes the list of Secrets (and keys) to check.
 *
 * Secrets are mounted as directories, never with subPath: the kubelet then swaps in
 * renewed certificates and edited token files, and the proxy reloads them in place.
 */
import type { WebSocketProxy } from '../api/websocketproxy-types.js';
import { objectNames } from './names.js';

/** Mount directories inside the proxy container. */
export const PATHS = {
  config: '/etc/wsgate/config',
  tls: '/etc/wsgate/tls',
  tokens: '/etc/wsgate/tokens',
  jwt: '/etc/wsgate/jwt',
  ovirt: '/etc/wsgate/ovirt',
  targetCa: '/etc/wsgate/target-ca',
  replayStorePassword: '/etc/wsgate/replay-store-password',
  replayStoreCa: '/etc/wsgate/replay-store-ca',
  tmp: '/tmp',
  recordings: '/var/lib/wsgate/recordings',
} as const;

/** The proxy's environment variable for `--replay-store`. */
export const REPLAY_STORE_ENV = 'WSGATE_REPLAY_STORE';

/** The ConfigMap key holding the proxy's YAML config, and the file the proxy is pointed at. */
export const CONFIG_KEY = 'proxy.yaml';
export const CONFIG_FILE = `${PATHS.config}/${CONFIG_KEY}`;

/** One Secret volume of the proxy pods. */
export interface SecretMount {
  /** Volume name in the pod. */
  volume: string;
  secretName: string;
  /** The keys projected into the directory (each as a file of the same name). */
  keys: string[];
  /** Mount directory. */
  dir: string;
  /** The spec field that asked for it, for condition messages. */
  field: string;
  /**
   * Set for a value the proxy takes as a setting rather than a file: the pod gets this
   * environment variable from the Secret's (one) key instead of a volume.
   */
  env?: string;
}

/** The file a key of a mounted Secret appears as. */
export function mountedFile(mount: SecretMount, key: string): string {
  return `${mount.dir}/${key}`;
}

/**
 * Every Secret `wsp` needs, in a fixed order: TLS, token file, JWT key, oVirt
 * certificate, target CA, replay store password and CA (volumes), replay store URL (an
 * environment variable). Only the named keys are projected, so unrelated keys of a
 * shared Secret never reach the pod.
 */
export function secretMounts(wsp: WebSocketProxy): SecretMount[] {
  const { tls, tokens, targets } = wsp.spec;
  const mounts: SecretMount[] = [];
  const tlsSecret = objectNames(wsp).tlsSecret;
  if (tls && tlsSecret) {
    mounts.push({
      volume: 'tls',
      secretName: tlsSecret,
      keys: ['tls.crt', 'tls.key'],
      dir: PATHS.tls,
      field: tls.secretName ? 'spec.tls.secretName' : 'spec.tls.issuerRef',
    });
  }
  const refs = [
    ['tokens', tokens.file?.secretRef, PATHS.tokens, 'spec.tokens.file.secretRef'],
    ['jwt-key', tokens.jwt?.keySecretRef, PATHS.jwt, 'spec.tokens.jwt.keySecretRef'],
    [
      'ovirt-cert',
      tokens.ovirt?.certificateSecretRef,
      PATHS.ovirt,
      'spec.tokens.ovirt.certificateSecretRef',
    ],
    ['target-ca', targets?.tls?.caSecretRef, PATHS.targetCa, 'spec.targets.tls.caSecretRef'],
    [
      'replay-store-password',
      tokens.jwt?.replayStore?.passwordSecretRef,
      PATHS.replayStorePassword,
      'spec.tokens.jwt.replayStore.passwordSecretRef',
    ],
    [
      'replay-store-ca',
      tokens.jwt?.replayStore?.caSecretRef,
      PATHS.replayStoreCa,
      'spec.tokens.jwt.replayStore.caSecretRef',
    ],
  ] as const;
  for (const [volume, ref, dir, field] of refs) {
    if (ref) mounts.push({ volume, secretName: ref.name, keys: [ref.key], dir, field });
  }
  const store = tokens.jwt?.replayStore?.secretRef;
  if (store) {
    // The proxy takes the URL as a setting; the Secret keeps it (and any host names) private.
    mounts.push({
      volume: 'replay-store',
      secretName: store.name,
      keys: [store.key],
      dir: '',
      field: 'spec.tokens.jwt.replayStore.secretRef',
      env: REPLAY_STORE_ENV,
    });
  }
  return mounts;
}

/** The mount made for `volume`, if `wsp` has one. */
export function findMount(wsp: WebSocketProxy, volume: string): SecretMount | undefined {
  return secretMounts(wsp).find((m) => m.volume === volume);
}
