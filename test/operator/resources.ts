/** Builders of the WebSocketProxy resources (and what they refer to) the tests create. */
import type { Condition, WebSocketProxy } from '../../operator/src/api/websocketproxy-types.js';

/** A WebSocketProxy named `name` with a token file, with `spec` merged over that. */
export function proxy(
  namespace: string,
  name: string,
  spec: Record<string, unknown> = {},
): WebSocketProxy {
  return {
    apiVersion: 'wsgate.dev/v1alpha1',
    kind: 'WebSocketProxy',
    metadata: { name, namespace },
    spec: {
      tokens: { file: { secretRef: { name: 'console-tokens', key: 'tokens' } } },
      ...spec,
    } as WebSocketProxy['spec'],
  };
}

/** The token Secret proxy() refers to. */
export function tokenSecret(namespace: string, name = 'console-tokens'): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    stringData: { tokens: 'vm1: 10.0.0.5:5900\n' },
  };
}

/** A cert-manager SelfSigned Issuer. */
export function selfSignedIssuer(namespace: string, name = 'selfsigned'): unknown {
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Issuer',
    metadata: { name, namespace },
    spec: { selfSigned: {} },
  };
}

/** Reads a resource's condition of `type`. */
export function condition(wsp: WebSocketProxy | null, type: string): Condition | undefined {
  return wsp?.status?.conditions?.find((c) => c.type === type);
}

/** Paths of the objects one WebSocketProxy owns. */
export function paths(namespace: string, name: string) {
  const ns = `namespaces/${namespace}`;
  return {
    proxy: `/apis/wsgate.dev/v1alpha1/${ns}/websocketproxies/${name}`,
    configMap: `/api/v1/${ns}/configmaps/${name}`,
    service: `/api/v1/${ns}/services/${name}`,
    metricsService: `/api/v1/${ns}/services/${name}-metrics`,
    deployment: `/apis/apps/v1/${ns}/deployments/${name}`,
    pdb: `/apis/policy/v1/${ns}/poddisruptionbudgets/${name}`,
    certificate: `/apis/cert-manager.io/v1/${ns}/certificates/${name}`,
    tlsSecret: `/api/v1/${ns}/secrets/${name}-tls`,
    events: `/apis/events.k8s.io/v1/${ns}/events`,
    replicaSets: `/apis/apps/v1/${ns}/replicasets`,
  };
}
