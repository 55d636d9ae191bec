/** The version of wsgate: package.json's, which the image ships beside dist/. */
import { readFileSync } from 'node:fs';

/** Reads it on each call (from dist/lib/, the package root is two levels up). */
export function packageVersion(): string {
  const url = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
}
