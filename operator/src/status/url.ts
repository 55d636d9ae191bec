/** status.url: where browsers connect. */
import type { V1Service } from '@kubernetes/client-node';
import type { WebSocketProxy } from '../api/websocketproxy-types.js';
import { identity, objectNames, servicePort } from '../objects/names.js';

/**
 * spec.publicURL when set. Otherwise wss:// with TLS (ws:// without) to, in order: the
 * first tls.dnsNames entry without a wildcard, the Service's load-balancer address (when
 * `service` is given and has one), or the Service's in-cluster name. The port is left out
 * when it is the scheme's default.
 */
export function proxyURL(wsp: WebSocketProxy, service?: V1Service | null): string {
  if (wsp.spec.publicURL) return wsp.spec.publicURL;
  const secure = wsp.spec.tls !== undefined;
  const ingress = service?.status?.loadBalancer?.ingress?.[0];
  let host =
    wsp.spec.tls?.dnsNames?.find((n) => !n.startsWith('*')) ??
    ingress?.hostname ??
    ingress?.ip ??
    `${objectNames(wsp).service}.${identity(wsp).namespace}.svc`;
  if (host.includes(':')) host = `[${host}]`;
  const port = servicePort(wsp);
  const shown = port === (secure ? 443 : 80) ? '' : `:${port}`;
  return `${secure ? 'wss' : 'ws'}://${host}${shown}/`;
}
