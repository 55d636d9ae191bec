/**
 * websockify token files: parsing and judging (pure), and live reload through the real
 * watcher and a real proxy: Kubernetes' symlink swap, garbage, emptying, bad lines and
 * directories of files.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  judgeTokenFile,
  mergeReadings,
  parseTokenFile,
  readTokenFiles,
  readTokenSource,
  TokenFileResolver,
  type TokenFileReload,
} from '../../proxy/src/tokens/file.js';
import type { Target } from '../../proxy/src/tokens/types.js';
import { runWsgate, startWsgate } from '../helpers/cli.js';
import {
  eventually,
  metricValue,
  openClient,
  receive,
  startTestProxy,
  type TestProxy,
} from '../helpers/proxy.js';
import { leakWatch } from '../helpers/leak-watch.js';
import { refusedWith } from '../helpers/proxy-session.js';
import { prng } from '../helpers/raw.js';
import { startEchoServer, type TestServer } from '../helpers/servers.js';

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

  test('problems say what is wrong without quoting the line (it may be a secret)', () => {
    const text = '"password": "hunter2"\nvm: host:99999\nvm2: fd00::5:5900\nx: :5900\n';
    const { problems } = parseTokenFile(text);
    assert.deepEqual(
      problems.map((p) => [p.line, p.message]),
      [
        [1, 'target is not HOST:PORT'],
        [2, 'target: port must be 1-65535'],
        [3, 'target: IPv6 addresses must be written as [ADDRESS]:PORT'],
        [4, 'target is not HOST:PORT'],
      ],
    );
  });

  test('a directory means every regular, non-hidden file in it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wsgate-tokdir-'));
    writeFileSync(join(dir, 'a'), 'a: h:1\n');
    writeFileSync(join(dir, 'b'), 'b: h:2\n');
    writeFileSync(join(dir, '.hidden'), 'c: h:3\n');
    mkdirSync(join(dir, 'sub'));
    assert.deepEqual([...readTokenSource(dir).tokens.keys()].sort(), ['a', 'b']);
  });
});

/** Random bytes, the same every run: what a botched copy or a wrong Secret key leaves. */
const garbage = (seed: number, n = 4096) => prng(seed).bytes(n);

describe('judgeTokenFile', () => {
  const bytes = (text: string) => Buffer.from(text);
  // [name, content, entries installed (undefined = rejected), problem lines]
  const cases: [string, Buffer, string[] | undefined, (number | undefined)[]][] = [
    ['empty file: valid, no entries', bytes(''), [], []],
    ['comments and blank lines only: valid, no entries', bytes('# none\n\n  # left\n'), [], []],
    ['valid file', bytes('a: h:1\nb: h:2\n'), ['a', 'b'], []],
    ['UTF-8 byte order mark ignored', bytes('\uFEFFa: h:1\n'), ['a'], []],
    ['some bad lines: valid entries kept', bytes('a: h:1\nnonsense\nb: h:0\n'), ['a'], [2, 3]],
    [
      'only bad lines: rejected',
      bytes('# vms\nvm1 10.0.0.5:5900\nvm2: nowhere\n'),
      undefined,
      [2, 3],
    ],
    ['random bytes: rejected as a whole', garbage(18), undefined, [undefined]],
    ['a NUL byte: rejected as a whole', bytes('a: h:1\0\n'), undefined, [undefined]],
    [
      'invalid UTF-8: rejected as a whole',
      Buffer.from([0x61, 0x3a, 0x20, 0xc3, 0x28]),
      undefined,
      [undefined],
    ],
  ];
  for (const [name, content, want, lines] of cases) {
    test(name, () => {
      const r = judgeTokenFile('/t', content);
      assert.deepEqual(r.tokens && [...r.tokens.keys()], want);
      assert.deepEqual(
        r.problems.map((p) => p.line),
        lines,
      );
      for (const p of r.problems) assert.equal(p.file, '/t');
    });
  }

  test('random bytes of many seeds are all rejected, never half-installed', () => {
    for (let seed = 1; seed <= 200; seed++) {
      assert.equal(judgeTokenFile('/t', garbage(seed, 512)).tokens, undefined, `seed ${seed}`);
    }
  });
});

