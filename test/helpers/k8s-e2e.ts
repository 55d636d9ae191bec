/**
 * Helpers for the Kubernetes end-to-end test: a private CA in cert-manager (as its docs
 * set one up: a SelfSigned Issuer signs a CA Certificate, a CA Issuer signs with it), and
 * the proxy pod's mounts reproduced on disk in the kubelet's layout (`..data` symlink to
 * a timestamped directory, one symlink per key), so the built CLI runs with exactly the
 * files the operator's Deployment would give it.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { V1Secret } from '@kubernetes/client-node';
import { CONFIG_KEY, PATHS } from '../../operator/src/objects/mounts.js';
import { writeSecretMount } from '../proxy/tokens-fixtures.js';

/** A SelfSigned Issuer, a CA Certificate it signs (Secret `<name>`), and a CA Issuer `<name>`. */
export function caIssuerDocs(namespace: string, name: string): unknown[] {
  return [
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Issuer',
      metadata: { name: `${name}-selfsigned`, namespace },
      spec: { selfSigned: {} },
    },
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name, namespace },
      spec: {
        isCA: true,
        commonName: 'wsgate e2e manager CA',
        secretName: name,
        privateKey: { algorithm: 'ECDSA', size: 256 },
        issuerRef: { name: `${name}-selfsigned`, kind: 'Issuer', group: 'cert-manager.io' },
      },
    },
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Issuer',
      metadata: { name, namespace },
      spec: { ca: { secretName: name } },
    },
  ];
}

/** The decoded keys of a Secret. */
export function secretData(secret: V1Secret | null): Record<string, Buffer> {
  return Object.fromEntries(
    Object.entries(secret?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
  );
}

/** Only `keys` of `data` (the operator projects only the named keys into the pod). */
export function pick(data: Record<string, Buffer>, keys: string[]): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const k of keys) {
    const v = data[k];
    if (v === undefined) throw new Error(`key ${k} missing (have ${Object.keys(data).join()})`);
    out[k] = v;
  }
  return out;
}

/** Pod-like mount directories under `root`: root + the container's path. */
export class PodMounts {
  constructor(readonly root: string) {}

  /** Where the container's `path` is on this machine. */
  local(path: string): string {
    return join(this.root, path);
  }

  /** Writes (or swaps in, as the kubelet does on an update) a mount's files. */
  write(mountDir: string, files: Record<string, string | Buffer>): void {
    const dir = this.local(mountDir);
    mkdirSync(dir, { recursive: true });
    writeSecretMount(dir, files);
  }

  /**
   * Mounts the ConfigMap's proxy.yaml at PATHS.config, changed only where a process on
   * this machine must differ from a pod: every `/etc/wsgate/...` path gets this root as a
   * prefix, and the listeners move from 0.0.0.0:<port> to 127.0.0.1 ports of our choosing.
   * Returns the local config file's path and the list of keys changed (for the test to
   * assert that nothing else was).
   */
  writeConfig(
    rendered: string,
    listen: string,
    metricsListen: string,
  ): { file: string; changed: string[]; config: Record<string, unknown> } {
    const config = parse(rendered) as Record<string, unknown>;
    const changed: string[] = [];
    const prefix = '/etc/wsgate/';
    for (const [key, value] of Object.entries(config)) {
      if (typeof value === 'string' && value.startsWith(prefix)) {
        config[key] = this.local(value);
        changed.push(key);
      }
    }
    config['listen'] = listen;
    config['metricsListen'] = metricsListen;
    changed.push('listen', 'metricsListen');
    this.write(PATHS.config, { [CONFIG_KEY]: stringify(config) });
    return { file: this.local(`${PATHS.config}/${CONFIG_KEY}`), changed, config };
  }
}
