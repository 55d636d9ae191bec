import { readFileSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

/** What a kubeconfig for this control plane needs. */
export interface KubeconfigSpec {
  readonly server: string;
  readonly caCert: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** Impersonate this user (e.g. system:serviceaccount:ns:name) on every request. */
  readonly as?: string;
  readonly asGroups?: readonly string[];
}

const b64 = (file: string): string => readFileSync(file).toString('base64');

/**
 * Writes a self-contained kubeconfig (certificates embedded, not referenced),
 * so it stays valid wherever it is copied and whatever the working directory.
 */
export function writeKubeconfig(path: string, spec: KubeconfigSpec): void {
  const user: Record<string, unknown> = {
    'client-certificate-data': b64(spec.clientCert),
    'client-key-data': b64(spec.clientKey),
  };
  if (spec.as !== undefined) user['as'] = spec.as;
  if (spec.asGroups !== undefined) user['as-groups'] = [...spec.asGroups];
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'wsgate-test',
        cluster: { server: spec.server, 'certificate-authority-data': b64(spec.caCert) },
      },
    ],
    users: [{ name: 'wsgate-test', user }],
    contexts: [{ name: 'wsgate-test', context: { cluster: 'wsgate-test', user: 'wsgate-test' } }],
    'current-context': 'wsgate-test',
  };
  writeFileSync(path, stringify(doc), { mode: 0o600 });
}
