/**
 * What the status policies need from the cluster (status/types.ts `Observed`): the
 * Secrets the spec names and the issuer, read now with GET (the operator may not watch
 * them), and the owned objects from the apply answers, which are newer than any cache,
 * or else from the caches.
 */
import type { V1Deployment, V1Secret, V1Service } from '@kubernetes/client-node';
import type { Certificate, Issuer, OwnedObject } from '../api/external-types.js';
import type { WebSocketProxy } from '../api/websocketproxy-types.js';
import { isStatus, type KubeClient } from '../kube/client.js';
import { objectPath, Resources } from '../kube/resources.js';
import { objectNames } from '../objects/names.js';
import { issuerToCheck } from '../status/certificate.js';
import { secretsToCheck } from '../status/secrets.js';
import type { Observed, SecretObservation } from '../status/types.js';
import { objectKey } from './apply.js';
import type { ClusterView } from './watches.js';

/**
 * GETs each Secret the spec names (once per name). Missing is 404; a 403 (no
 * RoleBinding of wsgate-operator-secrets in the namespace) is "unknown", which status
 * reports as not verified. Only key names are kept.
 */
async function readSecrets(
  client: KubeClient,
  wsp: WebSocketProxy,
): Promise<Record<string, SecretObservation>> {
  const namespace = wsp.metadata!.namespace!;
  const names = [...new Set(secretsToCheck(wsp).map((m) => m.secretName))];
  const entries = await Promise.all(
    names.map(async (name): Promise<[string, SecretObservation]> => {
      try {
        const secret = await client.get<V1Secret>(objectPath(Resources.Secret, namespace, name));
        if (!secret) return [name, { state: 'missing' }];
        const keys = [...Object.keys(secret.data ?? {}), ...Object.keys(secret.stringData ?? {})];
        return [name, { state: 'found', keys }];
      } catch (err) {
        if (!isStatus(err, 403)) throw err;
        return [
          name,
          { state: 'unknown', why: `the operator may not read Secrets in namespace ${namespace}` },
        ];
      }
    }),
  );
  return Object.fromEntries(entries);
}

/**
 * GETs the issuer of spec.tls.issuerRef: null when missing, undefined when there is
 * nothing to look up (no issuerRef, an external issuer group, cert-manager missing) or
 * the operator may not read it.
 */
async function readIssuer(
  client: KubeClient,
  wsp: WebSocketProxy,
  certManagerInstalled: boolean,
): Promise<Issuer | null | undefined> {
  const lookup = issuerToCheck(wsp);
  if (!lookup || !certManagerInstalled) return undefined;
  const resource = lookup.plural === 'issuers' ? Resources.Issuer : Resources.ClusterIssuer;
  try {
    return await client.get<Issuer>(objectPath(resource, lookup.namespace, lookup.name));
  } catch (err) {
    if (isStatus(err, 403)) return undefined;
    throw err;
  }
}

/** Which optional kinds are installed. */
export interface Environment {
  certManager: boolean;
  serviceMonitor: boolean;
}

/**
 * Everything status needs. `applied` holds the apply answers (empty when nothing was
 * applied, e.g. for an invalid spec: then the caches show the last good objects).
 */
export async function observe(
  client: KubeClient,
  view: ClusterView,
  wsp: WebSocketProxy,
  env: Environment,
  applied: ReadonlyMap<string, OwnedObject>,
): Promise<Observed> {
  const names = objectNames(wsp);
  const namespace = wsp.metadata!.namespace!;
  const current = <T>(kind: string, name: string): T | null =>
    ((applied.get(objectKey(kind, name)) ?? view.owned(kind, namespace, name)) as T) ?? null;
  const [secrets, issuer] = await Promise.all([
    readSecrets(client, wsp),
    readIssuer(client, wsp, env.certManager),
  ]);
  const observed: Observed = {
    certManagerInstalled: env.certManager,
    serviceMonitorInstalled: env.serviceMonitor,
    secrets,
    deployment: current<V1Deployment>('Deployment', names.deployment),
    service: current<V1Service>('Service', names.service),
  };
  if (issuer !== undefined) observed.issuer = issuer;
  if (env.certManager && wsp.spec.tls?.issuerRef) {
    observed.certificate = current<Certificate>('Certificate', names.certificate);
  }
  return observed;
}
