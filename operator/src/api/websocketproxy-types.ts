// Generated from crds/wsgate.dev_websocketproxies.yaml by scripts/gen-crd-types.mjs.
// Do not edit: change the CRD and run `node scripts/gen-crd-types.mjs`.
import type { V1ObjectMeta } from '@kubernetes/client-node';

/** API group. */
export const GROUP = 'wsgate.dev';
/** Served and stored version. */
export const VERSION = 'v1alpha1';
/** `apiVersion` of every WebSocketProxy. */
export const API_VERSION = 'wsgate.dev/v1alpha1';
/** Kind. */
export const KIND = 'WebSocketProxy';
/** Kind of lists. */
export const LIST_KIND = 'WebSocketProxyList';
/** Resource name in URLs and RBAC rules. */
export const PLURAL = 'websocketproxies';
/** Name of the CustomResourceDefinition. */
export const CRD_NAME = 'websocketproxies.wsgate.dev';

/**
 * A WebSocket-to-TCP console proxy (VNC/SPICE) run by the wsgate operator: a Deployment of proxy
 * pods, their configuration, a Service and, when asked, a cert-manager Certificate, a
 * PodDisruptionBudget and a ServiceMonitor. Schema: the resource.
 */
export interface WebSocketProxy {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
  /** Desired state of the proxy. */
  spec: WebSocketProxySpec;
  /** Observed state, written by the operator. */
  status?: WebSocketProxyStatus;
}

/** Desired state of the proxy. Schema: `spec`. */
export interface WebSocketProxySpec {
  /**
   * Proxy pods. Two by default so a node drain does not stop new console sessions; a
   * PodDisruptionBudget is made when this is above 1. Not used while autoscaling is set (the
   * autoscaler decides). Default `2`.
   */
  replicas: number;
  /** Proxy image. Defaults to the operator's own image, which contains both. */
  image?: string;
  /** Kubernetes' rule (by tag) applies when unset. */
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /** Secrets for pulling the image from a private registry. */
  imagePullSecrets?: LocalObjectReference[];
  /**
   * Container port the proxy listens on for WebSocket upgrades. Above 1023 because the pods run as
   * non-root with every capability dropped; 9090 is taken by the metrics listener. Default `6080`.
   */
  port: number;
  /** Proxy log level. Default `'info'`. */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /**
   * On shutdown, seconds open sessions get before they are closed with 1001. The pods' termination
   * grace period is this plus a few seconds. Default `30`.
   */
  drainTimeoutSeconds: number;
  /**
   * The URL browsers use, when it is not what the operator would compute (for example behind an
   * ingress). Shown as status.url.
   */
  publicURL?: string;
  /** The Service in front of the proxy pods. Default `{}`. */
  service: ServiceSpec;
  /**
   * TLS for the WebSocket listener: either issuerRef (the operator makes a cert-manager
   * Certificate) or secretName (a kubernetes.io/tls Secret you manage). Optional: without it the
   * proxy serves plain ws://, which suits a TLS-terminating ingress or load balancer in front. The
   * proxy reloads renewed certificates without restarting.
   */
  tls?: TlsSpec;
  /**
   * Where the proxy resolves a session token to a target. Several sources may be set; the first
   * that recognises a token answers.
   */
  tokens: TokensSpec;
  /** Which VNC/SPICE servers sessions may reach. */
  targets?: TargetsSpec;
  /**
   * Browser origins allowed to connect: https://manager.example.com, https://*.example.com
   * (subdomains only) or * (any). Empty: same-origin pages only (the Origin's host equals the Host
   * header).
   */
  allowedOrigins?: string[];
  /** Accept upgrades without an Origin header (non-browser clients). Default `false`. */
  allowMissingOrigin: boolean;
  /** Addresses or CIDRs whose X-Forwarded-For is believed for the client IP. */
  trustedProxies?: string[];
  /**
   * Expect a PROXY protocol v1/v2 header (from a load balancer that sends one). Default `false`.
   */
  proxyProtocol: boolean;
  /**
   * Connection limits and timeouts; each one unset takes the proxy's default (no limit for counts).
   * 0 means unlimited.
   */
  limits?: LimitsSpec;
  /**
   * Session recording (the proxy's --record-* settings): one file per session (per channel for
   * SPICE) in websockify's recording format, written to /var/lib/wsgate/recordings on the volume
   * given here (an emptyDir of 1Gi when neither persistentVolumeClaim nor emptyDir is set). Replay
   * with `wsgate play FILE`.
   */
  recording?: RecordingSpec;
  /** Prometheus metrics (served on port 9090 by every pod). Default `{}`. */
  metrics: MetricsSpec;
  /**
   * Used when replicas is above 1. At most one of minAvailable and maxUnavailable; maxUnavailable 1
   * when neither is set.
   */
  podDisruptionBudget?: PodDisruptionBudgetSpec;
  /**
   * A HorizontalPodAutoscaler (autoscaling/v2) on the proxy Deployment. While this is set the
   * operator leaves the Deployment's replicas to the autoscaler and spec.replicas is not used;
   * removing it hands replicas back to spec.replicas. Scale-down removes at most one pod per drain
   * period, so consoles get their drainTimeoutSeconds.
   */
  autoscaling?: AutoscalingSpec;
  /**
   * A NetworkPolicy isolating the proxy pods (on by default). Ingress: the WebSocket port from
   * anywhere (or from ingressFrom), the metrics port from metricsNamespaceSelector. Egress:
   * targets.allow (any address on TCP when it is empty), DNS (port 53), the tokens.http lookup host
   * and extraEgress; nothing else, so not the Kubernetes API server. Enforced only where the
   * cluster's network plugin supports NetworkPolicy. Default `{}`.
   */
  networkPolicy: NetworkPolicySpec;
  /** CPU and memory for the proxy container. */
  resources?: ResourceRequirements;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  /** A core/v1 Affinity, passed to the pods unchanged. */
  affinity?: Record<string, unknown>;
  priorityClassName?: string;
  /**
   * Extra pod labels. The operator's own selector labels (app.kubernetes.io/name, instance,
   * component) win over these.
   */
  podLabels?: Record<string, string>;
  /** Extra pod annotations; wsgate.dev/config-hash is the operator's. */
  podAnnotations?: Record<string, string>;
}

