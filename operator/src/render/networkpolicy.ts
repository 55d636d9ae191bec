/**
 * The NetworkPolicy that isolates the proxy pods, made unless spec.networkPolicy.enabled
 * is false. Ingress: the WebSocket port from anywhere or from spec.networkPolicy.ingressFrom,
 * the metrics port from the namespaces of metricsNamespaceSelector. Egress: only what the
 * proxy dials (see {@link egressRules}); the Kubernetes API server is never among it,
 * since the proxy never calls the API.
 */
import { isIP } from 'node:net';
import type {
  V1NetworkPolicy,
  V1NetworkPolicyEgressRule,
  V1NetworkPolicyIngressRule,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
  V1NetworkPolicySpec,
} from '@kubernetes/client-node';
import type { WebSocketProxy } from '../api/websocketproxy-types.js';
import type { OwnedObject } from '../api/external-types.js';
import { METRICS_PORT, objectMeta, objectNames, selectorLabels } from '../objects/names.js';

/**
 * An ingress rule as the API has it (`from`; @kubernetes/client-node's model renames the
 * field `_from`, which its serializer maps back, but objects here are sent as plain JSON).
 */
export interface IngressRule extends Omit<V1NetworkPolicyIngressRule, '_from'> {
  from?: V1NetworkPolicyPeer[];
}

/** A rendered NetworkPolicy. */
export type NetworkPolicyObject = Omit<V1NetworkPolicy, 'spec'> &
  OwnedObject & { spec: Omit<V1NetworkPolicySpec, 'ingress'> & { ingress: IngressRule[] } };

/** Default ports of the URL schemes a proxy may dial besides its targets. */
const SCHEME_PORTS: Readonly<Record<string, number>> = {
  'http:': 80,
  'https:': 443,
  'redis:': 6379,
  'rediss:': 6379,
};

/** Every IPv4 and every IPv6 address. */
const ANYWHERE: readonly V1NetworkPolicyPeer[] = [
  { ipBlock: { cidr: '0.0.0.0/0' } },
  { ipBlock: { cidr: '::/0' } },
];

/** A target rule as a network and a port range (1-65535 for any port). */
export interface TargetNetwork {
  cidr: string;
  portMin: number;
  portMax: number;
}

const V4 = /^(\d{1,3}(?:\.\d{1,3}){3})(?:\/(\d{1,2}))?(?::(\d{1,5})(?:-(\d{1,5}))?)?$/;
const V6_BRACKETED = /^\[([0-9a-fA-F:.]+)(?:\/(\d{1,3}))?\](?::(\d{1,5})(?:-(\d{1,5}))?)?$/;
const V6_BARE = /^([0-9a-fA-F:.]*:[0-9a-fA-F:.]*)(?:\/(\d{1,3}))?$/;

