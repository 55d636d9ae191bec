/**
 * The cert-manager Certificate for spec.tls.issuerRef. cert-manager writes the key pair
 * to the Secret `<name>-tls`, which the pods mount; renewals update it in place and the
 * proxy reloads it, so a renewal never restarts a pod.
 */
import type { WebSocketProxy } from '../api/websocketproxy-types.js';
import { CERT_MANAGER_GROUP, type Certificate } from '../api/external-types.js';
import { labels, objectMeta, objectNames } from '../objects/names.js';

/** Returns the Certificate, or null when the resource brings its own Secret or has no TLS. */
export function renderCertificate(wsp: WebSocketProxy): Certificate | null {
  const tls = wsp.spec.tls;
  if (!tls?.issuerRef) return null;
  const names = objectNames(wsp);
  const { name, kind, group } = tls.issuerRef;
  const { algorithm, size, rotationPolicy } = tls.privateKey;
  const spec: Certificate['spec'] = {
    secretName: names.tlsSecret!,
    issuerRef: { name, kind, group },
    privateKey:
      size === undefined ? { algorithm, rotationPolicy } : { algorithm, size, rotationPolicy },
    // cert-manager owns the Secret; the labels say which proxy it serves.
    secretTemplate: { labels: labels(wsp) },
  };
  if (tls.dnsNames?.length) spec.dnsNames = [...tls.dnsNames];
  if (tls.ipAddresses?.length) spec.ipAddresses = [...tls.ipAddresses];
  if (tls.duration) spec.duration = tls.duration;
  if (tls.renewBefore) spec.renewBefore = tls.renewBefore;
  return {
    apiVersion: `${CERT_MANAGER_GROUP}/v1`,
    kind: 'Certificate',
    metadata: objectMeta(wsp, names.certificate),
    spec,
  };
}