/** Schema: `spec.imagePullSecrets[]`. */
export interface LocalObjectReference {
  /** Name of a Secret in this namespace. */
  name: string;
}

/** The Service in front of the proxy pods. Schema: `spec.service`. */
export interface ServiceSpec {
  /** Default `'ClusterIP'`. */
  type: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  /** Service port. Default 443 with spec.tls, 80 without. */
  port?: number;
  /** Annotations for the Service (load-balancer settings, external-dns). */
  annotations?: Record<string, string>;
  /** Client CIDRs a LoadBalancer Service admits. */
  loadBalancerSourceRanges?: string[];
  /**
   * Local keeps the client's source address, which the per-IP limits need when no trusted proxy
   * reports it.
   */
  externalTrafficPolicy?: 'Cluster' | 'Local';
}

/**
 * TLS for the WebSocket listener: either issuerRef (the operator makes a cert-manager Certificate)
 * or secretName (a kubernetes.io/tls Secret you manage). Optional: without it the proxy serves
 * plain ws://, which suits a TLS-terminating ingress or load balancer in front. The proxy reloads
 * renewed certificates without restarting. Schema: `spec.tls`.
 */
export interface TlsSpec {
  /** The cert-manager issuer that signs the proxy's certificate. */
  issuerRef?: IssuerRef;
  /** A kubernetes.io/tls Secret in this namespace with tls.crt and tls.key. */
  secretName?: string;
  /** Names in the certificate; the first one without a wildcard is the host of status.url. */
  dnsNames?: string[];
  /** IP addresses in the certificate. */
  ipAddresses?: string[];
  /** Certificate lifetime (Go duration, e.g. 2160h); cert-manager's default when unset. */
  duration?: string;
  /** How long before expiry cert-manager renews (Go duration, e.g. 360h). */
  renewBefore?: string;
  /**
   * The certificate's private key (issuerRef only). Ed25519 is not offered because browsers do not
   * accept it for TLS. Default `{}`.
   */
  privateKey: PrivateKeySpec;
  /** Oldest TLS version accepted; the proxy's default (TLSv1.2) when unset. */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
}

/** The cert-manager issuer that signs the proxy's certificate. Schema: `spec.tls.issuerRef`. */
export interface IssuerRef {
  name: string;
  /** Default `'Issuer'`. */
  kind: string;
  /** Default `'cert-manager.io'`. */
  group: string;
}

