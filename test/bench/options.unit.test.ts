import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseOptions } from '../../bench/proxy/options.js';

const ROOT = '/repo';

test('bench options default to a full run of every system, wsgate run as its image runs it', () => {
  const o = parseOptions([], ROOT);
  assert.deepEqual(o.systems, ['raw', 'naive', 'wsgate', 'websockify']);
  assert.equal(o.durationMs, 3000);
  assert.equal(o.runs, 3);
  assert.equal(o.idle, 10_000);
  assert.deepEqual(o.proxyNodeArgs, ['--max-semi-space-size=1']);
  assert.equal(o.wsgateBin, '/repo/bin/wsgate.js');
  assert.equal(o.json, '/repo/.cache/bench/latest.json');
  assert.equal(o.rateBlockMs, 25);
  assert.equal(o.bulkBlockMs, 0);
});

test('bench --rate-block 0 measures one system after another; --bulk-block takes turns', () => {
  assert.equal(parseOptions(['--rate-block', '0'], ROOT).rateBlockMs, 0);
  assert.equal(parseOptions(['--bulk-block', '500'], ROOT).bulkBlockMs, 500);
  assert.equal(parseOptions(['--rate-block=100'], ROOT).rateBlockMs, 100);
  assert.throws(
    () => parseOptions(['--rate-block=-1'], ROOT),
    /--rate-block: expected a number >= 0/,
  );
});

test('bench --quick shortens every default but explicit options still win', () => {
  const o = parseOptions(['--quick', '--runs', '2'], ROOT);
  assert.equal(o.durationMs, 1000);
  assert.equal(o.idle, 1000);
  assert.equal(o.retries, 0);
  assert.equal(o.runs, 2);
});

test('bench --only, --no-websockify, --phases and repeated --proxy-node-arg are parsed', () => {
  const o = parseOptions(
    [
      '--only=naive,wsgate,websockify',
      '--no-websockify',
      '--phases',
      'rate,rtt',
      '--proxy-node-arg=--a',
      '--proxy-node-arg=--b',
    ],
    ROOT,
  );
  assert.deepEqual(o.systems, ['naive', 'wsgate']);
  assert.deepEqual(o.phases, ['rate', 'rtt']);
  assert.deepEqual(o.proxyNodeArgs, ['--a', '--b']);
});

test('bench --cpu-prof runs each measurement once, with no repeats', () => {
  const o = parseOptions(['--cpu-prof', '--runs', '5', '--retries', '3'], ROOT);
  assert.equal(o.runs, 1);
  assert.equal(o.retries, 0);
});

test('bench options refuse bad values with an error naming the option', () => {
  assert.throws(() => parseOptions(['--runs', '0'], ROOT), /--runs: expected a number >= 1/);
  assert.throws(() => parseOptions(['--duration', 'soon'], ROOT), /--duration: expected a number/);
  assert.throws(
    () => parseOptions(['--only', 'raw,haproxy'], ROOT),
    /--only: unknown system haproxy/,
  );
  assert.throws(() => parseOptions(['--client', 'curl'], ROOT), /--client: expected ws or lite/);
  assert.throws(() => parseOptions(['--frobnicate'], ROOT), /--frobnicate/);
  assert.throws(() => parseOptions(['extra'], ROOT), /extra/);
});

test('bench --pin puts the generator on CPU 0 and the proxy on every other CPU; needs two', () => {
  assert.equal(parseOptions([], ROOT, 2).pin, undefined, 'the scheduler places by default');
  assert.deepEqual(parseOptions(['--pin'], ROOT, 2).pin, { generator: '0', proxy: '1' });
  assert.deepEqual(parseOptions(['--pin'], ROOT, 4).pin, { generator: '0', proxy: '1-3' });
  assert.throws(
    () => parseOptions(['--pin'], ROOT, 1),
    /--pin: needs 2 or more CPUs, this machine has 1/,
  );
});
