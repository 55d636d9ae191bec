/** websockify token files: parsing (pure) and live reload, including Kubernetes' symlink swap. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseTokenFile, readTokenSource, TokenFileResolver } from '../../proxy/src/tokens/file.js';
import { eventually, metricValue, openClient, receive, startTestProxy } from '../helpers/proxy.js';
import { startEchoServer } from '../helpers/servers.js';

describe('parseTokenFile', () => {
  const cases: [string, string, Record<string, string>, number][] = [
    [
      'websockify format',
      'vm1: 10.0.0.5:5900\nvm2: host.example:5901\n',
      { vm1: '10.0.0.5:5900', vm2: 'host.example:5901' },
      0,
    ],
    ['comments and blank lines', '# comment\n\n  \nvm: h:1\n', { vm: 'h:1' }, 0],
    ['bracketed IPv6', 'v6: [fd00::5]:5900', { v6: 'fd00::5:5900' }, 0],
    ['CRLF line ends', 'a: h:1\r\nb: h:2\r\n', { a: 'h:1', b: 'h:2' }, 0],
    ['colon without space', 'a:h:1', { a: 'h:1' }, 0],
    ['bad port reported, others kept', 'a: h:99999\nb: h:2', { b: 'h:2' }, 1],
    ['missing target', 'lonely\nb: h:2', { b: 'h:2' }, 1],
    ['unbracketed IPv6 refused', 'a: fd00::5:5900', {}, 1],
    ['later line wins', 'a: h:1\na: h:2', { a: 'h:2' }, 0],
  ];
  for (const [name, text, want, problems] of cases) {
    test(name, () => {
      const parsed = parseTokenFile(text);
      const got = Object.fromEntries(
        [...parsed.tokens].map(([k, v]) => [k, `${v.host}:${v.port}`]),
      );
      assert.deepEqual(got, want);
      assert.equal(parsed.problems.length, problems);
    });
  }

  test('a directory means every regular, non-hidden file in it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wsgate-tokdir-'));
    writeFileSync(join(dir, 'a'), 'a: h:1\n');
    writeFileSync(join(dir, 'b'), 'b: h:2\n');
    writeFileSync(join(dir, '.hidden'), 'c: h:3\n');
    mkdirSync(join(dir, 'sub'));
    assert.deepEqual([...readTokenSource(dir).tokens.keys()].sort(), ['a', 'b']);
  });
});

/** Lays out a directory the way the kubelet mounts a Secret: key -> ..data/key -> ..TS/key. */
function kubeSecretDir(root: string, files: Record<string, string>, generation: number): void {
  const ts = join(root, `..2026_11_23_00_00_0${generation}`);
  mkdirSync(ts);
  for (const [k, v] of Object.entries(files)) writeFileSync(join(ts, k), v);
  const tmp = join(root, '..data_tmp');
  symlinkSync(`..2026_11_23_00_00_0${generation}`, tmp);
  renameSync(tmp, join(root, '..data')); // the atomic swap
  for (const k of Object.keys(files)) {
    try {
      symlinkSync(join('..data', k), join(root, k));
    } catch {
      // already linked through ..data
    }
  }
}

describe('token file reload', () => {
  test('an edited file is picked up without restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wsgate-reload-'));
    const file = join(dir, 'tokens');
    writeFileSync(file, 'a: h:1\n');
    const reloads: string[] = [];
    const resolver = new TokenFileResolver(file, { onReload: (r) => reloads.push(r) });
    try {
      assert.equal(resolver.resolve('b').kind, 'unknown');
      writeFileSync(file, 'a: h:1\nb: h:2\n');
      await eventually(() => resolver.resolve('b').kind === 'target', 3000, 'new token');
      assert.deepEqual(reloads, ['ok']);
    } finally {
      resolver.close();
    }
  });

  test('a broken rewrite keeps the last good table and reports an error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wsgate-broken-'));
    const file = join(dir, 'tokens');
    writeFileSync(file, 'a: h:1\n');
    const reloads: string[] = [];
    const resolver = new TokenFileResolver(file, { onReload: (r) => reloads.push(r) });
    try {
      rmSync(file);
      resolver.reload();
      assert.deepEqual(reloads, ['error']);
      assert.equal(resolver.resolve('a').kind, 'target', 'last good table kept');
    } finally {
      resolver.close();
    }
  });

  test('a Kubernetes Secret symlink swap is picked up by a running proxy', async () => {
    const echo = await startEchoServer();
    const root = mkdtempSync(join(tmpdir(), 'wsgate-secret-'));
    kubeSecretDir(root, { tokens: `old: 127.0.0.1:${echo.port}\n` }, 1);
    const proxy = await startTestProxy(['--token-file', join(root, 'tokens')]);
    try {
      const before = await openClient(proxy.url('/?token=old'));
      await assert.rejects(
        openClient(proxy.url('/?token=new')),
        (e: { status: number }) => e.status === 401,
      );
      // The kubelet writes a new timestamped dir and swaps ..data atomically.
      const oldTs = join(root, '..2026_11_23_00_00_01');
      kubeSecretDir(root, { tokens: `new: 127.0.0.1:${echo.port}\n` }, 2);
      rmSync(oldTs, { recursive: true });
      await eventually(
        async () =>
          (await metricValue(
            proxy.metricsUrl('/metrics'),
            'wsgate_config_reloads_total',
            'result="ok"',
          )) === 1,
        3000,
        'reload counted',
      );
      const after = await openClient(proxy.url('/?token=new'));
      await assert.rejects(
        openClient(proxy.url('/?token=old')),
        (e: { status: number }) => e.status === 401,
      );
      // The session opened under the old token is unaffected.
      const got = receive(before, 4);
      before.send(Buffer.from('same'));
      assert.equal((await got).toString(), 'same');
      before.close();
      after.close();
    } finally {
      await proxy.close();
      await echo.close();
    }
  });
});
