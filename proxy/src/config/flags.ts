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

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

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
