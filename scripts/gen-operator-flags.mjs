#!/usr/bin/env node
/**
 * Writes the flags table of operator/README.md from the operator's flag table
 * (operator/src/config/flags.ts), between the BEGIN/END markers, so the README cannot drift
 * from the parser and --help.
 *
 *   node scripts/gen-operator-flags.mjs           write the table
 *   node scripts/gen-operator-flags.mjs --check   exit 1 if the committed table is stale
 *
 * Loads the TypeScript source with Node's type stripping (Node 24, the project's node), so
 * it needs no build.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const README = 'operator/README.md';
export const BEGIN =
  '<!-- BEGIN GENERATED: operator flags (operator/src/config/flags.ts, npm run gen) -->';
export const END = '<!-- END GENERATED: operator flags -->';

/** `text` with the part between the markers replaced by `table`. */
export function withTable(text, table) {
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`${README}: markers ${BEGIN} ... ${END} missing`);
  return `${text.slice(0, begin + BEGIN.length)}\n\n${table}\n${text.slice(end)}`;
}

async function main() {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const { readmeTable } = await import(pathToFileURL(`${root}operator/src/config/flags.ts`).href);
  const path = `${root}${README}`;
  const current = readFileSync(path, 'utf8');
  const wanted = withTable(current, readmeTable());
  if (process.argv.includes('--check')) {
    if (current !== wanted) {
      process.stderr.write(`${README}: the flags table is stale; run npm run gen\n`);
      process.exit(1);
    }
    return;
  }
  if (current !== wanted) writeFileSync(path, wanted);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
