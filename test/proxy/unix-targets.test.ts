/**
 * Unix socket targets: websockify's `token: unix_socket:/path` and a JWT's `unix` claim,
 * dialled only under `--allow-unix-dir` (real path: no `..` or symlink escape), against
 * real node:net servers listening on Unix sockets.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { UnixDirPolicy, inside } from '../../proxy/src/policy/unix-dirs.js';
import { parseTokenFile, TokenFileResolver } from '../../proxy/src/tokens/file.js';
import { mintTicket } from '../../proxy/src/tokens/mint.js';
import {
  parseTokenTarget,
  targetName,
  unixTargetFrom,
} from '../../proxy/src/tokens/target-claims.js';
import { openClient, receive, startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { tempDir } from './tokens-fixtures.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

/** An echo server on a Unix socket that greets first, like a VNC server. */
interface UnixEcho {
  server: Server;
  sockets: Set<Socket>;
  /** Connections ever accepted. */
  accepted: number;
}

function unixEcho(path: string): Promise<UnixEcho> {
  const sockets = new Set<Socket>();
  const echo: UnixEcho = { server: undefined as unknown as Server, sockets, accepted: 0 };
  echo.server = createServer((s) => {
    echo.accepted++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.write('RFB 003.008\n');
    s.pipe(s);
  });
  return new Promise((resolve) => echo.server.listen(path, () => resolve(echo)));
}

let root: string;
let allowed: string;
let outside: string;
let inSock: string;
let outSock: string;
let tokens: string;
let pub: string;
const servers: UnixEcho[] = [];

before(async () => {
  root = tempDir('wsgate-unix-');
  allowed = join(root, 'allowed');
  outside = join(root, 'outside');
  mkdirSync(allowed);
  mkdirSync(outside);
  inSock = join(allowed, 'vm1.sock');
  outSock = join(outside, 'secret.sock');
  servers.push(await unixEcho(inSock), await unixEcho(outSock));
  // A symlink inside the allowed directory that leads to the socket outside it.
  symlinkSync(outSock, join(allowed, 'escape.sock'));
  tokens = join(root, 'tokens');
  writeFileSync(
    tokens,
    [
      `vm1: unix_socket:${inSock}`,
      `outside: unix_socket:${outSock}`,
      `escape: unix_socket:${join(allowed, 'escape.sock')}`,
      `dotdot: unix_socket:${allowed}/../outside/secret.sock`,
      `missing: unix_socket:${join(allowed, 'gone.sock')}`,
    ].join('\n') + '\n',
  );
  pub = join(root, 'pub.pem');
  writeFileSync(pub, rsa.publicKey.export({ type: 'spki', format: 'pem' }));
});
after(async () => {
  for (const { server, sockets } of servers) {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  }
  rmSync(root, { recursive: true, force: true });
});

async function withProxy(flags: string[], fn: (p: TestProxy) => Promise<void>): Promise<void> {
  const proxy = await startTestProxy(flags);
  try {
    await fn(proxy);
  } finally {
    await proxy.close();
  }
}

type Refusal = { status: number; headers: Record<string, string> };
const refusal = (p: Promise<unknown>) =>
  p.then(
    () => assert.fail('the session was accepted'),
    (e: Refusal) => e,
  );

describe('unix socket targets: parsing', () => {
  test("websockify's spelling in token files", () => {
    const { tokens: t, problems } = parseTokenFile(
      'a: unix_socket:/run/vm/a.sock\nb:unix_socket:/run/b.sock\nc: 10.0.0.1:5900\n' +
        'd: unix_socket:relative.sock\ne: unix_socket:/a:b.sock\n',
    );
    assert.deepEqual(t.get('a'), { host: '', port: 0, unix: '/run/vm/a.sock' });
    assert.deepEqual(t.get('b'), { host: '', port: 0, unix: '/run/b.sock' });
    assert.deepEqual(t.get('c'), { host: '10.0.0.1', port: 5900 });
    assert.deepEqual(
      problems.map((p) => [p.line, p.message]),
      [
        [4, 'target: unix socket path must be absolute'],
        [5, 'target: unix socket path invalid'],
      ],
    );
  });

  test('a token file reload() that only moves a socket path installs it', () => {
    const file = join(root, 'reload-tokens');
    writeFileSync(file, 'vm: unix_socket:/run/a.sock\n');
    const r = new TokenFileResolver(file, {}, false);
    writeFileSync(file, 'vm: unix_socket:/run/b.sock\n');
    r.reload();
    assert.deepEqual(r.resolve('vm'), {
      kind: 'target',
      target: { host: '', port: 0, unix: '/run/b.sock' },
    });
    r.close();
  });

  test('unixTargetFrom and targetName', () => {
    assert.deepEqual(unixTargetFrom('/run/../run/x.sock'), {
      host: '',
      port: 0,
      unix: '/run/x.sock',
    });
    assert.equal(unixTargetFrom(5), 'unix socket path missing');
    assert.equal(unixTargetFrom('/' + 'x'.repeat(107)), 'unix socket path too long');
    assert.equal(unixTargetFrom('/a\0b'), 'unix socket path invalid');
    assert.equal(targetName(parseTokenTarget('unix_socket:/run/x.sock')), 'unix:/run/x.sock');
    assert.equal(targetName(parseTokenTarget('[::1]:5900')), '[::1]:5900');
  });

  test('inside() and the policy: realpath, symlinks, .., missing directories', async () => {
    assert.equal(inside('/a/b', '/a/b/c'), true);
    assert.equal(inside('/a/b', '/a/b'), false);
    assert.equal(inside('/a/b', '/a/bc'), false);
    assert.equal(inside('/a/b', '/a/c'), false);
    const policy = new UnixDirPolicy([allowed]);
    assert.deepEqual(await policy.check(inSock), { ok: true, path: inSock });
    assert.equal((await policy.check(outSock)).ok, false);
    assert.equal((await policy.check(join(allowed, 'escape.sock'))).ok, false);
    assert.equal((await policy.check(`${allowed}/../outside/secret.sock`)).ok, false);
    assert.deepEqual(await policy.check(join(allowed, 'gone.sock')), {
      ok: false,
      reason: `${join(allowed, 'gone.sock')}: ENOENT`,
      code: 'ENOENT',
    });
    // An allowed directory given through a symlink still works by either name.
    const link = join(root, 'link-to-allowed');
    symlinkSync(allowed, link);
    const viaLink = new UnixDirPolicy([link]);
    assert.equal((await viaLink.check(join(link, 'vm1.sock'))).ok, true);
    assert.equal((await viaLink.check(inSock)).ok, true);
    assert.throws(() => new UnixDirPolicy([join(root, 'nope')]), /ENOENT/);
    assert.throws(() => new UnixDirPolicy(['relative']), /absolute/);
  });
});