/**
 * The certificate's private key (issuerRef only). Ed25519 is not offered because browsers do not
 * accept it for TLS. Schema: `spec.tls.privateKey`.
 */
export interface PrivateKeySpec {
  /** Default `'ECDSA'`. */
  algorithm: 'RSA' | 'ECDSA';
  /** Key size; cert-manager's default (RSA 2048, ECDSA 256) when unset. */
  size?: number;
  /** Always makes a new key at each renewal. Default `'Always'`. */
  rotationPolicy: 'Always' | 'Never';
}

/**
 * Where the proxy resolves a session token to a target. Several sources may be set; the first that
 * recognises a token answers. Schema: `spec.tokens`.
 */
export interface TokensSpec {
  /**
   * A websockify token file (lines of "token: host:port") from a Secret; edits apply without a
   * restart.
   */
  file?: FileTokensSpec;
  /** Signed tickets (JWS) whose claims host, port and exp name the target. */
  jwt?: JwtTokensSpec;
  /** oVirt engine console tickets, verified against the engine's certificate. */
  ovirt?: OvirtTokensSpec;
  /**
   * Look tokens up with GET on url (answer: JSON host and port); timeouts and failures refuse the
   * session.
   */
  http?: HttpTokensSpec;
}

/**
 * A websockify token file (lines of "token: host:port") from a Secret; edits apply without a
 * restart. Schema: `spec.tokens.file`.
 */
export interface FileTokensSpec {
  /** Secret key holding the token file. */
  secretRef: SecretKeySelector;
}

/**
 * Schema: `spec.tokens.file.secretRef`, `spec.tokens.jwt.keySecretRef`,
 * `spec.tokens.jwt.replayStore.secretRef`, `spec.tokens.jwt.replayStore.passwordSecretRef`,
 * `spec.tokens.jwt.replayStore.caSecretRef`, `spec.tokens.ovirt.certificateSecretRef`,
 * `spec.targets.tls.caSecretRef`.
 */
export interface SecretKeySelector {
  /** Secret in this namespace. */
  name: string;
  /** Key within the Secret. */
  key: string;
}

/**
 * Signed tickets (JWS) whose claims host, port and exp name the target. Schema: `spec.tokens.jwt`.
 */
export interface JwtTokensSpec {
  /** Secret key holding the verification key (PEM or JWK). */
  keySecretRef: SecretKeySelector;
  /**
   * Accepted signature algorithms; the proxy's default (RS256, ES256, EdDSA) when unset. HS256
   * stands alone: mixing it with a public-key algorithm invites key confusion.
   */
  algorithms?: ('RS256' | 'ES256' | 'EdDSA' | 'HS256')[];
  /** Required aud claim. */
  audience?: string;
  /** Required iss claim. */
  issuer?: string;
  /** Accept tickets without an exp claim. Default `false`. */
  allowNoExp: boolean;
  /**
   * A ticket opens one console: its jti is refused after the first use, except from the same client
   * address within a few seconds (SPICE opens one connection per channel). Without replayStore the
   * replay cache is per pod, so with several replicas a ticket may be used once per pod. Default
   * `false`.
   */
  singleUse: boolean;
  /**
   * Redis in which all replicas record used single-use tickets (needs singleUse). While it cannot
   * be reached, single-use tickets are refused and the pods report not ready.
   */
  replayStore?: ReplayStoreSpec;
}

/**
 * Redis in which all replicas record used single-use tickets (needs singleUse). While it cannot be
 * reached, single-use tickets are refused and the pods report not ready. Schema:
 * `spec.tokens.jwt.replayStore`.
 */
export interface ReplayStoreSpec {
  /**
   * Secret key holding the store's URL, redis://HOST:PORT/DB or rediss://HOST:PORT/DB (TLS),
   * without a password. Given to the proxy as WSGATE_REPLAY_STORE, so a changed URL applies when
   * pods restart.
   */
  secretRef: SecretKeySelector;
  /** Secret key holding the Redis password (AUTH), read at every connect. */
  passwordSecretRef?: SecretKeySelector;
  /** Secret key holding the CA bundle (PEM) for a rediss:// store. */
  caSecretRef?: SecretKeySelector;
}

/**
 * oVirt engine console tickets, verified against the engine's certificate. Schema:
 * `spec.tokens.ovirt`.
 */
