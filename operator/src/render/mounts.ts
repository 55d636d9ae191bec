/**
 * Where each Secret the proxy reads is mounted. The ConfigMap renderer takes file paths
 * from here and the Deployment renderer takes volumes, so the two cannot disagree; the
 * status code takes the list of Secrets (and keys) to check.
 *
 * Secrets are mounted as directories, never with subPath: the kubelet then swaps in
 * renewed certificates and edited token files, and the proxy reloads them in place.
 */
import type { WebSocketProxy } from '../api/websocketproxy-types.js';
import { objectNames } from './common.js';

/** Mount directories inside the proxy container. */
export const PATHS = {
  config: '/etc/wsgate/config',
  tls: '/etc/wsgate/tls',
  tokens: '/etc/wsgate/tokens',
  jwt: '/etc/wsgate/jwt',
  ovirt: '/etc/wsgate/ovirt',
  targetCa: '/etc/wsgate/target-ca',
  tmp: '/tmp',
  recordings: '/var/lib/wsgate/recordings',
} as const;

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
}

/** The file a key of a mounted Secret appears as. */
export function mountedFile(mount: SecretMount, key: string): string {
  return `${mount.dir}/${key}`;
}

/**
 * Every Secret volume `wsp` needs, in a fixed order: TLS, token file, JWT key, oVirt
 * certificate, target CA. Only the named keys are projected, so unrelated keys of a
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
  ] as const;
  for (const [volume, ref, dir, field] of refs) {
    if (ref) mounts.push({ volume, secretName: ref.name, keys: [ref.key], dir, field });
  }
  return mounts;
}

/** The mount made for `volume`, if `wsp` has one. */
export function findMount(wsp: WebSocketProxy, volume: string): SecretMount | undefined {
  return secretMounts(wsp).find((m) => m.volume === volume);
}
