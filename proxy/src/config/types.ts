/**
 * The proxy's settings. Every command-line flag `--foo-bar` has the YAML key `fooBar`
 * (config file) and the environment variable `WSGATE_FOO_BAR`; precedence is
 * flag > environment > file > default. Durations are seconds (number) in YAML, or a
 * string with a unit (`500ms`, `10s`, `15m`, `2h`) anywhere. Repeatable flags are arrays
 * in YAML and comma-separated in the environment.
 *
 * The operator renders this same shape (as YAML) into the proxy's ConfigMap.
 */
export interface ProxyConfig {
  /** `HOST:PORT` or `[v6]:PORT` to accept WebSocket upgrades on. Default 127.0.0.1:6080. */
  listen: string;
  /** websockify-style single target `HOST:PORT`: every session goes there, no token needed. */
  target?: string;
  /** websockify token file or directory of token files; re-read on change. */
  tokenFile?: string;
  /** `HOST:PORT` for /metrics, /healthz, /readyz; empty string disables. Default 0.0.0.0:9090. */
  metricsListen: string;

  /** Seconds a client has to complete the HTTP upgrade. Default 10. */
  handshakeTimeout: number;
  /** Seconds without traffic in either direction before a session is closed (0 = never). Default 0. */
  idleTimeout: number;
  /** Seconds between WebSocket pings; a peer that misses one pong is terminated (0 = off). Default 30. */
  heartbeat: number;
  /** Largest WebSocket message accepted from a client, in bytes. Default 16 MiB. */
  maxMessageBytes: number;
  /** Seconds open sessions get to finish after SIGTERM before they are closed with 1001. Default 30. */
  drainTimeout: number;
  /** Seconds to wait for the target's TCP connect. Default 5. */
  connectTimeout: number;
  /** `HOST:PORT` of the admin API (list and close sessions); off when unset. */
  adminListen?: string;
  /** File holding the admin API's bearer token (at least 16 characters); re-read on change. */
  adminTokenFile?: string;
  /** Processes sharing the listening port. Default 1. */
  workers: number;
  /** pino level: fatal, error, warn, info, debug, trace, silent. Default info. */
  logLevel: string;

  /** Signed tickets (JWT): key file (PEM, JWK, JWKS or shared secret), reloaded on change. */
  jwtKey?: string;
  /** Accepted JWS algorithms. Default RS256, ES256, EdDSA (HS256 for a secret key file). */
  jwtAlgorithms?: string[];
  jwtAudience?: string;
  jwtIssuer?: string;
  jwtAllowNoExp: boolean;
  /**
   * A ticket opens one console: remember its `jti` until it expires and refuse it again,
   * except from the first use's client address within `jwtSingleUseWindow`.
   */
  jwtSingleUse: boolean;
  /** Seconds after a single-use ticket's first use in which the same client may reuse it. Default 5. */
  jwtSingleUseWindow: number;
  /** `redis://HOST:PORT/DB` or `rediss://…`: the replay cache shared by replicas. */
  replayStore?: string;
  /** File holding the replay store's password. */
  replayStorePasswordFile?: string;
  /** CA bundle for a `rediss://` replay store (default: the system's). */
  replayStoreCa?: string;
  /** oVirt engine certificate (PEM) that console tickets must be signed with. */
  ovirtCert?: string;
  /** HTTP lookup: GET this URL with the token; expects JSON {host, port}. */
  tokenUrl?: string;
  tokenUrlTimeout: number;
  tokenUrlCacheTtl: number;

  /** CIDR[:PORT[-PORT]] rules for the addresses the proxy may dial. */
  allowTarget: string[];
  /** Directories whose Unix sockets may be dialled (`unix_socket:/path` targets); none by default. */
  allowUnixDir: string[];
  /** Origins allowed to open sessions (`https://a.example`, `https://*.example`, `*`). */
  allowOrigin: string[];
  allowMissingOrigin: boolean;
  /** Concurrent sessions (and handshakes in progress); 0 = unlimited. */
  maxConnections: number;
  maxConnectionsPerIp: number;
  /** Upgrade attempts per second per client IP; 0 = unlimited. */
  handshakeRate: number;
  /** Longest a session may last, in seconds; 0 = unlimited. */
  maxSession: number;
  /** Concurrent consoles (one token from one client) to one target; 0 = unlimited. */
  maxSessionsPerTarget: number;
  /** At the per-target limit: refuse the newcomer (409) or close the oldest (4001). */
  targetLimitPolicy: 'refuse' | 'replace';
  /** Close sessions (1008 `ticket expired`) when the JWT's `exp` or oVirt ticket's `validTo` passes. */
  endAtTicketExpiry: boolean;
  /** Peers whose X-Forwarded-For is believed. */
  trustedProxy: string[];
  /** Expect a PROXY protocol v1/v2 header on every connection. */
  proxyProtocol: boolean;

  tlsCert?: string;
  tlsKey?: string;
  tlsMinVersion: 'TLSv1.2' | 'TLSv1.3';
  tlsCiphers?: string;
  /** CA bundle for client certificates; when set, clients must present one. */
  tlsClientCa?: string;
  /** Allowed client certificate subject CNs (empty: any the CA signed). */
  tlsClientSubject: string[];
  /** Speak TLS to every target (oVirt tickets can ask for it per session). */
  targetTls: boolean;
  /** CA bundle to verify targets' certificates (default: the system's). */
  targetCa?: string;

  /** Record sessions into this directory (one websockify-format file per session). */
  recordDir?: string;
  /** `always`, or `ticket`: JWT sessions only when their ticket has `"record": true`. Default always. */
  recordWhen: 'always' | 'ticket';
  /** Record client→target payloads too (keystrokes may hold passwords). Default true. */
  recordInput: boolean;
  /** Largest recording file in bytes, then it stops (the session goes on); 0 = unlimited. */
  recordMaxBytes: number;
  /** Seconds after which recordings are deleted by the proxy; 0 = keep. */
  recordRetention: number;
}