export interface OvirtTokensSpec {
  /** Secret key holding the engine's certificate (PEM). */
  certificateSecretRef: SecretKeySelector;
}

/**
 * Look tokens up with GET on url (answer: JSON host and port); timeouts and failures refuse the
 * session. Schema: `spec.tokens.http`.
 */
export interface HttpTokensSpec {
  /** The token goes in ?token=, or in place of {token} if the URL has it. */
  url: string;
  /** Time limit of one lookup; the proxy's default (2) when unset. */
  timeoutSeconds?: number;
  /** How long an answer is reused; the proxy's default (5) when unset. */
  cacheSeconds?: number;
}

/** Which VNC/SPICE servers sessions may reach. Schema: `spec.targets`. */
export interface TargetsSpec {
  /**
   * Address or CIDR, optionally with a port or port range: 10.0.0.0/8:5900-5999, 192.0.2.7:5900,
   * [fd00::/64]:5900, fd00::/64 (no port: any port). Without it only targets named in the token
   * file are allowed.
   */
  allow?: string[];
  /** Connect to targets over TLS (e.g. SPICE's TLS port), checking their certificate. */
  tls?: TargetTlsSpec;
}

/**
 * Connect to targets over TLS (e.g. SPICE's TLS port), checking their certificate. Schema:
 * `spec.targets.tls`.
 */
export interface TargetTlsSpec {
  /** Secret key holding the CA bundle (PEM); the system CAs when unset. */
  caSecretRef?: SecretKeySelector;
}

/**
 * Connection limits and timeouts; each one unset takes the proxy's default (no limit for counts). 0
 * means unlimited. Schema: `spec.limits`.
 */
export interface LimitsSpec {
  /** Open sessions per pod. */
  maxConnections?: number;
  /** Open sessions per client IP per pod. */
  maxConnectionsPerIp?: number;
  /** Upgrades per second per client IP per pod. */
  handshakeRate?: number;
  /** Seconds allowed for the TCP connect to a target. */
  connectTimeoutSeconds?: number;
  /** Seconds a client has to complete the upgrade. */
  handshakeTimeoutSeconds?: number;
  /** Close a session after this long without traffic (0 = never). */
  idleTimeoutSeconds?: number;
  /** Longest session (0 = unlimited). */
  maxSessionSeconds?: number;
  /** Largest WebSocket message accepted from a client. */
  maxMessageBytes?: number;
  /**
   * Open consoles (one token from one client) to one target per pod, then targetLimitPolicy (0 =
   * unlimited).
   */
  maxSessionsPerTarget?: number;
  /**
   * At maxSessionsPerTarget: refuse answers the newcomer 409 (PROXY_ERR_TARGET_BUSY); replace
   * closes the oldest session to that target (close code 4001). Default refuse.
   */
  targetLimitPolicy?: 'refuse' | 'replace';
}

/**
 * Session recording (the proxy's --record-* settings): one file per session (per channel for SPICE)
 * in websockify's recording format, written to /var/lib/wsgate/recordings on the volume given here
 * (an emptyDir of 1Gi when neither persistentVolumeClaim nor emptyDir is set). Replay with `wsgate
 * play FILE`. Schema: `spec.recording`.
 */
export interface RecordingSpec {
  /** Default `false`. */
  enabled: boolean;
  /**
   * always, or ticket (JWT sessions only when the ticket has "record": true; other sessions
   * always).
   */
  when?: 'always' | 'ticket';
  /**
   * Record what clients send (keys, pointer) too. false keeps only the screen; keystrokes may
   * contain passwords.
   */
  input?: boolean;
  /** Largest recording file; then the recording stops and the session goes on. */
  maxBytes?: number;
  /** The proxy deletes recordings older than this (0 = keep). */
  retentionSeconds?: number;
  /**
   * An existing PersistentVolumeClaim (ReadWriteMany when replicas, or autoscaling.maxReplicas, is
   * above 1) the recordings go to.
   */
  persistentVolumeClaim?: RecordingClaim;
  /**
   * A pod-local emptyDir (recordings leave with the pod: ship them with a sidecar, see the README).
   */
  emptyDir?: RecordingEmptyDir;
}

