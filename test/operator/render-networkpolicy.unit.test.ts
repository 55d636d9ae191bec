/** The NetworkPolicy: ingress, egress for every source of traffic, CIDR handling. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  canonicalCidr,
  egressRules,
  renderNetworkPolicy,
  serviceUrls,
  targetNetwork,
  urlEgress,
} from '../../operator/src/render/networkpolicy.js';
import { fixture } from './helpers.js';

const SELECTOR = {
  'app.kubernetes.io/name': 'wsgate',
  'app.kubernetes.io/instance': 'console',
  'app.kubernetes.io/component': 'proxy',
};
const DNS = {
  ports: [
    { protocol: 'UDP', port: 53 },
    { protocol: 'TCP', port: 53 },
  ],
};
const ANYWHERE = [{ ipBlock: { cidr: '0.0.0.0/0' } }, { ipBlock: { cidr: '::/0' } }];
const MONITORING = { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } };
const ovirt = { ovirt: { certificateSecretRef: { name: 'engine', key: 'engine.cer' } } };

describe('canonicalCidr', () => {
  const cases: [string, number | undefined, string][] = [
    ['10.1.2.3', 8, '10.0.0.0/8'],
    ['192.0.2.7', undefined, '192.0.2.7/32'],
    ['0.0.0.0', 0, '0.0.0.0/0'],
    ['fd00::1', 64, 'fd00::/64'],
    ['FD00:0:0:0:0:0:0:1', undefined, 'fd00::1/128'],
    ['2001:db8:0:0:1:0:0:1', undefined, '2001:db8::1:0:0:1/128'],
    ['::ffff:192.0.2.1', 128, '::ffff:c000:201/128'],
    ['::', 0, '::/0'],
  ];
  for (const [address, prefix, cidr] of cases) {
    test(`${address}/${prefix ?? '-'} is ${cidr}`, () =>
      assert.equal(canonicalCidr(address, prefix), cidr));
  }
  test('a name or an over-long prefix is a RangeError', () => {
    assert.throws(() => canonicalCidr('example.com'), RangeError);
    assert.throws(() => canonicalCidr('10.0.0.0', 33), RangeError);
  });
});

describe('targetNetwork', () => {
  const cases: [string, ReturnType<typeof targetNetwork>][] = [
    ['10.0.0.0/8:5900-5999', { cidr: '10.0.0.0/8', portMin: 5900, portMax: 5999 }],
    ['192.0.2.7:5900', { cidr: '192.0.2.7/32', portMin: 5900, portMax: 5900 }],
    ['192.0.2.0/24', { cidr: '192.0.2.0/24', portMin: 1, portMax: 65535 }],
    ['[fd00::/64]:5900', { cidr: 'fd00::/64', portMin: 5900, portMax: 5900 }],
    ['[fd00::5]:5900-5910', { cidr: 'fd00::5/128', portMin: 5900, portMax: 5910 }],
    ['fd00::/64', { cidr: 'fd00::/64', portMin: 1, portMax: 65535 }],
  ];
  for (const [rule, expected] of cases) {
    test(rule, () => assert.deepEqual(targetNetwork(rule), expected));
  }
  test('anything else is a RangeError', () => assert.throws(() => targetNetwork('vm1:5900')));
});

describe('urlEgress', () => {
  const cases: [string, unknown][] = [
    [
      'https://10.0.0.9/lookup',
      { to: [{ ipBlock: { cidr: '10.0.0.9/32' } }], ports: [{ protocol: 'TCP', port: 443 }] },
    ],
    [
      'http://10.0.0.9:8080/t/{token}',
      { to: [{ ipBlock: { cidr: '10.0.0.9/32' } }], ports: [{ protocol: 'TCP', port: 8080 }] },
    ],
    [
      'http://[fd00::9]/lookup',
      { to: [{ ipBlock: { cidr: 'fd00::9/128' } }], ports: [{ protocol: 'TCP', port: 80 }] },
    ],
    // A name: only the port can be pinned.
    ['https://manager.example.com/api', { to: ANYWHERE, ports: [{ protocol: 'TCP', port: 443 }] }],
    [
      'redis://10.0.0.7',
      { to: [{ ipBlock: { cidr: '10.0.0.7/32' } }], ports: [{ protocol: 'TCP', port: 6379 }] },
    ],
    ['ftp://10.0.0.7/x', null],
    ['not a url', null],
  ];
  for (const [url, expected] of cases) test(url, () => assert.deepEqual(urlEgress(url), expected));
});

describe('serviceUrls', () => {
  test('the token lookup URL, when set', () => {
    assert.deepEqual(serviceUrls(fixture()), []);
    const wsp = fixture({
      tokens: { http: { url: 'https://m.example.com/t' } },
      targets: { allow: ['10.0.0.0/8'] },
    });
    assert.deepEqual(serviceUrls(wsp), [
      { field: 'spec.tokens.http.url', url: 'https://m.example.com/t' },
    ]);
  });
});

describe('egressRules', () => {
  const cases: [string, Parameters<typeof fixture>[0], unknown[]][] = [
    [
      'token file without an allow-list: DNS, and TCP anywhere (the file names the targets)',
      {},
      [DNS, { to: ANYWHERE, ports: [{ protocol: 'TCP' }] }],
    ],
    [
      'allow-list: one rule per port range, networks grouped',
      {
        tokens: ovirt,
        targets: {
          allow: [
            '10.20.0.0/16:5900-6923',
            '192.0.2.7:5900',
            '10.30.0.0/16:5900-6923',
            'fd00::/64',
          ],
        },
      },
      [
        DNS,
        {
          to: [{ ipBlock: { cidr: '10.20.0.0/16' } }, { ipBlock: { cidr: '10.30.0.0/16' } }],
          ports: [{ protocol: 'TCP', port: 5900, endPort: 6923 }],
        },
        { to: [{ ipBlock: { cidr: '192.0.2.7/32' } }], ports: [{ protocol: 'TCP', port: 5900 }] },
        { to: [{ ipBlock: { cidr: 'fd00::/64' } }], ports: [{ protocol: 'TCP' }] },
      ],
    ],
    [
      'the same network twice with one range is listed once',
      { tokens: ovirt, targets: { allow: ['10.0.0.0/8:5900', '10.1.0.0/8:5900'] } },
      [
        DNS,
        { to: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ protocol: 'TCP', port: 5900 }] },
      ],
    ],
    [
      'token lookup by IP: that address and port',
      {
        tokens: { http: { url: 'http://10.9.0.1:8080/lookup' } },
        targets: { allow: ['10.0.0.0/8:5900'] },
      },
      [
        DNS,
        { to: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ protocol: 'TCP', port: 5900 }] },
        { to: [{ ipBlock: { cidr: '10.9.0.1/32' } }], ports: [{ protocol: 'TCP', port: 8080 }] },
      ],
    ],
    [
      'token lookup by name: its port, any address',
      {
        tokens: { http: { url: 'https://manager.example.com/lookup' } },
        targets: { allow: ['10.0.0.0/8:5900'] },
      },
      [
        DNS,
        { to: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ protocol: 'TCP', port: 5900 }] },
        { to: ANYWHERE, ports: [{ protocol: 'TCP', port: 443 }] },
      ],
    ],
    [
      'extraEgress last, as given',
      {
        targets: { allow: ['10.0.0.0/8:5900'] },
        networkPolicy: {
          extraEgress: [
            {
              to: [{ namespaceSelector: { matchLabels: { team: 'engine' } } }],
              ports: [{ port: 8443 }],
            },
          ],
        },
      },
      [
        DNS,
        { to: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ protocol: 'TCP', port: 5900 }] },
        {
          to: [{ namespaceSelector: { matchLabels: { team: 'engine' } } }],
          ports: [{ protocol: 'TCP', port: 8443 }],
        },
      ],
    ],
    [
      'a replay store: Redis ports to any address (its URL is in a Secret), before extraEgress',
      {
        targets: { allow: ['10.0.0.0/8:5900'] },
        tokens: {
          jwt: {
            keySecretRef: { name: 'k', key: 'k' },
            singleUse: true,
            replayStore: { secretRef: { name: 'redis', key: 'url' } },
          },
        },
        networkPolicy: { extraEgress: [{ ports: [{ port: 7000 }] }] },
      },
      [
        DNS,
        { to: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ protocol: 'TCP', port: 5900 }] },
        {
          ports: [
            { protocol: 'TCP', port: 6379 },
            { protocol: 'TCP', port: 6380 },
          ],
        },
        { ports: [{ protocol: 'TCP', port: 7000 }] },
      ],
    ],
  ];
  for (const [name, spec, expected] of cases) {
    test(name, () => assert.deepEqual(egressRules(fixture(spec)), expected));
  }

  test('never the API server: no rule reaches port 443/6443 unless a lookup URL asks', () => {
    const rules = egressRules(
      fixture({ tokens: ovirt, targets: { allow: ['10.0.0.0/8:5900-5999'] } }),
    );
    const ports = rules.flatMap((r) => (r.ports ?? []).map((p) => p.port));
    assert.deepEqual(ports, [53, 53, 5900]);
  });
});

describe('renderNetworkPolicy', () => {
  test('null when disabled', () => {
    assert.equal(renderNetworkPolicy(fixture({ networkPolicy: { enabled: false } })), null);
  });

  test('on by default: the pods, both directions, WebSocket from anywhere, metrics from monitoring', () => {
    const np = renderNetworkPolicy(fixture());
    assert.ok(np);
    assert.equal(np.apiVersion, 'networking.k8s.io/v1');
    assert.equal(np.kind, 'NetworkPolicy');
    assert.equal(np.metadata.name, 'console');
    assert.deepEqual(np.spec.podSelector, { matchLabels: SELECTOR });
    assert.deepEqual(np.spec.policyTypes, ['Ingress', 'Egress']);
    assert.deepEqual(np.spec.ingress, [
      { ports: [{ protocol: 'TCP', port: 6080 }] },
      { from: [{ namespaceSelector: MONITORING }], ports: [{ protocol: 'TCP', port: 9090 }] },
    ]);
  });

  test('ingressFrom peers and the WebSocket port follow the spec', () => {
    const peers = [
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress' } } },
      { ipBlock: { cidr: '203.0.113.0/24', except: ['203.0.113.8/29'] } },
    ];
    const np = renderNetworkPolicy(fixture({ port: 7000, networkPolicy: { ingressFrom: peers } }));
    assert.deepEqual(np?.spec.ingress[0], {
      from: peers,
      ports: [{ protocol: 'TCP', port: 7000 }],
    });
  });

  test('an empty ingressFrom means from anywhere', () => {
    const np = renderNetworkPolicy(fixture({ networkPolicy: { ingressFrom: [] } }));
    assert.deepEqual(np?.spec.ingress[0], { ports: [{ protocol: 'TCP', port: 6080 }] });
  });

  test('metricsNamespaceSelector replaces the default; {} admits every namespace', () => {
    const selector = {
      matchExpressions: [{ key: 'team', operator: 'In' as const, values: ['obs'] }],
    };
    const np = renderNetworkPolicy(
      fixture({ networkPolicy: { metricsNamespaceSelector: selector } }),
    );
    assert.deepEqual(np?.spec.ingress[1]?.from, [{ namespaceSelector: selector }]);
    const open = renderNetworkPolicy(fixture({ networkPolicy: { metricsNamespaceSelector: {} } }));
    assert.deepEqual(open?.spec.ingress[1]?.from, [{ namespaceSelector: {} }]);
  });

  test('the spec is not shared with the rendered object', () => {
    const wsp = fixture({ networkPolicy: { ingressFrom: [{ ipBlock: { cidr: '10.0.0.0/8' } }] } });
    const np = renderNetworkPolicy(wsp)!;
    np.spec.ingress[0]!.from![0]!.ipBlock!.cidr = '0.0.0.0/0';
    assert.equal(wsp.spec.networkPolicy.ingressFrom?.[0]?.ipBlock?.cidr, '10.0.0.0/8');
  });
});

describe('canonicalCidr: edge cases', () => {
  const cases: [string, number | undefined, string][] = [
    ['1:2:3:4:5:6:7:8', undefined, '1:2:3:4:5:6:7:8/128'],
    ['fd00:0:1:2:3:4:5:6', undefined, 'fd00:0:1:2:3:4:5:6/128'],
    ['::ffff:192.0.2.10', undefined, '::ffff:c000:20a/128'],
  ];
  for (const [address, prefix, cidr] of cases) {
    test(`${address}/${prefix ?? '-'} is ${cidr} (no run of two zero groups is not shortened)`, () =>
      assert.equal(canonicalCidr(address, prefix), cidr));
  }
  test('the RangeError for a name says it is not an IP address', () => {
    assert.throws(() => canonicalCidr('example.com'), {
      name: 'RangeError',
      message: 'example.com is not an IP address',
    });
  });
  for (const prefix of [-1, 8.5, 33]) {
    test(`prefix ${prefix} on an IPv4 address is a RangeError naming the range 0-32`, () => {
      assert.throws(() => canonicalCidr('10.0.0.0', prefix), {
        name: 'RangeError',
        message: `10.0.0.0/${prefix}: prefix must be 0-32`,
      });
    });
  }
});

describe('targetNetwork: the whole rule must match', () => {
  for (const rule of [
    'a10.0.0.0/8',
    '10.0.0.0/8x',
    'x[fd00::]:5900',
    '[fd00::]:5900x',
    'g::1',
    'fd00::/64x',
  ]) {
    test(`"${rule}" is a RangeError`, () =>
      assert.throws(() => targetNetwork(rule), {
        name: 'RangeError',
        message: `"${rule}" is not CIDR[:PORT[-PORT]]`,
      }));
  }
  const cases: [string, ReturnType<typeof targetNetwork>][] = [
    ['[fd00::5]', { cidr: 'fd00::5/128', portMin: 1, portMax: 65535 }],
    ['fd00::12', { cidr: 'fd00::12/128', portMin: 1, portMax: 65535 }],
  ];
  for (const [rule, expected] of cases) {
    test(`${rule} without a prefix or port`, () => assert.deepEqual(targetNetwork(rule), expected));
  }
});

describe('egressRules: port ranges and unusable URLs', () => {
  test('a range from port 1 or up to 65535 is a range, not every port', () => {
    const wsp = fixture({
      tokens: ovirt,
      targets: { allow: ['10.0.0.0/8:1-100', '10.0.0.0/8:5900-65535'] },
    });
    assert.deepEqual(egressRules(wsp).slice(1), [
      {
        to: [{ ipBlock: { cidr: '10.0.0.0/8' } }],
        ports: [{ protocol: 'TCP', port: 1, endPort: 100 }],
      },
      {
        to: [{ ipBlock: { cidr: '10.0.0.0/8' } }],
        ports: [{ protocol: 'TCP', port: 5900, endPort: 65535 }],
      },
    ]);
  });

  test('a token lookup URL that cannot be parsed adds no rule', () => {
    const wsp = fixture({ tokens: { http: { url: 'not a url' } } });
    assert.deepEqual(egressRules(wsp), [DNS, { to: ANYWHERE, ports: [{ protocol: 'TCP' }] }]);
  });
});
