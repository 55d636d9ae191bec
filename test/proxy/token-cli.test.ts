import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { tokenCommand } from '../../cli/token.js';
import { REFUSALS } from '../../proxy/src/errors.js';
import { createJwtResolver, type JwtResolverOptions } from '../../proxy/src/tokens/jwt.js';
import { runWsgate } from '../helpers/cli.js';
import { targetOnly, tempDir } from './tokens-fixtures.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(argv: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await tokenCommand(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { code, stdout, stderr };
}

describe('wsgate token', () => {
  let dir: string;
  const files: Record<string, string> = {};
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ed = generateKeyPairSync('ed25519');

  before(() => {
    dir = tempDir();
    const put = (name: string, content: string | Buffer) => {
      files[name] = join(dir, name);
      writeFileSync(files[name], content);
    };
    put('rsa.key', rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }));
    put('rsa.pub', rsa.publicKey.export({ type: 'spki', format: 'pem' }));
    put('ec.key', ec.privateKey.export({ type: 'sec1', format: 'pem' }));
    put('ec.pub', ec.publicKey.export({ type: 'spki', format: 'pem' }));
    put('ed.jwk', JSON.stringify({ ...ed.privateKey.export({ format: 'jwk' }), kid: 'ed-1' }));
    put(
      'ed.pub.jwks',
      JSON.stringify({ keys: [{ ...ed.publicKey.export({ format: 'jwk' }), kid: 'ed-1' }] }),
    );
    put('secret', `${randomBytes(32).toString('hex')}\n`);
    put('short', 'short\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Mints with the CLI and resolves with a jwt resolver on `verifyKey`. */
  async function roundTrip(
    argv: string[],
    verifyKey: string,
    opts: Partial<JwtResolverOptions> = {},
  ) {
    const out = await run(argv);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stderr, '');
    assert.match(out.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const ticket = out.stdout.trim();
    const r = createJwtResolver({ keyFile: verifyKey, watch: false, ...opts });
    try {
      return { ticket, resolution: targetOnly(await r.resolve(ticket)) };
    } finally {
      r.close();
    }
  }

  describe('prints a ticket the proxy accepts', () => {
    const cases: {
      name: string;
      argv: () => string[];
      verify: () => string;
      opts?: Partial<JwtResolverOptions>;
      alg: string;
    }[] = [
      {
        name: 'RSA PEM (PKCS#1) → RS256',
        argv: () => ['--key', files['rsa.key']!, '--target', '10.0.0.5:5900', '--ttl', '60s'],
        verify: () => files['rsa.pub']!,
        alg: 'RS256',
      },
      {
        name: 'the private key file verifies too',
        argv: () => ['--key', files['rsa.key']!, '--target', '10.0.0.5:5900'],
        verify: () => files['rsa.key']!,
        alg: 'RS256',
      },
      {
        name: 'EC (SEC1) → ES256',
        argv: () => ['--key', files['ec.key']!, '--target', '10.0.0.5:5900'],
        verify: () => files['ec.pub']!,
        alg: 'ES256',
      },
      {
        name: 'Ed25519 JWK with kid → EdDSA',
        argv: () => ['--key', files['ed.jwk']!, '--target', '10.0.0.5:5900'],
        verify: () => files['ed.pub.jwks']!,
        alg: 'EdDSA',
      },
      {
        name: 'shared secret → HS256',
        argv: () => ['--key', files['secret']!, '--target', '10.0.0.5:5900'],
        verify: () => files['secret']!,
        alg: 'HS256',
      },
      {
        name: '--algorithm PS256',
        argv: () => [
          '--key',
          files['rsa.key']!,
          '--target',
          '10.0.0.5:5900',
          '--algorithm',
          'PS256',
        ],
        verify: () => files['rsa.pub']!,
        opts: { algorithms: ['PS256'] },
        alg: 'PS256',
      },
      {
        name: '--audience and --issuer',
        argv: () => [
          '--key',
          files['rsa.key']!,
          '--target',
          '10.0.0.5:5900',
          '--audience',
          'wsgate',
          '--issuer',
          'portal',
        ],
        verify: () => files['rsa.pub']!,
        opts: { audience: 'wsgate', issuer: 'portal' },
        alg: 'RS256',
      },
    ];
    for (const c of cases) {
      test(c.name, async () => {
        const { ticket, resolution } = await roundTrip(c.argv(), c.verify(), c.opts);
        assert.deepEqual(resolution, { kind: 'target', target: { host: '10.0.0.5', port: 5900 } });
        assert.equal(decodeProtectedHeader(ticket).alg, c.alg);
      });
    }
  });

  test('IPv6 target', async () => {
    const { resolution } = await roundTrip(
      ['--key', files['rsa.key']!, '--target', '[2001:db8::7]:5901'],
      files['rsa.pub']!,
    );
    assert.deepEqual(resolution, { kind: 'target', target: { host: '2001:db8::7', port: 5901 } });
  });

  test('--ttl sets exp; the default is 60s', async () => {
    for (const [ttl, seconds] of [
      [[], 60],
      [['--ttl', '5m'], 300],
      [['--ttl', '1500ms'], 2],
    ] as [string[], number][]) {
      const out = await run(['--key', files['rsa.key']!, '--target', 'h:1', ...ttl]);
      const claims = decodeJwt(out.stdout.trim());
      assert.equal(claims.exp! - claims.iat!, seconds, ttl.join(' '));
      assert.equal(claims.jti, undefined);
    }
  });

  test('--single-use adds a jti the proxy accepts once', async () => {
    const out = await run(['--key', files['rsa.key']!, '--target', 'h:1', '--single-use']);
    const ticket = out.stdout.trim();
    assert.match(String(decodeJwt(ticket).jti), /^[\w-]{22}$/);
    const r = createJwtResolver({ keyFile: files['rsa.pub']!, singleUse: true, watch: false });
    assert.equal((await r.resolve(ticket)).kind, 'target');
    assert.deepEqual(await r.resolve(ticket, { client: '10.0.0.2' }), {
      kind: 'refused',
      reason: 'ticket already used',
      refusal: REFUSALS.tokenReplayed,
    });
    r.close();
  });

  test('--subject sets sub, which the proxy reports as the subject', async () => {
    const out = await run(['--key', files['rsa.key']!, '--target', 'h:1', '--subject', 'alice']);
    const ticket = out.stdout.trim();
    assert.equal(decodeJwt(ticket).sub, 'alice');
    const r = createJwtResolver({ keyFile: files['rsa.pub']!, watch: false });
    const got = await r.resolve(ticket);
    assert.equal(got.kind === 'target' && got.subject, 'alice');
    r.close();
  });

  test('--target unix_socket:/PATH mints a unix claim the proxy resolves', async () => {
    const { ticket, resolution } = await roundTrip(
      ['--key', files['rsa.key']!, '--target', 'unix_socket:/run/qemu/vm1.vnc'],
      files['rsa.pub']!,
    );
    const claims = decodeJwt(ticket);
    assert.equal(claims.unix, '/run/qemu/vm1.vnc');
    assert.equal(claims.host, undefined);
    assert.deepEqual(resolution, {
      kind: 'target',
      target: { host: '', port: 0, unix: '/run/qemu/vm1.vnc' },
    });
  });

  test('--help', async () => {
    const out = await run(['--help']);
    assert.equal(out.code, 0);
    assert.match(out.stdout, /^Usage: wsgate token --key FILE --target HOST:PORT/);
  });

  describe('bad input exits 2 naming the flag', () => {
    const cases: [string, () => string[], RegExp][] = [
      ['no --key', () => ['--target', 'h:1'], /--key: is required/],
      ['no --target', () => ['--key', files['rsa.key']!], /--target: is required/],
      [
        'key file missing',
        () => ['--key', join(dir, 'nope'), '--target', 'h:1'],
        /--key: .*nope: file not found/,
      ],
      [
        'key too short',
        () => ['--key', files['short']!, '--target', 'h:1'],
        /--key: .*at least 32 bytes/,
      ],
      [
        'public key only',
        () => ['--key', files['rsa.pub']!, '--target', 'h:1'],
        /--key: .*no private key or secret found/,
      ],
      [
        'target without port',
        () => ['--key', files['rsa.key']!, '--target', 'host'],
        /--target: "host" is not HOST:PORT/,
      ],
      [
        'target port 0',
        () => ['--key', files['rsa.key']!, '--target', 'h:0'],
        /--target: .*port must be 1-65535/,
      ],
      [
        'bad ttl',
        () => ['--key', files['rsa.key']!, '--target', 'h:1', '--ttl', 'soon'],
        /--ttl: "soon" is not a duration/,
      ],
      [
        'ttl too short',
        () => ['--key', files['rsa.key']!, '--target', 'h:1', '--ttl', '0s'],
        /--ttl: must be at least 1s/,
      ],
      [
        'HS256 with RSA',
        () => ['--key', files['rsa.key']!, '--target', 'h:1', '--algorithm', 'HS256'],
        /--algorithm: algorithm HS256 does not fit/,
      ],
      [
        'unknown algorithm',
        () => ['--key', files['rsa.key']!, '--target', 'h:1', '--algorithm', 'none'],
        /--algorithm: algorithm "none" is not supported/,
      ],
      [
        'empty audience',
        () => ['--key', files['rsa.key']!, '--target', 'h:1', '--audience', ''],
        /--audience: must not be empty/,
      ],
      [
        'empty --subject',
        () => ['--key', files['rsa.key']!, '--target', 'h:1', '--subject', ''],
        /--subject: must not be empty/,
      ],
      [
        'unknown flag',
        () => ['--key', files['rsa.key']!, '--target', 'h:1', '--bogus'],
        /Unknown option '--bogus'/,
      ],
      ['missing value', () => ['--key', files['rsa.key']!, '--target'], /--target/],
      [
        'positional',
        () => ['--key', files['rsa.key']!, '--target', 'h:1', 'extra'],
        /Unexpected argument 'extra'/,
      ],
    ];
    for (const [name, argv, message] of cases) {
      test(name, async () => {
        const out = await run(argv());
        assert.equal(out.code, 2);
        assert.equal(out.stdout, '');
        assert.match(out.stderr, /^wsgate token: /);
        assert.match(out.stderr, message);
      });
    }
  });

  describe('as a subprocess (bin/wsgate.js)', () => {
    test('prints a ticket and exits 0', async () => {
      const out = await runWsgate([
        'token',
        '--key',
        files['ec.key']!,
        '--target',
        '10.0.0.5:5900',
        '--ttl',
        '30s',
      ]);
      assert.equal(out.code, 0, out.stderr);
      const r = createJwtResolver({ keyFile: files['ec.pub']!, watch: false });
      assert.deepEqual(targetOnly(await r.resolve(out.stdout.trim())), {
        kind: 'target',
        target: { host: '10.0.0.5', port: 5900 },
      });
      r.close();
    });

    test('exits 2 naming the flag', async () => {
      const out = await runWsgate(['token', '--key', files['ec.key']!, '--target', 'nope']);
      assert.equal(out.code, 2);
      assert.equal(out.stdout, '');
      assert.match(out.stderr, /--target: "nope" is not HOST:PORT/);
    });
  });
});