/**
 * An existing PersistentVolumeClaim (ReadWriteMany when replicas, or autoscaling.maxReplicas, is
 * above 1) the recordings go to. Schema: `spec.recording.persistentVolumeClaim`.
 */
export interface RecordingClaim {
  claimName: string;
}

/**
 * A pod-local emptyDir (recordings leave with the pod: ship them with a sidecar, see the README).
 * Schema: `spec.recording.emptyDir`.
 */
export interface RecordingEmptyDir {
  /** Size of the emptyDir (default 1Gi). */
  sizeLimit?: number | string;
}

/** Prometheus metrics (served on port 9090 by every pod). Schema: `spec.metrics`. */
export interface MetricsSpec {
  /**
   * A prometheus-operator ServiceMonitor; skipped (with a condition message) while its CRD is not
   * installed. Default `{}`.
   */
  serviceMonitor: ServiceMonitorSpec;
}

/**
 * A prometheus-operator ServiceMonitor; skipped (with a condition message) while its CRD is not
 * installed. Schema: `spec.metrics.serviceMonitor`.
 */
export interface ServiceMonitorSpec {
  /** Default `false`. */
  enabled: boolean;
  /** Labels that let the Prometheus' serviceMonitorSelector find it. */
  labels?: Record<string, string>;
  /** Scrape interval (e.g. 30s); Prometheus' default when unset. */
  interval?: string;
}

/**
 * Used when replicas is above 1. At most one of minAvailable and maxUnavailable; maxUnavailable 1
 * when neither is set. Schema: `spec.podDisruptionBudget`.
 */
export interface PodDisruptionBudgetSpec {
  /** A pod count or a percentage such as 50%. */
  minAvailable?: number | string;
  /** A pod count or a percentage such as 50%. */
  maxUnavailable?: number | string;
}

/**
 * A HorizontalPodAutoscaler (autoscaling/v2) on the proxy Deployment. While this is set the
 * operator leaves the Deployment's replicas to the autoscaler and spec.replicas is not used;
 * removing it hands replicas back to spec.replicas. Scale-down removes at most one pod per drain
 * period, so consoles get their drainTimeoutSeconds. Schema: `spec.autoscaling`.
 */
export interface AutoscalingSpec {
  /** Fewest pods; 2 by default so a node drain does not stop new sessions. Default `2`. */
  minReplicas: number;
  /** Most pods. */
  maxReplicas: number;
  /**
   * Average CPU use, in percent of the pods' CPU request, the autoscaler aims at. Needs
   * resources.requests.cpu. Default `70`.
   */
  targetCPUUtilizationPercentage: number;
  /**
   * Also aim at this many open sessions per pod (average), read as a Pods metric through the custom
   * metrics API: needs a metrics adapter (e.g. prometheus-adapter) serving sessionsMetric.
   */
  targetSessionsPerPod?: number;
  /**
   * Name of the Pods metric of open sessions, as the metrics adapter serves it. Default
   * `'wsgate_connections_active'`.
   */
  sessionsMetric: string;
}

/**
 * A NetworkPolicy isolating the proxy pods (on by default). Ingress: the WebSocket port from
 * anywhere (or from ingressFrom), the metrics port from metricsNamespaceSelector. Egress:
 * targets.allow (any address on TCP when it is empty), DNS (port 53), the tokens.http lookup host
 * and extraEgress; nothing else, so not the Kubernetes API server. Enforced only where the
 * cluster's network plugin supports NetworkPolicy. Schema: `spec.networkPolicy`.
 */
export interface NetworkPolicySpec {
  /** Default `true`. */
  enabled: boolean;
  /**
   * Peers allowed to open WebSocket sessions (e.g. the ingress controller's namespace). Empty: from
   * anywhere.
   */
  ingressFrom?: NetworkPolicyPeer[];
  /**
   * Namespaces whose pods may scrape the metrics port 9090; by default the one named monitoring. An
   * empty selector ({}) means every namespace. Default `{ matchLabels: {
   * 'kubernetes.io/metadata.name': 'monitoring' } }`.
   */
  metricsNamespaceSelector: NamespaceSelector;
  /**
   * Further egress rules (networking/v1 NetworkPolicyEgressRule), e.g. for a token lookup Service
   * whose pods listen on another port than the URL's.
   */
  extraEgress?: NetworkPolicyEgressRule[];
}

/** Schema: `spec.networkPolicy.ingressFrom[]`, `spec.networkPolicy.extraEgress[].to[]`. */
export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: IpBlock;
}

