/**
 * The proxy's configuration, rendered as the YAML file `wsgate proxy --config` reads
 * (proxy/src/config/types.ts: flag --foo-bar is key fooBar). Only settings the resource
 * sets are written, so the proxy's own defaults stay the single source for the rest.
 */
import { createHash } from 'node:crypto';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { ProxyConfig } from '../../../proxy/src/contract.js';
import type { WebSocketProxy } from '../api/websocketproxy-types.js';
import type { OwnedObject } from '../api/external-types.js';
import { METRICS_PORT, objectMeta, objectNames } from '../objects/names.js';
import { CONFIG_KEY, PATHS, findMount, mountedFile } from '../objects/mounts.js';

/** A config file: any subset of the proxy's settings. */
export type ProxyConfigFile = Partial<ProxyConfig>;

/** A rendered ConfigMap. */
export type ConfigMapObject = V1ConfigMap & OwnedObject & { data: Record<string, string> };

function fileOf(wsp: WebSocketProxy, volume: string): string | undefined {
  const mount = findMount(wsp, volume);
  return mount && mountedFile(mount, mount.keys[0]!);
}

/**
 * The settings for `wsp`'s proxy pods, in a fixed key order (listeners, TLS, token
 * sources, targets, origins, client addresses, limits).
 */
export function renderProxyConfig(wsp: WebSocketProxy): ProxyConfigFile {
  const { spec } = wsp;
  const { tls, tokens, targets, limits } = spec;
  const config: ProxyConfigFile = {
    listen: `0.0.0.0:${spec.port}`,
    metricsListen: `0.0.0.0:${METRICS_PORT}`,
    logLevel: spec.logLevel,
    drainTimeout: spec.drainTimeoutSeconds,
  };
  const tlsMount = findMount(wsp, 'tls');
  if (tls && tlsMount) {
    config.tlsCert = mountedFile(tlsMount, 'tls.crt');
    config.tlsKey = mountedFile(tlsMount, 'tls.key');
    if (tls.minVersion) config.tlsMinVersion = tls.minVersion;
  }
  if (tokens.file) config.tokenFile = fileOf(wsp, 'tokens');
  if (tokens.jwt) {
    config.jwtKey = fileOf(wsp, 'jwt-key');
    if (tokens.jwt.algorithms) config.jwtAlgorithms = [...tokens.jwt.algorithms];
    if (tokens.jwt.audience !== undefined) config.jwtAudience = tokens.jwt.audience;
    if (tokens.jwt.issuer !== undefined) config.jwtIssuer = tokens.jwt.issuer;
    if (tokens.jwt.allowNoExp) config.jwtAllowNoExp = true;
    if (tokens.jwt.singleUse) config.jwtSingleUse = true;
    // The URL itself comes from its Secret as an environment variable (mounts.ts).
    const password = fileOf(wsp, 'replay-store-password');
    if (password) config.replayStorePasswordFile = password;
    const ca = fileOf(wsp, 'replay-store-ca');
    if (ca) config.replayStoreCa = ca;
  }
  if (tokens.ovirt) config.ovirtCert = fileOf(wsp, 'ovirt-cert');
  if (tokens.http) {
    config.tokenUrl = tokens.http.url;
    if (tokens.http.timeoutSeconds !== undefined)
      config.tokenUrlTimeout = tokens.http.timeoutSeconds;
    if (tokens.http.cacheSeconds !== undefined) config.tokenUrlCacheTtl = tokens.http.cacheSeconds;
  }
  if (targets?.allow?.length) config.allowTarget = [...targets.allow];
  if (targets?.tls) {
    config.targetTls = true;
    const ca = fileOf(wsp, 'target-ca');
    if (ca) config.targetCa = ca;
  }
  if (spec.allowedOrigins?.length) config.allowOrigin = [...spec.allowedOrigins];
  if (spec.allowMissingOrigin) config.allowMissingOrigin = true;
  if (spec.trustedProxies?.length) config.trustedProxy = [...spec.trustedProxies];
  if (spec.proxyProtocol) config.proxyProtocol = true;
  if (limits) {
    const map = [
      ['maxConnections', limits.maxConnections],
      ['maxConnectionsPerIp', limits.maxConnectionsPerIp],
      ['handshakeRate', limits.handshakeRate],
      ['connectTimeout', limits.connectTimeoutSeconds],
      ['handshakeTimeout', limits.handshakeTimeoutSeconds],
      ['idleTimeout', limits.idleTimeoutSeconds],
      ['maxSession', limits.maxSessionSeconds],
      ['maxMessageBytes', limits.maxMessageBytes],
      ['maxSessionsPerTarget', limits.maxSessionsPerTarget],
    ] as const;
    for (const [key, value] of map) if (value !== undefined) config[key] = value;
    if (limits.targetLimitPolicy) config.targetLimitPolicy = limits.targetLimitPolicy;
  }
  const rec = spec.recording;
  if (rec?.enabled) {
    config.recordDir = PATHS.recordings;
    if (rec.when !== undefined) config.recordWhen = rec.when;
    if (rec.input !== undefined) config.recordInput = rec.input;
    if (rec.maxBytes !== undefined) config.recordMaxBytes = rec.maxBytes;
    if (rec.retentionSeconds !== undefined) config.recordRetention = rec.retentionSeconds;
  }
  return config;
}

/**
 * sha256 (hex) of ConfigMap data, independent of key order. It goes on the pod
 * template, so pods roll exactly when their configuration changes; Secret contents are
 * not part of it, so certificate renewals and token edits do not roll them.
 */
export function configHash(data: Record<string, string>): string {
  const canonical = JSON.stringify(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : 1)));
  return createHash('sha256').update(canonical).digest('hex');
}

/** The ConfigMap with the proxy's YAML config under {@link CONFIG_KEY}. */
export function renderConfigMap(wsp: WebSocketProxy): ConfigMapObject {
  const yaml = stringify(renderProxyConfig(wsp), { lineWidth: 0 });
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: objectMeta(wsp, objectNames(wsp).configMap),
    data: { [CONFIG_KEY]: yaml },
  };
}
