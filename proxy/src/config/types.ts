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
  /** Processes sharing the listening port. Default 1. */
  workers: number;
  /** pino level: fatal, error, warn, info, debug, trace, silent. Default info. */
  logLevel: string;

  // Issue 4 (security) settings; optional until implemented.
  jwtKey?: string;
  jwtAlgorithms?: string[];
  jwtAudience?: string;
  jwtIssuer?: string;
  jwtAllowNoExp?: boolean;
  jwtSingleUse?: boolean;
  ovirtCert?: string;
  tokenUrl?: string;
  allowTarget?: string[];
  allowOrigin?: string[];
  allowMissingOrigin?: boolean;
  maxConnections?: number;
  maxConnectionsPerIp?: number;
  handshakeRate?: number;
  maxSession?: number;
  trustedProxy?: string[];
  proxyProtocol?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsMinVersion?: string;
  tlsCiphers?: string;
  tlsClientCa?: string;
  targetTls?: boolean;
  targetCa?: string;
}
