/** The prometheus-operator ServiceMonitor for the metrics Service, when asked for. */
import type { WebSocketProxy } from '../api/websocketproxy-types.js';
import { MONITORING_GROUP, type ServiceMonitor } from '../api/external-types.js';
import { objectMeta, objectNames } from '../objects/names.js';
import { metricsServiceLabels } from './service.js';

/**
 * Returns the ServiceMonitor when spec.metrics.serviceMonitor.enabled, else null. The
 * user's labels go on it (Prometheus finds ServiceMonitors by label); the operator's
 * own labels win on conflict so ownership stays visible.
 */
export function renderServiceMonitor(wsp: WebSocketProxy): ServiceMonitor | null {
  const wanted = wsp.spec.metrics.serviceMonitor;
  if (!wanted.enabled) return null;
  const metadata = objectMeta(wsp, objectNames(wsp).serviceMonitor, {
    labels: wanted.labels ?? {},
  });
  const endpoint: ServiceMonitor['spec']['endpoints'][number] = {
    port: 'metrics',
    path: '/metrics',
    scheme: 'http',
  };
  if (wanted.interval) endpoint.interval = wanted.interval;
  return {
    apiVersion: `${MONITORING_GROUP}/v1`,
    kind: 'ServiceMonitor',
    metadata,
    spec: {
      selector: { matchLabels: metricsServiceLabels(wsp) },
      namespaceSelector: { matchNames: [metadata.namespace] },
      endpoints: [endpoint],
    },
  };
}