describe('unix socket targets through the proxy', () => {
  test('a token-file unix_socket target under --allow-unix-dir is relayed', async () => {
    await withProxy(['--token-file', tokens, '--allow-unix-dir', allowed], async (proxy) => {
      const ws = await openClient(proxy.url('/?token=vm1'));
      assert.equal((await receive(ws, 12)).toString(), 'RFB 003.008\n');
      ws.send(Buffer.from('hello'));
      assert.equal((await receive(ws, 5)).toString(), 'hello');
      const opened = proxy.logs.find((l) => l.msg === 'connection opened')!;
      assert.equal(opened.target, `unix:${inSock}`);
      ws.close();
    });
  });

  test('a JWT with a unix claim is relayed; one with both unix and host is refused', async () => {
    await withProxy(['--jwt-key', pub, '--allow-unix-dir', allowed], async (proxy) => {
      const ticket = await mintTicket({
        key: { key: rsa.privateKey },
        target: { host: '', port: 0, unix: inSock },
        ttlSeconds: 60,
      });
      const ws = await openClient(proxy.url(`/?token=${ticket}`));
      assert.equal((await receive(ws, 12)).toString(), 'RFB 003.008\n');
      ws.close();
      const { SignJWT } = await import('jose');
      const both = await new SignJWT({ unix: inSock, host: '127.0.0.1', port: 5900 })
        .setProtectedHeader({ alg: 'RS256' })
        .setExpirationTime('1m')
        .sign(rsa.privateKey);
      const e = await refusal(openClient(proxy.url(`/?token=${both}`)));
      assert.equal(e.status, 401);
      assert.equal(
        proxy.logs.find((l) => l.code === 'PROXY_ERR_TOKEN_REFUSED')!.detail,
        'ticket names both a unix socket and host/port',
      );
    });
  });

  test('refused with 403 PROXY_ERR_UNIX_FORBIDDEN: outside the directory, symlink escape, .., no --allow-unix-dir', async () => {
    await withProxy(['--token-file', tokens, '--allow-unix-dir', allowed], async (proxy) => {
      for (const token of ['outside', 'escape', 'dotdot']) {
        const e = await refusal(openClient(proxy.url(`/?token=${token}`)));
        assert.equal(e.status, 403, token);
        assert.equal(e.headers['x-wsgate-error'], 'PROXY_ERR_UNIX_FORBIDDEN', token);
      }
      const missing = await refusal(openClient(proxy.url('/?token=missing')));
      assert.equal(missing.status, 502);
      assert.equal(missing.headers['x-wsgate-error'], 'PROXY_ERR_TARGET_UNREACHABLE');
      // Nothing ever reached the socket outside.
      assert.equal(servers[1]!.accepted, 0);
    });
    await withProxy(['--token-file', tokens], async (proxy) => {
      const e = await refusal(openClient(proxy.url('/?token=vm1')));
      assert.equal(e.status, 403);
      assert.equal(e.headers['x-wsgate-error'], 'PROXY_ERR_UNIX_FORBIDDEN');
      const line = proxy.logs.find((l) => l.code === 'PROXY_ERR_UNIX_FORBIDDEN')!;
      assert.match(String(line.detail), /no --allow-unix-dir given/);
    });
    assert.equal(
      servers[0]!.accepted,
      2,
      'only the two allowed sessions (token file, JWT) reached it',
    );
  });

  test('a missing --allow-unix-dir directory is a configuration error', async () => {
    await assert.rejects(
      startTestProxy(['--token-file', tokens, '--allow-unix-dir', join(root, 'nope')]),
      /--allow-unix-dir: .*ENOENT/,
    );
    await assert.rejects(
      startTestProxy(['--token-file', tokens, '--allow-unix-dir', 'rel/dir']),
      /--allow-unix-dir: "rel\/dir" must be an absolute path/,
    );
  });
});
