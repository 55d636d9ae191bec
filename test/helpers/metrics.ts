/**
 * Reading the Prometheus text exposition in tests: one parser (`sampleValue`) for the
 * proxy's and the operator's /metrics, and `metricValue` to fetch and read one sample.
 */
import { within } from './wait.js';

/** Label pairs of a sample (`{a="1",b="2"}`) or of a selector string (`a="1",b="2"`). */
const labelsOf = (text: string): Record<string, string> =>
  Object.fromEntries([...text.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));

/** The value of the first sample of `name` whose labels include `labels`, or undefined. */
export function sampleValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = labelsOf(m[2] ?? '');
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/**
 * Fetches `url` (a /metrics endpoint, within 10 s) and reads one sample of `name`;
 * `labels` as in the exposition (`result="ok"`) or as a record.
 */
export async function metricValue(
  url: string,
  name: string,
  labels: string | Record<string, string> = {},
): Promise<number | undefined> {
  const text = await within(
    fetch(url, { signal: AbortSignal.timeout(10_000) }).then((r) => r.text()),
    11_000,
    `GET ${url}`,
  );
  return sampleValue(text, name, typeof labels === 'string' ? labelsOf(labels) : labels);
}
