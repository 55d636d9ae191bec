/** Durations as flags and YAML accept them: `1500ms`, `10s`, `15m`, `2h`, `1d`, or bare seconds. */

const UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/**
 * Returns seconds (possibly fractional). A number is taken as seconds. Throws a
 * RangeError for anything else so the caller can name the offending setting.
 */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`${value} is not a duration`);
    return value;
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(value);
  if (!match) throw new RangeError(`"${value}" is not a duration (examples: 500ms, 10s, 15m, 2h)`);
  return Number(match[1]) * UNITS[match[2] ?? 's']!;
}
