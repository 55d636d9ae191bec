/**
 * Merges defaults, the YAML config file, `WSGATE_*` variables and flags (in rising
 * precedence) into one frozen, validated ProxyConfig. Every problem is a ConfigError
 * that names the flag, variable or key, so the CLI can exit 2 with a useful message.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { parseDuration } from '../../../lib/duration.js';
import { isAbsolute } from 'node:path';
import { parseHostPort, parseListen } from '../../../lib/address.js';
import { SETTINGS, envName, kebab, settingByFlag, type Setting } from './flags.js';
import { parseTargetRule } from '../policy/targets.js';
import { OriginPolicy } from '../policy/origins.js';
import { trustedProxies } from '../client-ip.js';
import { parseRedisUrl } from '../replay/redis.js';
import type { ProxyConfig } from './types.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface LoadOptions {
  argv: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Injected for tests. */
  readFile?: (path: string) => string;
}

export interface Loaded {
  config: Readonly<ProxyConfig>;
  help: boolean;
}

type Source = { describe: (s: Setting) => string };
const FLAG: Source = { describe: (s) => `--${s.flag}` };
const ENV: Source = { describe: (s) => envName(s) };
const FILE: Source = { describe: (s) => `config key "${s.key}"` };

/** A recording's header and frame array take about 1 KiB; less leaves no room for frames. */
const MIN_RECORDING_BYTES = 4096;

const BYTE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

function coerce(setting: Setting, raw: unknown, from: Source): unknown {
  const where = from.describe(setting);
  const fail = (why: string): never => {
    throw new ConfigError(`${where}: ${why}`);
  };
  switch (setting.kind) {
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (typeof raw === 'string' && /^(true|1|yes)$/i.test(raw)) return true;
      if (typeof raw === 'string' && /^(false|0|no)$/i.test(raw)) return false;
      return fail(`"${String(raw)}" is not true or false`);
    case 'list':
      if (Array.isArray(raw)) return raw.map(String);
      if (typeof raw === 'string')
        return raw
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
      return fail('expected a list');
    case 'string':
      if (typeof raw !== 'string' && typeof raw !== 'number') return fail('expected a string');
      if (setting.choices && !setting.choices.includes(String(raw))) {
        return fail(`"${raw}" is not one of ${setting.choices.join(', ')}`);
      }
      return String(raw);
    case 'int':
    case 'bytes':
    case 'duration': {
      let n: number;
      if (setting.kind === 'duration') {
        try {
          n = parseDuration(typeof raw === 'number' ? raw : String(raw));
        } catch (e) {
          return fail((e as Error).message);
        }
      } else {
        const m = /^\s*(\d+)\s*(?:([kmg])(?:i?b)?)?\s*$/i.exec(String(raw));
        if (!m || (setting.kind === 'int' && m[2]))
          return fail(`"${String(raw)}" is not a whole number`);
        n = Number(m[1]) * BYTE_UNITS[(m[2] ?? '').toLowerCase()]!;
      }
      if (setting.min !== undefined && n < setting.min)
        return fail(`must be at least ${setting.min}`);
      if (setting.max !== undefined && n > setting.max)
        return fail(`must be at most ${setting.max}`);
      return n;
    }
  }
}

