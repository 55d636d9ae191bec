/**
 * An error in one setting: its value, or the file it names. The setting is a field, not
 * part of a message to be parsed back: a library caller sees `jwtKey: …` (the option it
 * passed), the CLI says `--jwt-key: …` (the flag it was given), from the same error.
 */
import { kebab } from './flags.js';

/**
 * A TypeError, as the option checks of the resolvers always threw: callers that tested
 * `instanceof TypeError` keep working.
 */
export class SettingError extends TypeError {
  override name = 'SettingError';

  /**
   * @param setting As the caller knows it: an option key (`jwtKey`) or a flag
   *   (`--tls-cert`; `--tls-cert/--tls-key` when the fault is in how two files fit).
   * @param detail What is wrong, without the setting; never a secret.
   */
  constructor(
    readonly setting: string,
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    super(`${setting}: ${detail}`, options);
  }
}

/** What an error says about a setting: "cannot read PATH: CODE" for a failed read, else its message. */
export function describeError(e: unknown): string {
  const err = e as NodeJS.ErrnoException | undefined;
  if (err?.code && err.path) return `cannot read ${err.path}: ${err.code}`;
  return e instanceof Error ? e.message : String(e);
}

/** `e` as an error of `setting`; a SettingError already names its own (more precise) one. */
export function settingError(setting: string, e: unknown): SettingError {
  return e instanceof SettingError ? e : new SettingError(setting, describeError(e), { cause: e });
}

/** The flag that sets `setting`: `jwtKey` is `--jwt-key`; a flag is itself. */
export function flagOf(setting: string): string {
  return setting.startsWith('--') ? setting : `--${kebab(setting)}`;
}