describe('mergeReadings', () => {
  const target = (port: number): Target => ({ host: 'h', port });
  const reading = (file: string, text: string | Buffer) =>
    judgeTokenFile(file, typeof text === 'string' ? Buffer.from(text) : text);
  const keys = (m: Map<string, Target>) => [...m.keys()].sort();

  test('a rejected file keeps its last good entries; the others update', () => {
    const previous = new Map([
      ['/d/a', new Map([['a', target(1)]])],
      ['/d/b', new Map([['b', target(2)]])],
    ]);
    const t = mergeReadings([reading('/d/a', garbage(1)), reading('/d/b', 'c: h:3\n')], previous);
    assert.deepEqual(keys(t.tokens), ['a', 'c']);
    assert.deepEqual(t.kept, ['/d/a']);
    assert.equal(t.problems.length, 1);
  });

  test('a rejected file with no last good entries contributes none', () => {
    const t = mergeReadings([reading('/d/a', garbage(2)), reading('/d/b', 'b: h:2')]);
    assert.deepEqual(keys(t.tokens), ['b']);
    assert.deepEqual(t.kept, ['/d/a']);
  });

  test('a file gone from the directory takes its entries with it', () => {
    const previous = new Map([
      ['/d/a', new Map([['a', target(1)]])],
      ['/d/b', new Map([['b', target(2)]])],
    ]);
    const t = mergeReadings([reading('/d/b', 'b: h:2')], previous);
    assert.deepEqual(keys(t.tokens), ['b']);
    assert.deepEqual([...t.byFile.keys()], ['/d/b']);
  });

  test('an emptied file revokes its entries', () => {
    const previous = new Map([['/t', new Map([['a', target(1)]])]]);
    const t = mergeReadings([reading('/t', '# all revoked\n')], previous);
    assert.equal(t.tokens.size, 0);
    assert.deepEqual(t.kept, []);
    assert.deepEqual(t.problems, []);
  });

  test('a token named in two files: the later file wins', () => {
    const t = mergeReadings([reading('/d/a', 'x: h:1'), reading('/d/b', 'x: h:2')]);
    assert.equal(t.tokens.get('x')?.port, 2);
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

/**
 * What a running proxy does with each kind of rewrite, seen from outside: the file is
 * written, the reload is awaited through `wsgate_config_reloads_total` (so the watcher had
 * its chance), then real clients connect.
 */
describe('token file rewrites on a running proxy', () => {
  let echo: TestServer;
  before(async () => {
    echo = await startEchoServer();
  });
  after(() => echo.close());

  // Console tokens are named by `tok()`: long enough for the leak scan to look for.
  const tok = (name: string) => `console-${name}`;
  /** Every line of every proxy below, scanned for every token the tests write. */
  const leaks = leakWatch(['old', 'new', 'vm1', 'vm2', 'vm3', 'vm4'].map(tok));
  const line = (token: string) => `${tok(token)}: 127.0.0.1:${echo.port}\n`;
  const reloads = (proxy: TestProxy, result: 'ok' | 'error') =>
    metricValue(proxy.metricsUrl('/metrics'), 'wsgate_config_reloads_total', `result="${result}"`);
  const reloaded = (proxy: TestProxy, result: 'ok' | 'error', n: number) =>
    eventually(async () => (await reloads(proxy, result)) === n, 5000, `${result} reload ${n}`);
  /** Opens, checks the relay with an echo, closes: the token works. */
  const works = async (proxy: TestProxy, token: string) => {
    const ws = await openClient(proxy.url(`/?token=${tok(token)}`));
    const got = receive(ws, 2);
    ws.send(Buffer.from('hi'));
    assert.equal((await got).toString(), 'hi');
    ws.close();
  };
  const refused = (proxy: TestProxy, token: string) =>
    assert.rejects(
      openClient(proxy.url(`/?token=${tok(token)}`)),
      refusedWith(401, 'PROXY_ERR_UNKNOWN_TOKEN'),
    );
  const problemLog = (proxy: TestProxy, msg: string) =>
    eventually(() => proxy.logs.find((l) => l.msg === msg), 2000, `log "${msg}"`);

  test('a broken rewrite keeps the last good table and reports an error', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'wsgate-broken-')), 'tokens');
    writeFileSync(file, line('old'));
    const proxy = await leaks.start(['--token-file', file]);
    try {
      await works(proxy, 'old');
      // A copy cut short by a NUL run: it names a new token, but the file is not text.
      writeFileSync(file, `${line('old')}${line('new')}\0\0\0\0`);
      await reloaded(proxy, 'error', 1);
      const log = await problemLog(proxy, 'token file rejected; keeping the last good entries');
      assert.deepEqual(log.kept, [file]);
      assert.equal(log.level, 50, 'at error level');
      await works(proxy, 'old');
      await refused(proxy, 'new');
      assert.equal(await reloads(proxy, 'ok'), 0, 'nothing of the broken file was installed');
    } finally {
      await proxy.close();
    }
  });

  test('a deleted token file keeps the last good table and reports the read error', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'wsgate-deleted-')), 'tokens');
    writeFileSync(file, line('old'));
    const proxy = await leaks.start(['--token-file', file]);
    try {
      rmSync(file);
      await reloaded(proxy, 'error', 1);
      const log = await problemLog(proxy, 'token file rejected; keeping the last good entries');
      assert.deepEqual(log.problems, [{ file, message: 'ENOENT' }]);
      assert.deepEqual(log.kept, [file]);
      await works(proxy, 'old');
    } finally {
      await proxy.close();
    }
  });

  test('overwritten with random bytes: known tokens keep working, then a valid file is installed', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'wsgate-garbage-')), 'tokens');
    writeFileSync(file, line('vm1') + line('vm2'));
    const proxy = await leaks.start(['--token-file', file]);
    try {
      await works(proxy, 'vm1');
      writeFileSync(file, garbage(1018, 16 * 1024)); // in place, as a botched copy would
      await reloaded(proxy, 'error', 1);
      await works(proxy, 'vm1');
      await works(proxy, 'vm2');
      const log = await problemLog(proxy, 'token file rejected; keeping the last good entries');
      assert.deepEqual(log.kept, [file]);
      assert.equal(log.count, 2);
      // Then a valid file: exactly its entries, vm1 revoked.
      writeFileSync(file, line('vm2') + line('vm3'));
      await reloaded(proxy, 'ok', 1);
      await works(proxy, 'vm3');
      await works(proxy, 'vm2');
      await refused(proxy, 'vm1');
      assert.equal(await reloads(proxy, 'error'), 1, 'the garbage was counted once');
    } finally {
      await proxy.close();
    }
  });

  test('an empty file, or one of comments only, revokes every token', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'wsgate-empty-')), 'tokens');
    writeFileSync(file, line('vm1'));
    const proxy = await leaks.start(['--token-file', file]);
    try {
      await works(proxy, 'vm1');
      writeFileSync(file, '');
      await reloaded(proxy, 'ok', 1);
      await refused(proxy, 'vm1');
      writeFileSync(file, line('vm1'));
      await reloaded(proxy, 'ok', 2);
      await works(proxy, 'vm1');
      writeFileSync(file, '# every console revoked\n\n');
      await reloaded(proxy, 'ok', 3);
      await refused(proxy, 'vm1');
      assert.equal(await reloads(proxy, 'error'), 0);
    } finally {
      await proxy.close();
    }
  });

  test('some bad lines: the valid entries are installed, each bad line logged with its number', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'wsgate-mixed-')), 'tokens');
    writeFileSync(file, line('vm1') + line('vm2'));
    const proxy = await leaks.start(['--token-file', file]);
    try {
      writeFileSync(
        file,
        `# consoles\n${line('vm2')}${tok('vm3')} 127.0.0.1:5900\n${tok('vm4')}: 127.0.0.1:0\n`,
      );
      await reloaded(proxy, 'error', 1);
      const log = await problemLog(proxy, 'token file reloaded; bad lines skipped');
      assert.deepEqual(
        (log.problems as { file: string; line: number }[]).map((p) => [p.file, p.line]),
        [
          [file, 3],
          [file, 4],
        ],
      );
      assert.equal(log.problemCount, 2);
      assert.deepEqual(log.kept, []);
      await works(proxy, 'vm2');
      await refused(proxy, 'vm1'); // removed from the file: revoked despite the bad lines
      await refused(proxy, 'vm3');
    } finally {
      await proxy.close();
    }
  });

  test('a directory: a garbage file keeps its own entries while the others update; a deleted file revokes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wsgate-tokdir-'));
    writeFileSync(join(dir, 'a'), line('vm1'));
    writeFileSync(join(dir, 'b'), line('vm2'));
    const proxy = await leaks.start(['--token-file', dir]);
    try {
      writeFileSync(join(dir, 'a'), garbage(7));
      await reloaded(proxy, 'error', 1);
      writeFileSync(join(dir, 'b'), line('vm3'));
      // Still an error (a is still garbage), but b's change is in.
      await reloaded(proxy, 'error', 2);
      const log = proxy.logs.findLast(
        (l) => l.msg === 'token file rejected; keeping the last good entries',
      );
      assert.deepEqual(log?.kept, [join(dir, 'a')]);
      await works(proxy, 'vm1');
      await works(proxy, 'vm3');
      await refused(proxy, 'vm2');
      rmSync(join(dir, 'a'));
      await reloaded(proxy, 'ok', 1);
      await refused(proxy, 'vm1');
      await works(proxy, 'vm3');
    } finally {
      await proxy.close();
    }
  });

  test('at start: no valid entry is exit 2 naming --token-file and the line; an empty file starts empty', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wsgate-bad-start-'));
    writeFileSync(join(dir, 'garbage'), garbage(3));
    writeFileSync(join(dir, 'typo'), 'vm1 127.0.0.1:5900\n');
    writeFileSync(join(dir, 'empty'), '');
    for (const [name, message] of [
      ['garbage', /--token-file: .*no valid "token: host:port" entry; .*garbage: not a text file/],
      ['typo', /--token-file: .*no valid "token: host:port" entry; .*typo line 1: /],
    ] as const) {
      const run = await runWsgate([
        'proxy',
        '--token-file',
        join(dir, name),
        '--listen',
        '127.0.0.1:0',
      ]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
    }
    // An empty file is a valid, empty table: the proxy starts and refuses every token.
    const d = startWsgate(['proxy', '--token-file', join(dir, 'empty'), '--listen', '127.0.0.1:0']);
    try {
      const loaded = await d.waitFor((l) => l.msg === 'token file loaded');
      assert.equal(loaded.tokens, 0);
      await d.waitFor((l) => l.msg === 'proxy listening');
    } finally {
      d.child.kill('SIGKILL');
      await d.exited;
    }
  });

  test('no line any of these proxies logged, bad lines and rejected files included, holds a token in any form (leak-scan)', () => {
    assert.ok(leaks.scanned > 30, `only ${leaks.scanned} lines were scanned`);
    leaks.assertClean();
  });
});