function readConfigFile(path: string, readFile: (p: string) => string): Record<string, unknown> {
  let text: string;
  try {
    text = readFile(path);
  } catch (e) {
    throw new ConfigError(
      `--config: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`,
    );
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new ConfigError(`--config: ${path} is not valid YAML: ${(e as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError(`--config: ${path} must hold a mapping of settings`);
  }
  return doc as Record<string, unknown>;
}

function parseFlags(argv: readonly string[]) {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {
    config: { type: 'string' },
    help: { type: 'boolean' },
  };
  for (const s of SETTINGS) {
    const spec = {
      type: s.kind === 'bool' ? 'boolean' : 'string',
      multiple: s.kind === 'list',
    } as const;
    options[s.flag] = spec;
    for (const alias of s.aliases ?? []) options[alias] = spec;
  }
  try {
    return parseArgs({
      args: boolValues(argv),
      options,
      strict: true,
      allowPositionals: true,
      allowNegative: true,
    });
  } catch (e) {
    // parseArgs' messages already quote the flag ("Unknown option '--x'"); keep them.
    throw new ConfigError((e as Error).message.split('. ')[0]!);
  }
}

/**
 * `--flag=false` / `--flag=true` (also 0/1, no/yes) for boolean flags, as written in
 * websockify-style docs, become `--no-flag` / `--flag`; any other value is an error
 * naming the flag.
 */
function boolValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return [...out, ...argv.slice(i)];
    const m = /^--([a-z0-9-]+)=(.*)$/s.exec(arg);
    const s = m && settingByFlag(m[1]!);
    if (!m || !s || s.kind !== 'bool') {
      out.push(arg);
      continue;
    }
    if (/^(true|1|yes)$/i.test(m[2]!)) out.push(`--${m[1]}`);
    else if (/^(false|0|no)$/i.test(m[2]!)) out.push(`--no-${m[1]}`);
    else throw new ConfigError(`--${m[1]}: "${m[2]}" is not true or false`);
  }
  return out;
}

/** Builds the effective configuration; see the module comment for precedence. */
export function loadConfig({ argv, env = process.env, readFile }: LoadOptions): Loaded {
  const read = readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const { values, positionals } = parseFlags(argv);
  if (values.help) return { config: Object.freeze({} as ProxyConfig), help: true };

  const merged: Record<string, unknown> = {};
  for (const s of SETTINGS) if (s.default !== undefined) merged[s.key] = s.default;

  const configPath = (values.config as string | undefined) ?? env.WSGATE_CONFIG;
  if (configPath) {
    const doc = readConfigFile(configPath, read);
    for (const [key, raw] of Object.entries(doc)) {
      const s = SETTINGS.find((x) => x.key === key);
      if (!s) throw new ConfigError(`--config: unknown key "${key}" in ${configPath}`);
      merged[key] = coerce(s, raw, FILE);
    }
  }
  for (const s of SETTINGS) {
    const raw = env[envName(s)];
    if (raw !== undefined && raw !== '') merged[s.key] = coerce(s, raw, ENV);
  }
  for (const s of SETTINGS) {
    for (const name of [s.flag, ...(s.aliases ?? [])]) {
      const raw = values[name];
      if (raw === undefined) continue;
      merged[s.key] = coerce(s, raw, FLAG);
    }
  }

  // websockify's positional form: `wsgate proxy [LISTEN] [TARGET]`.
  if (positionals.length > 2) throw new ConfigError(`unexpected argument "${positionals[2]}"`);
  if (positionals[0] !== undefined) merged.listen = positionals[0];
  if (positionals[1] !== undefined) merged.target = positionals[1];

  validate(merged as unknown as ProxyConfig);
  return { config: Object.freeze(merged as unknown as ProxyConfig), help: false };
}

function validate(config: ProxyConfig): void {
  const check = (what: string, fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      throw new ConfigError(`${what}: ${(e as Error).message}`);
    }
  };
  check('--listen', () => parseListen(config.listen));
  if (config.metricsListen !== '')
    check('--metrics-listen', () => parseListen(config.metricsListen));
  if (config.target !== undefined) check('target', () => parseHostPort(config.target!));
  const sources = (['tokenFile', 'jwtKey', 'ovirtCert', 'tokenUrl'] as const).filter(
    (k) => config[k] !== undefined,
  );
  if (config.target === undefined && sources.length === 0) {
    throw new ConfigError(
      'no token source: give --token-file, --jwt-key, --ovirt-cert or --token-url, ' +
        'or a target as in "wsgate proxy LISTEN TARGET"',
    );
  }
  if (config.target !== undefined && sources.length > 0) {
    throw new ConfigError(`a single target and --${kebab(sources[0]!)} exclude each other`);
  }
  for (const rule of config.allowTarget) check('--allow-target', () => parseTargetRule(rule));
  for (const dir of config.allowUnixDir) {
    if (!isAbsolute(dir))
      throw new ConfigError(`--allow-unix-dir: "${dir}" must be an absolute path`);
  }
  check('--allow-origin', () => new OriginPolicy(config.allowOrigin, false));
  check('--trusted-proxy', () => trustedProxies(config.trustedProxy));
  if (config.tokenUrl !== undefined) {
    check('--token-url', () => {
      const u = new URL(config.tokenUrl!.replace('{token}', 'x'));
      if (u.protocol !== 'http:' && u.protocol !== 'https:')
        throw new RangeError('must be an http(s) URL');
    });
  }
  if (config.replayStore !== undefined) {
    if (!config.jwtSingleUse) throw new ConfigError('--replay-store needs --jwt-single-use');
    check('--replay-store', () => parseRedisUrl(config.replayStore!));
    if (config.replayStoreCa !== undefined && !parseRedisUrl(config.replayStore).tls) {
      throw new ConfigError('--replay-store-ca needs a rediss:// --replay-store');
    }
  } else {
    for (const key of ['replayStorePasswordFile', 'replayStoreCa'] as const) {
      if (config[key] !== undefined) throw new ConfigError(`--${kebab(key)} needs --replay-store`);
    }
  }
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    throw new ConfigError('--tls-cert and --tls-key go together');
  }
  if (config.tlsCert === undefined) {
    for (const key of ['tlsClientCa', 'tlsCiphers'] as const) {
      if (config[key] !== undefined) throw new ConfigError(`--${kebab(key)} needs --tls-cert`);
    }
  }
  if (config.recordMaxBytes > 0 && config.recordMaxBytes < MIN_RECORDING_BYTES) {
    throw new ConfigError(`--record-max-bytes: must be 0 or at least ${MIN_RECORDING_BYTES}`);
  }
  if (config.adminListen !== undefined) {
    check('--admin-listen', () => parseListen(config.adminListen!));
    if (config.adminTokenFile === undefined) {
      throw new ConfigError('--admin-listen needs --admin-token-file');
    }
  } else if (config.adminTokenFile !== undefined) {
    throw new ConfigError('--admin-token-file needs --admin-listen');
  }
  if (config.tlsClientSubject.length > 0 && config.tlsClientCa === undefined) {
    throw new ConfigError('--tls-client-subject needs --tls-client-ca');
  }
}

/** `wsgate proxy --help` text, generated from the settings table. */
export function helpText(): string {
  const lines = [
    'Usage: wsgate proxy [options] [LISTEN [TARGET]]',
    '',
    'Every flag --foo-bar may also come from WSGATE_FOO_BAR or key fooBar in --config FILE',
    '(precedence: flag > environment > file). Durations: 500ms, 10s, 15m, 2h.',
    '',
    '  --config FILE'.padEnd(34) + 'YAML file of settings',
  ];
  for (const s of SETTINGS) {
    const left = `  --${s.flag}${s.metavar ? ' ' + s.metavar : s.kind === 'bool' ? '' : ' ' + s.kind.toUpperCase()}`;
    // An empty list is no default worth a word (the description says what none means).
    const noDefault =
      s.default === undefined || (Array.isArray(s.default) && s.default.length === 0);
    const def = noDefault ? '' : ` (default ${showDefault(s)})`;
    // A flag too long for the column puts its help on the next line.
    lines.push(
      left.length < 33
        ? left.padEnd(34) + s.help + def
        : `${left}\n${' '.repeat(34)}${s.help}${def}`,
    );
  }
  return lines.join('\n') + '\n';
}

function showDefault(s: Setting): string {
  if (s.kind === 'duration') return `${s.default}s`;
  if (s.kind === 'bytes') {
    const n = s.default as number;
    return n !== 0 && n % 1024 ** 2 === 0 ? `${n / 1024 ** 2}MiB` : `${n}`;
  }
  return s.default === '' ? '""' : String(s.default);
}
