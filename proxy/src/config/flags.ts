/**
 * The proxy's settings table: one row per setting, the single source for the
 * command-line parser, `WSGATE_*` variables, config-file keys, defaults and `--help`.
 */
import type { ProxyConfig } from './types.js';

export type SettingKind = 'string' | 'int' | 'duration' | 'bytes' | 'bool' | 'list';

export interface Setting {
  key: keyof ProxyConfig;
  /** Flag name without dashes; derived from `key` unless given. */
  flag: string;
  kind: SettingKind;
  help: string;
  /** Undefined: optional setting with no default. */
  default?: unknown;
  aliases?: string[];
  /** Lower bound for numbers (inclusive). */
  min?: number;
  max?: number;
  /** Allowed values for strings. */
  choices?: readonly string[];
  /** Shown in help, e.g. `HOST:PORT`. */
  metavar?: string;
}

export const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

function row(
  key: keyof ProxyConfig,
  kind: SettingKind,
  help: string,
  extra: Partial<Setting> = {},
) {
  return { key, flag: kebab(key), kind, help, ...extra } satisfies Setting;
}

export const SETTINGS: readonly Setting[] = [
  row('listen', 'string', 'address to accept WebSocket upgrades on', {
    default: '127.0.0.1:6080',
    metavar: 'HOST:PORT',
  }),
  row('target', 'string', 'single target for every session (websockify positional mode)', {
    metavar: 'HOST:PORT',
  }),
  row('tokenFile', 'string', 'websockify token file or directory; re-read on change', {
    metavar: 'FILE|DIR',
    aliases: ['target-config'],
  }),
  row('metricsListen', 'string', 'address for /metrics, /healthz, /readyz ("" disables)', {
    default: '0.0.0.0:9090',
    metavar: 'HOST:PORT',
  }),
  row('handshakeTimeout', 'duration', 'time a client has to complete the upgrade', {
    default: 10,
    min: 0.001,
  }),
  row('connectTimeout', 'duration', "time allowed for the target's TCP connect", {
    default: 5,
    min: 0.001,
  }),
  row('idleTimeout', 'duration', 'close a session after this long without traffic (0 = never)', {
    default: 0,
  }),
  row(
    'heartbeat',
    'duration',
    'WebSocket ping interval; a peer missing a pong is dropped (0 = off)',
    {
      default: 30,
    },
  ),
  row('maxMessageBytes', 'bytes', 'largest WebSocket message accepted from a client', {
    default: 16 * 1024 * 1024,
    min: 1024,
    max: 1024 * 1024 * 1024,
  }),
  row('drainTimeout', 'duration', 'on SIGTERM, time open sessions get before close 1001', {
    default: 30,
  }),
  row('jwtKey', 'string', 'verify signed tickets (JWT) with this PEM/JWK/JWKS/secret file', {
    metavar: 'FILE',
  }),
  row(
    'jwtAlgorithms',
    'list',
    'accepted JWS algorithms (default RS256,ES256,EdDSA; HS256 for a secret)',
    {
      metavar: 'ALG,...',
    },
  ),
  row('jwtAudience', 'string', 'required "aud" claim of tickets', { metavar: 'AUD' }),
  row('jwtIssuer', 'string', 'required "iss" claim of tickets', { metavar: 'ISS' }),
  row('jwtAllowNoExp', 'bool', 'accept tickets without "exp"', { default: false }),
  row('jwtSingleUse', 'bool', 'a ticket opens one console: refuse its "jti" seen before', {
    default: false,
  }),
  row(
    'jwtSingleUseWindow',
    'duration',
    "after a single-use ticket's first use, accept it again from the same client this long",
    { default: 5, max: 60 },
  ),
  row('replayStore', 'string', "share single-use tickets' replay cache through Redis", {
    metavar: 'redis[s]://HOST:PORT/DB',
  }),
  row('replayStorePasswordFile', 'string', 'file holding the --replay-store password (AUTH)', {
    metavar: 'FILE',
  }),
  row('replayStoreCa', 'string', "CA bundle for a rediss:// replay store (default: the system's)", {
    metavar: 'FILE',
  }),
  row('ovirtCert', 'string', "verify oVirt engine console tickets with the engine's certificate", {
    metavar: 'FILE',
  }),
  row(
    'tokenUrl',
    'string',
    'look tokens up with GET URL (token as ?token= or {token}); expects {host, port}',
    {
      metavar: 'URL',
    },
  ),
  row('tokenUrlTimeout', 'duration', 'time limit of one --token-url lookup', {
    default: 2,
    min: 0.001,
  }),
  row('tokenUrlCacheTtl', 'duration', 'how long a --token-url answer is reused', { default: 5 }),
  row(
    'allowTarget',
    'list',
    "addresses that may be dialled (repeatable); default: the token file's targets",
    {
      default: [],
      metavar: 'CIDR[:PORT[-PORT]]',
    },
  ),
  row('allowUnixDir', 'list', 'directories whose Unix sockets may be dialled (repeatable)', {
    default: [],
    metavar: 'DIR',
  }),
  row(
    'allowOrigin',
    'list',
    'browser origins allowed (repeatable; https://*.example.com, *); default same-origin',
    {
      default: [],
      metavar: 'ORIGIN',
    },
  ),
  row(
    'allowMissingOrigin',
    'bool',
    'accept upgrades without an Origin header (non-browser clients)',
    {
      default: false,
    },
  ),
  row('maxConnections', 'int', 'concurrent sessions, then 503 (0 = unlimited)', {
    default: 0,
    min: 0,
  }),
  row('maxConnectionsPerIp', 'int', 'concurrent sessions per client IP, then 429 (0 = unlimited)', {
    default: 0,
    min: 0,
  }),
  row('handshakeRate', 'int', 'upgrades per second per client IP, then 429 (0 = unlimited)', {
    default: 0,
    min: 0,
  }),
  row('maxSession', 'duration', 'longest a session may last, then close 1008 (0 = unlimited)', {
    default: 0,
  }),
  row(
    'maxSessionsPerTarget',
    'int',
    'concurrent consoles (token + client) to one target, then --target-limit-policy (0 = unlimited)',
    { default: 0, min: 0 },
  ),
  row('targetLimitPolicy', 'string', 'at --max-sessions-per-target: refuse (409) or replace', {
    default: 'refuse',
    choices: ['refuse', 'replace'],
    metavar: 'POLICY',
  }),
  row('endAtTicketExpiry', 'bool', "close a session (1008) when its ticket's exp/validTo passes", {
    default: false,
  }),
  row('trustedProxy', 'list', 'peers whose X-Forwarded-For names the client (repeatable)', {
    default: [],
    metavar: 'CIDR',
  }),
  row('proxyProtocol', 'bool', 'expect a PROXY protocol v1/v2 header on every connection', {
    default: false,
  }),
  row('tlsCert', 'string', 'serve wss:// with this PEM certificate (chain); reloaded on change', {
    metavar: 'FILE',
    aliases: ['cert'],
  }),
  row('tlsKey', 'string', 'private key for --tls-cert; reloaded on change', {
    metavar: 'FILE',
    aliases: ['key'],
  }),
  row('tlsMinVersion', 'string', 'lowest TLS version accepted', {
    default: 'TLSv1.2',
    choices: ['TLSv1.2', 'TLSv1.3'],
  }),
  row('tlsCiphers', 'string', 'OpenSSL cipher list for TLS 1.2', { metavar: 'LIST' }),
  row('tlsClientCa', 'string', 'require client certificates signed by this CA bundle', {
    metavar: 'FILE',
  }),
  row('tlsClientSubject', 'list', 'allowed client certificate subject CNs (repeatable)', {
    default: [],
    metavar: 'CN',
  }),
  row('targetTls', 'bool', 'connect to targets with TLS, verifying their certificate and name', {
    default: false,
  }),
  row('targetCa', 'string', "CA bundle for targets' certificates (default: the system's)", {
    metavar: 'FILE',
  }),
  row('recordDir', 'string', 'record sessions (websockify format) into this directory', {
    metavar: 'DIR',
  }),
  row('recordWhen', 'string', 'record every session, or only those whose JWT has "record": true', {
    default: 'always',
    choices: ['always', 'ticket'],
  }),
  row('recordInput', 'bool', 'record client input too (false: only what the screen showed)', {
    default: true,
  }),
  row('recordMaxBytes', 'bytes', 'largest recording file, then it stops (0 = unlimited)', {
    default: 0,
    min: 0,
  }),
  row('recordRetention', 'duration', 'delete recordings older than this (0 = keep)', {
    default: 0,
  }),
  row('adminListen', 'string', 'address of the admin API (sessions: list, close); off unless set', {
    metavar: 'HOST:PORT',
  }),
  row('adminTokenFile', 'string', "file holding the admin API's bearer token; re-read on change", {
    metavar: 'FILE',
  }),
  row('workers', 'int', 'processes sharing the listening port', { default: 1, min: 1, max: 256 }),
  row('logLevel', 'string', 'log level', {
    default: 'info',
    choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
  }),
];

export function settingByFlag(flag: string): Setting | undefined {
  return SETTINGS.find((s) => s.flag === flag || s.aliases?.includes(flag));
}

export function envName(setting: Setting): string {
  return 'WSGATE_' + setting.flag.replace(/-/g, '_').toUpperCase();
}