function v4Bits(address: string): bigint {
  return address.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function v6Bits(address: string): bigint {
  let text = address;
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two hextets.
  const v4 = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (v4) {
    const bits = v4Bits(v4[1]!);
    text = `${text.slice(0, v4.index)}${(bits >> 16n).toString(16)}:${(bits & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
}

function v6Text(bits: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) =>
    ((bits >> BigInt((7 - i) * 16)) & 0xffffn).toString(16),
  );
  // The longest run of two or more zero groups becomes '::' (RFC 5952).
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLength).join(':')}`;
}

/**
 * `address/prefix` with the host bits cleared, as the API server keeps CIDRs
 * (10.1.2.3/8 becomes 10.0.0.0/8). `address` must be an IP literal.
 */
export function canonicalCidr(address: string, prefix?: number): string {
  const family = isIP(address);
  if (family === 0) throw new RangeError(`${address} is not an IP address`);
  const width = family === 4 ? 32 : 128;
  const length = prefix ?? width;
  if (!Number.isInteger(length) || length < 0 || length > width) {
    throw new RangeError(`${address}/${length}: prefix must be 0-${width}`);
  }
  const bits = family === 4 ? v4Bits(address) : v6Bits(address);
  const mask = ((1n << BigInt(width)) - 1n) ^ ((1n << BigInt(width - length)) - 1n);
  const network = bits & mask;
  if (family === 6) return `${v6Text(network)}/${length}`;
  const octets = [24n, 16n, 8n, 0n].map((shift) => String((network >> shift) & 0xffn));
  return `${octets.join('.')}/${length}`;
}

/**
 * Parses a spec.targets.allow entry (the proxy's syntax, validated before rendering) into
 * a network and port range; throws a RangeError for anything else.
 */
export function targetNetwork(rule: string): TargetNetwork {
  const m = V4.exec(rule) ?? V6_BRACKETED.exec(rule) ?? V6_BARE.exec(rule);
  if (!m) throw new RangeError(`"${rule}" is not CIDR[:PORT[-PORT]]`);
  const [, address, prefix, from, to] = m;
  const portMin = from === undefined ? 1 : Number(from);
  const portMax = to === undefined ? (from === undefined ? 65535 : portMin) : Number(to);
  const cidr = canonicalCidr(address!, prefix === undefined ? undefined : Number(prefix));
  return { cidr, portMin, portMax };
}

/** A TCP port range as a NetworkPolicyPort; none for every port. */
function tcpPorts(portMin: number, portMax: number): V1NetworkPolicyPort[] {
  if (portMin <= 1 && portMax >= 65535) return [{ protocol: 'TCP' }];
  const port: V1NetworkPolicyPort = { protocol: 'TCP', port: portMin };
  if (portMax > portMin) port.endPort = portMax;
  return [port];
}

/**
 * Egress to spec.targets.allow: one rule per port range, holding every network with that
 * range. With no allow-list (token file only) the targets are known only to the file's
 * contents, which the operator does not read, so TCP to any address is allowed.
 */
export function targetEgress(wsp: WebSocketProxy): V1NetworkPolicyEgressRule[] {
  const rules = wsp.spec.targets?.allow ?? [];
  if (rules.length === 0) return [{ to: [...ANYWHERE], ports: [{ protocol: 'TCP' }] }];
  const byPorts = new Map<string, { portMin: number; portMax: number; cidrs: string[] }>();
  for (const rule of rules) {
    const { cidr, portMin, portMax } = targetNetwork(rule);
    const key = `${portMin}-${portMax}`;
    const group = byPorts.get(key) ?? { portMin, portMax, cidrs: [] };
    if (!group.cidrs.includes(cidr)) group.cidrs.push(cidr);
    byPorts.set(key, group);
  }
  return [...byPorts.values()].map(({ portMin, portMax, cidrs }) => ({
    to: cidrs.map((cidr) => ({ ipBlock: { cidr } })),
    ports: tcpPorts(portMin, portMax),
  }));
}

/**
 * Egress to the host of a URL the proxy dials (http(s) token lookup, a redis replay
 * store): its port (explicit, else the scheme's), to the address when the host is an IP
 * literal. A host name cannot be put in a NetworkPolicy (it may be a Service, or outside
 * the cluster), so then the port is allowed to any address. Null for an unusable URL
 * (the schema refuses those) or a scheme without a known default port.
 */
export function urlEgress(url: string): V1NetworkPolicyEgressRule | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  const port = parsed.port ? Number(parsed.port) : SCHEME_PORTS[parsed.protocol];
  if (port === undefined) return null;
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const ports: V1NetworkPolicyPort[] = [{ protocol: 'TCP', port }];
  if (isIP(host)) return { to: [{ ipBlock: { cidr: canonicalCidr(host) } }], ports };
  return { to: [...ANYWHERE], ports };
}

/**
 * URLs of the services the proxy dials besides its targets, with the field each comes
 * from. A new one (e.g. a shared replay store) is one more entry here.
 */
export function serviceUrls(wsp: WebSocketProxy): { field: string; url: string }[] {
  const entries: [string, string | undefined][] = [
    ['spec.tokens.http.url', wsp.spec.tokens.http?.url],
  ];
  return entries.flatMap(([field, url]) => (url ? [{ field, url }] : []));
}

/** DNS: the proxy resolves target and lookup host names. Any resolver (node-local caches too). */
const DNS_EGRESS: V1NetworkPolicyEgressRule = {
  ports: [
    { protocol: 'UDP', port: 53 },
    { protocol: 'TCP', port: 53 },
  ],
};

/**
 * The replay store (Redis): its URL sits in a Secret the operator does not read, so the
 * host is unknown here; Redis's ports (6379, and 6380 as commonly used for rediss://) are
 * opened to any address. extraEgress can add a store on another port.
 */
const REPLAY_STORE_EGRESS: V1NetworkPolicyEgressRule = {
  ports: [
    { protocol: 'TCP', port: 6379 },
    { protocol: 'TCP', port: 6380 },
  ],
};

/**
 * Every egress rule, in a fixed order: DNS, targets, the services of {@link serviceUrls},
 * the replay store, then spec.networkPolicy.extraEgress as given.
 */
export function egressRules(wsp: WebSocketProxy): V1NetworkPolicyEgressRule[] {
  const rules: V1NetworkPolicyEgressRule[] = [structuredClone(DNS_EGRESS), ...targetEgress(wsp)];
  for (const { url } of serviceUrls(wsp)) {
    const rule = urlEgress(url);
    if (rule) rules.push(rule);
  }
  if (wsp.spec.tokens.jwt?.replayStore) rules.push(structuredClone(REPLAY_STORE_EGRESS));
  for (const extra of wsp.spec.networkPolicy.extraEgress ?? []) {
    rules.push(structuredClone(extra) as V1NetworkPolicyEgressRule);
  }
  return rules;
}

/** Ingress: WebSocket clients, and Prometheus on the metrics port. */
export function ingressRules(wsp: WebSocketProxy): IngressRule[] {
  const { port, networkPolicy } = wsp.spec;
  const clients: IngressRule = {};
  if (networkPolicy.ingressFrom?.length) {
    clients.from = structuredClone(networkPolicy.ingressFrom) as V1NetworkPolicyPeer[];
  }
  clients.ports = [{ protocol: 'TCP', port }];
  const metrics: IngressRule = {
    from: [{ namespaceSelector: structuredClone(networkPolicy.metricsNamespaceSelector) }],
    ports: [{ protocol: 'TCP', port: METRICS_PORT }],
  };
  return [clients, metrics];
}

/** Returns the NetworkPolicy, or null when spec.networkPolicy.enabled is false. */
export function renderNetworkPolicy(wsp: WebSocketProxy): NetworkPolicyObject | null {
  if (!wsp.spec.networkPolicy.enabled) return null;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: objectMeta(wsp, objectNames(wsp).networkPolicy),
    spec: {
      podSelector: { matchLabels: selectorLabels(wsp) },
      policyTypes: ['Ingress', 'Egress'],
      ingress: ingressRules(wsp),
      egress: egressRules(wsp),
    },
  };
}