describe('TokenFileResolver in process', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'wsgate-tokres-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  /** A fresh file holding `text`. */
  const fileWith = (text: string | Buffer) => {
    const path = join(dir, `tokens-${++n}`);
    writeFileSync(path, text);
    return path;
  };
  type Event = [string, TokenFileReload];
  const recorder = () => {
    const events: Event[] = [];
    return {
      events,
      onReload: (result: string, detail: TokenFileReload) => events.push([result, detail]),
    };
  };

  test('resolves its tokens, lists their targets and counts them; an unknown token is unknown', () => {
    const r = new TokenFileResolver(fileWith('a: h:1\nb: unix_socket:/run/b.sock\n'), {}, false);
    try {
      assert.equal(r.size, 2);
      assert.deepEqual(r.targets(), [
        { host: 'h', port: 1 },
        { host: '', port: 0, unix: '/run/b.sock' },
      ]);
      assert.deepEqual(r.resolve('a'), { kind: 'target', target: { host: 'h', port: 1 } });
      assert.deepEqual(r.resolve('zz'), { kind: 'unknown' });
    } finally {
      r.close();
    }
  });

  test('a clean start reports nothing; bad lines at start are reported once as an error', () => {
    const clean = recorder();
    new TokenFileResolver(fileWith('a: h:1\n'), clean, false).close();
    assert.deepEqual(clean.events, []);
    const mixed = recorder();
    const path = fileWith('a: h:1\nlonely\n');
    new TokenFileResolver(path, mixed, false).close();
    assert.deepEqual(mixed.events, [
      [
        'error',
        {
          count: 1,
          problems: [{ file: path, line: 2, message: 'expected "token: host:port"' }],
          problemCount: 1,
          kept: [],
        },
      ],
    ]);
  });

  test('a reload report lists the first 20 problems and counts them all', () => {
    const bad = Array.from({ length: 25 }, (_, i) => `bad${i}`).join('\n');
    const events = recorder();
    new TokenFileResolver(fileWith(`a: h:1\n${bad}\n`), events, false).close();
    const [[result, detail]] = events.events as [Event];
    assert.equal(result, 'error');
    assert.equal(detail.problems.length, 20);
    assert.equal(detail.problems[19]?.line, 21);
    assert.equal(detail.problemCount, 25);
  });

  test('reload(): a rewrite is reported ok with its count; the same bytes again report nothing', () => {
    const path = fileWith('a: h:1\n');
    const events = recorder();
    const r = new TokenFileResolver(path, events, false);
    try {
      writeFileSync(path, 'b: h:2\nc: h:3\n');
      r.reload();
      writeFileSync(path, 'b: h:2\nc: h:3\n');
      r.reload();
      assert.deepEqual(events.events, [
        ['ok', { count: 2, problems: [], problemCount: 0, kept: [] }],
      ]);
      assert.deepEqual(r.resolve('a'), { kind: 'unknown' });
      assert.equal(r.resolve('c').kind, 'target');
    } finally {
      r.close();
    }
  });

  test('reload(): a rewrite with a bad line is reported as an error and installs the rest', () => {
    const path = fileWith('a: h:1\n');
    const events = recorder();
    const r = new TokenFileResolver(path, events, false);
    try {
      writeFileSync(path, 'b: h:2\nlonely\n');
      r.reload();
      assert.deepEqual(events.events, [
        [
          'error',
          {
            count: 1,
            problems: [{ file: path, line: 2, message: 'expected "token: host:port"' }],
            problemCount: 1,
            kept: [],
          },
        ],
      ]);
      assert.equal(r.resolve('b').kind, 'target');
    } finally {
      r.close();
    }
  });

  test('reload(): a deleted file is reported with its errno code and the last good table kept', () => {
    const path = fileWith('a: h:1\nb: h:2\n');
    const events = recorder();
    const r = new TokenFileResolver(path, events, false);
    try {
      rmSync(path);
      r.reload();
      assert.deepEqual(events.events, [
        [
          'error',
          {
            count: 2,
            problems: [{ file: path, message: 'ENOENT' }],
            problemCount: 1,
            kept: [path],
          },
        ],
      ]);
      assert.equal(r.resolve('a').kind, 'target');
    } finally {
      r.close();
    }
  });

  test('by default it watches the file: a rewrite is installed without reload()', async () => {
    const path = fileWith('a: h:1\n');
    const events = recorder();
    const r = new TokenFileResolver(path, events);
    try {
      writeFileSync(path, 'b: h:2\n');
      await eventually(() => events.events.length === 1, 5000, 'the rewrite to be noticed');
      assert.equal(r.resolve('b').kind, 'target');
    } finally {
      r.close();
    }
  });

  test('without an onReload listener, bad lines at start, a rewrite and a deleted file are handled', () => {
    const path = fileWith('a: h:1\nlonely\n');
    const r = new TokenFileResolver(path, undefined, false);
    try {
      writeFileSync(path, 'b: h:2\n');
      r.reload();
      assert.equal(r.resolve('b').kind, 'target');
      rmSync(path);
      r.reload();
      assert.equal(r.resolve('b').kind, 'target');
    } finally {
      r.close();
    }
  });

  test('an empty file at start is an empty table, not an error', () => {
    const events = recorder();
    const r = new TokenFileResolver(fileWith(''), events, false);
    assert.equal(r.size, 0);
    assert.deepEqual(events.events, []);
    r.close();
  });

  test('the resolver is named file (its metrics label)', () => {
    const r = new TokenFileResolver(fileWith('a: h:1\n'), {}, false);
    assert.equal(r.name, 'file');
    r.close();
  });

  test('reload(): a directory left with no valid entry installs the empty table', () => {
    const d = mkdtempSync(join(dir, 'emptied-'));
    writeFileSync(join(d, 'a'), 'a: h:1\n');
    const events = recorder();
    const r = new TokenFileResolver(d, events, false);
    try {
      rmSync(join(d, 'a'));
      writeFileSync(join(d, 'b'), 'lonely\n');
      r.reload();
      // a's entries go with a; b was never good: nothing is left, and that is installed.
      assert.deepEqual(r.resolve('a'), { kind: 'unknown' });
      assert.deepEqual(events.events, [
        [
          'error',
          {
            count: 0,
            problems: [{ file: join(d, 'b'), line: 1, message: 'expected "token: host:port"' }],
            problemCount: 1,
            kept: [join(d, 'b')],
          },
        ],
      ]);
    } finally {
      r.close();
    }
  });

  test('at start, a directory with no valid entry names the file of the first problem', () => {
    const d = mkdtempSync(join(dir, 'bad-dir-'));
    writeFileSync(join(d, 'g'), Buffer.from([0x61, 0, 0x62]));
    assert.throws(() => new TokenFileResolver(d, {}, false), {
      message: `--token-file: ${d}: no valid "token: host:port" entry; ${join(d, 'g')}: not a text file (NUL byte or invalid UTF-8)`,
    });
  });

  test('at start, a path that cannot be read is a SettingError naming --token-file and the code', () => {
    const path = join(dir, 'missing');
    assert.throws(() => new TokenFileResolver(path, {}, false), {
      name: 'SettingError',
      message: `--token-file: cannot read ${path}: ENOENT`,
    });
  });

  test('at start, no valid entry is a SettingError naming the first problem and how many more', () => {
    const two = fileWith('lonely\nvm: h:0\n');
    assert.throws(() => new TokenFileResolver(two, {}, false), {
      name: 'SettingError',
      message:
        `--token-file: ${two}: no valid "token: host:port" entry; ` +
        `${two} line 1: expected "token: host:port" (and 1 more problems)`,
    });
    const one = fileWith('vm: h:0\n');
    assert.throws(() => new TokenFileResolver(one, {}, false), {
      message: `--token-file: ${one}: no valid "token: host:port" entry; ${one} line 1: target: port must be 1-65535`,
    });
    const binary = fileWith(Buffer.from([0x61, 0, 0x62]));
    assert.throws(() => new TokenFileResolver(binary, {}, false), {
      message: `--token-file: ${binary}: no valid "token: host:port" entry; ${binary}: not a text file (NUL byte or invalid UTF-8)`,
    });
  });

  test('a token named in two files of a directory: the file later in JavaScript string order wins', () => {
    // The kernel's listing comes back in byte (UTF-8) order, where U+FB00 (EF AC 80) sorts
    // before U+1F600 (F0 9F 98 80); in UTF-16, as JavaScript compares, the emoji (D83D) is
    // first. The table must follow the documented name order, not the listing's.
    const d = mkdtempSync(join(dir, 'order-'));
    writeFileSync(join(d, '\u{1F600}'), 'x: h:1\n');
    writeFileSync(join(d, '\uFB00'), 'x: h:2\n');
    assert.deepEqual(readTokenSource(d).tokens.get('x'), { host: 'h', port: 2 });
  });

  test('readTokenFiles: a directory is read in name order; an entry that cannot be read is a rejected reading', () => {
    const d = mkdtempSync(join(dir, 'dir-'));
    for (const name of ['e', 'd', 'b', 'a']) writeFileSync(join(d, name), `${name}: h:1\n`);
    mkdirSync(join(d, 'c-subdir'));
    symlinkSync(join(d, 'nowhere'), join(d, 'c-dangling'));
    const readings = readTokenFiles(d);
    assert.deepEqual(
      readings.map((r) => r.file),
      ['a', 'b', 'c-dangling', 'd', 'e'].map((name) => join(d, name)),
    );
    assert.deepEqual(readings[2], {
      file: join(d, 'c-dangling'),
      print: 'error ENOENT',
      problems: [{ file: join(d, 'c-dangling'), message: 'ENOENT' }],
    });
    assert.deepEqual([...readTokenSource(d).tokens.keys()], ['a', 'b', 'd', 'e']);
  });
});