/**
 * Schema: `spec.networkPolicy.ingressFrom[].podSelector`,
 * `spec.networkPolicy.ingressFrom[].namespaceSelector`.
 */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

/**
 * Schema: `spec.networkPolicy.ingressFrom[].podSelector.matchExpressions[]`,
 * `spec.networkPolicy.metricsNamespaceSelector.matchExpressions[]`.
 */
export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

/** Schema: `spec.networkPolicy.ingressFrom[].ipBlock`. */
export interface IpBlock {
  cidr: string;
  except?: string[];
}

/**
 * Namespaces whose pods may scrape the metrics port 9090; by default the one named monitoring. An
 * empty selector ({}) means every namespace. Schema: `spec.networkPolicy.metricsNamespaceSelector`.
 */
export interface NamespaceSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

/** Schema: `spec.networkPolicy.extraEgress[]`. */
export interface NetworkPolicyEgressRule {
  to?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}

/** Schema: `spec.networkPolicy.extraEgress[].ports[]`. */
export interface NetworkPolicyPort {
  /** Default `'TCP'`. */
  protocol: 'TCP' | 'UDP' | 'SCTP';
  port?: number | string;
  endPort?: number;
}

/** CPU and memory for the proxy container. Schema: `spec.resources`. */
export interface ResourceRequirements {
  limits?: Record<string, number | string>;
  requests?: Record<string, number | string>;
}

/** Schema: `spec.tolerations[]`. */
export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  tolerationSeconds?: number;
}

/** Observed state, written by the operator. Schema: `status`. */
export interface WebSocketProxyStatus {
  /** The metadata.generation this status describes. */
  observedGeneration?: number;
  /** Pods of the proxy Deployment (any version). */
  replicas?: number;
  /** Pods ready to accept upgrades. */
  readyReplicas?: number;
  /** Pod label selector (for the scale subresource and autoscalers). */
  selector?: string;
  /** The URL browsers connect to. */
  url?: string;
  /** The Secret holding the proxy's TLS certificate. */
  certificateSecretName?: string;
  /** Ready, CertificateReady, Available and ConfigValid. */
  conditions?: Condition[];
}

/** Schema: `status.conditions[]`. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

/** A node of {@link SCHEMA_DEFAULTS}: the defaults a schema node and its children carry. */
export interface DefaultsNode {
  default?: unknown;
  properties?: Record<string, DefaultsNode>;
  items?: DefaultsNode;
  additionalProperties?: DefaultsNode;
}

/** The CRD schema reduced to its defaults, for applying them as the API server does. */
export const SCHEMA_DEFAULTS: DefaultsNode = {
  properties: {
    spec: {
      properties: {
        replicas: { default: 2 },
        port: { default: 6080 },
        logLevel: { default: 'info' },
        drainTimeoutSeconds: { default: 30 },
        service: {
          default: {},
          properties: {
            type: { default: 'ClusterIP' },
          },
        },
        tls: {
          properties: {
            issuerRef: {
              properties: {
                kind: { default: 'Issuer' },
                group: { default: 'cert-manager.io' },
              },
            },
            privateKey: {
              default: {},
              properties: {
                algorithm: { default: 'ECDSA' },
                rotationPolicy: { default: 'Always' },
              },
            },
          },
        },
        tokens: {
          properties: {
            jwt: {
              properties: {
                allowNoExp: { default: false },
                singleUse: { default: false },
              },
            },
          },
        },
        allowMissingOrigin: { default: false },
        proxyProtocol: { default: false },
        recording: {
          properties: {
            enabled: { default: false },
          },
        },
        metrics: {
          default: {},
          properties: {
            serviceMonitor: {
              default: {},
              properties: {
                enabled: { default: false },
              },
            },
          },
        },
        autoscaling: {
          properties: {
            minReplicas: { default: 2 },
            targetCPUUtilizationPercentage: { default: 70 },
            sessionsMetric: { default: 'wsgate_connections_active' },
          },
        },
        networkPolicy: {
          default: {},
          properties: {
            enabled: { default: true },
            metricsNamespaceSelector: {
              default: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
            },
            extraEgress: {
              items: {
                properties: {
                  ports: {
                    items: {
                      properties: {
                        protocol: { default: 'TCP' },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};
