/**
 * Two Services: the one clients reach (type, port, annotations and source ranges from
 * spec.service) and a headless one for metrics, so a LoadBalancer never exposes
 * /metrics and a ServiceMonitor has a Service of its own to select. Prometheus scrapes
 * the pods behind it, never a cluster IP, so it takes none from the Service range (500
 * proxies would otherwise hold 500 addresses for nothing).
 */
import type { V1Service, V1ServiceSpec } from '@kubernetes/client-node';
import type { WebSocketProxy } from '../api/websocketproxy-types.js';
import type { OwnedObject } from '../api/external-types.js';
import {
  METRICS_PORT,
  objectMeta,
  objectNames,
  selectorLabels,
  servicePort,
} from '../objects/names.js';

/** A rendered Service. */
export type ServiceObject = V1Service & OwnedObject & { spec: V1ServiceSpec };

/** Label that tells the metrics Service apart (the ServiceMonitor selects on it). */
export const METRICS_SERVICE_LABEL = 'wsgate.dev/service';

/** The client-facing Service; its port targets the container port named `websocket`. */
export function renderService(wsp: WebSocketProxy): ServiceObject {
  const service = wsp.spec.service;
  const spec: V1ServiceSpec = {
    type: service.type,
    selector: selectorLabels(wsp),
    ports: [
      { name: 'websocket', port: servicePort(wsp), targetPort: 'websocket', protocol: 'TCP' },
    ],
  };
  if (service.type === 'LoadBalancer' && service.loadBalancerSourceRanges?.length) {
    spec.loadBalancerSourceRanges = [...service.loadBalancerSourceRanges];
  }
  if (service.externalTrafficPolicy && service.type !== 'ClusterIP') {
    spec.externalTrafficPolicy = service.externalTrafficPolicy;
  }
  const annotations = service.annotations ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: objectMeta(wsp, objectNames(wsp).service, { annotations }),
    spec,
  };
}

/** Labels of the metrics Service, which the ServiceMonitor matches. */
export function metricsServiceLabels(wsp: WebSocketProxy): Record<string, string> {
  return { ...selectorLabels(wsp), [METRICS_SERVICE_LABEL]: 'metrics' };
}

/** The headless in-cluster metrics Service (port `metrics`, 9090). */
export function renderMetricsService(wsp: WebSocketProxy): ServiceObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: objectMeta(wsp, objectNames(wsp).metricsService, {
      labels: { [METRICS_SERVICE_LABEL]: 'metrics' },
    }),
    spec: {
      type: 'ClusterIP',
      clusterIP: 'None',
      selector: selectorLabels(wsp),
      ports: [{ name: 'metrics', port: METRICS_PORT, targetPort: 'metrics', protocol: 'TCP' }],
    },
  };
}
