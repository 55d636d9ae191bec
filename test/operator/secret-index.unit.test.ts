/** Which resources name which Secrets, as Secret events need it. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SecretIndex } from '../../operator/src/controller/secret-index.js';
import { needsPoll } from '../../operator/src/controller/reconcile.js';
import { fixture } from './helpers.js';

const named = (name: string, spec: Parameters<typeof fixture>[0]) => {
  const wsp = fixture(spec);
  wsp.metadata!.name = name;
  return wsp;
};

describe('SecretIndex', () => {
  test('maps every Secret a spec names to the resource, in its namespace', () => {
    const index = new SecretIndex();
    index.set(
      named('a', {
        tls: { secretName: 'a-tls' },
        tokens: {
          file: { secretRef: { name: 'shared', key: 'tokens' } },
          jwt: { keySecretRef: { name: 'jwt-key', key: 'pub.pem' } },
        },
        targets: { allow: ['10.0.0.0/8'], tls: { caSecretRef: { name: 'ca', key: 'ca.crt' } } },
      }),
    );
    index.set(named('b', { tokens: { file: { secretRef: { name: 'shared', key: 't' } } } }));
    assert.deepEqual(index.ownersOf('consoles', 'shared').sort(), ['consoles/a', 'consoles/b']);
    for (const secret of ['a-tls', 'jwt-key', 'ca']) {
      assert.deepEqual(index.ownersOf('consoles', secret), ['consoles/a'], secret);
    }
    assert.deepEqual(index.ownersOf('other', 'shared'), []);
  });

  test("cert-manager's TLS Secret is not indexed: the Certificate speaks for it", () => {
    const index = new SecretIndex();
    index.set(named('a', { tls: { issuerRef: { name: 'ca' }, dnsNames: ['a.example.com'] } }));
    assert.deepEqual(index.ownersOf('consoles', 'a-tls'), []);
  });

  test('a spec change moves the entry; removal forgets it', () => {
    const index = new SecretIndex();
    index.set(named('a', { tokens: { file: { secretRef: { name: 'old', key: 't' } } } }));
    index.set(named('a', { tokens: { file: { secretRef: { name: 'new', key: 't' } } } }));
    assert.deepEqual(index.ownersOf('consoles', 'old'), []);
    assert.deepEqual(index.ownersOf('consoles', 'new'), ['consoles/a']);
    index.remove('consoles/a');
    assert.deepEqual(index.ownersOf('consoles', 'new'), []);
  });

  test('an object without a usable spec names nothing', () => {
    const index = new SecretIndex();
    index.set({ metadata: { name: 'x', namespace: 'consoles' } } as never);
    assert.deepEqual(index.ownersOf('consoles', 'console-tokens'), []);
  });
});

describe('needsPoll', () => {
  const waiting = (reason: string) => [{ status: 'False', reason }];
  const cases: [string, { status: string; reason: string }[], boolean, boolean][] = [
    [
      'a missing Secret where Secrets are watched: the watch tells',
      waiting('SecretNotFound'),
      true,
      false,
    ],
    ['a missing Secret elsewhere: poll', waiting('SecretNotFound'), false, true],
    ['a TLS Secret without a key elsewhere: poll', waiting('TLSSecretInvalid'), false, true],
    [
      'a missing issuer: always poll (issuers are not watched)',
      waiting('IssuerNotFound'),
      true,
      true,
    ],
    ['an issuer not ready', waiting('IssuerNotReady'), true, true],
    ['pods starting: the Deployment watch tells', waiting('ReplicasUnavailable'), false, false],
    ['all true', [{ status: 'True', reason: 'SecretNotFound' }], false, false],
  ];
  for (const [name, conditions, watched, expected] of cases) {
    test(name, () => assert.equal(needsPoll(conditions, watched), expected));
  }
});
