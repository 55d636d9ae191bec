/** The operator's flag table: --help, the README table and the chart's arguments agree with it. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  fallback,
  OPERATOR_FLAGS,
  parseOptions,
  readmeTable,
  usage,
} from '../../operator/src/config/flags.js';
import { DEFAULT_POLL_MS } from '../../operator/src/controller/requeue.js';
import { LEASE_NAME } from '../../operator/src/kube/leader.js';
import { DEFAULT_IMAGE } from '../../operator/src/main.js';
import { parseDuration } from '../../lib/duration.js';
import { readRepoFile } from './helpers.js';

describe('operator flags table', () => {
  test('--help names every flag and the real default image', () => {
    const text = usage(DEFAULT_IMAGE);
    for (const f of OPERATOR_FLAGS) assert.match(text, new RegExp(`--${f.name}\\b`), f.name);
    assert.ok(text.includes(DEFAULT_IMAGE));
    for (const line of text.split('\n')) assert.ok(line.length <= 92, line);
  });

  test('operator/README.md holds the generated flags table', () => {
    assert.ok(readRepoFile('operator/README.md').includes(readmeTable()));
  });

  test('parseArgs knows every flag and alias, and -h', () => {
    const options = parseOptions();
    assert.deepEqual(options['watch-namespace'], options['namespace']);
    assert.equal(options['help']?.short, 'h');
    assert.equal(options['secrets-namespace']?.multiple, true);
  });

  test('defaults agree with the constants the code uses without flags', () => {
    assert.equal(fallback('lease-name'), LEASE_NAME);
    assert.equal(parseDuration(fallback('poll-interval')) * 1000, DEFAULT_POLL_MS);
  });

  test("every flag the chart's operator Deployment passes is in the table", () => {
    const template = readRepoFile('charts/wsgate/templates/operator-deployment.yaml');
    const passed = [...template.matchAll(/^\s*- --([a-z-]+)/gm)].map((m) => m[1]);
    assert.ok(passed.length >= 5, 'found the arguments');
    const known = new Set(Object.keys(parseOptions()));
    for (const name of passed) assert.ok(known.has(name!), `--${name}`);
  });
});
