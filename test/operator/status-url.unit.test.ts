/** status.url. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import { proxyURL } from '../../operator/src/status/url.js';
import { fixture } from './helpers.js';

const lb = (ingress: { ip?: string; hostname?: string }): V1Service => ({
  status: { loadBalancer: { ingress: [ingress] } },
});

describe('proxyURL', () => {
  const cases: [string, Parameters<typeof fixture>[0], V1Service | undefined, string][] = [
    ['in-cluster, plain', {}, undefined, 'ws://console.consoles.svc/'],
    [
      'in-cluster, odd port',
      { service: { port: 8080 } },
      undefined,
      'ws://console.consoles.svc:8080/',
    ],
    [
      'first non-wildcard DNS name',
      { tls: { secretName: 's', dnsNames: ['*.example.com', 'console.example.com'] } },
      undefined,
      'wss://console.example.com/',
    ],
    [
      'DNS name beats the load balancer',
      { tls: { secretName: 's', dnsNames: ['c.example.com'] } },
      lb({ ip: '203.0.113.9' }),
      'wss://c.example.com/',
    ],
    [
      'load-balancer IP',
      { tls: { secretName: 's' } },
      lb({ ip: '203.0.113.9' }),
      'wss://203.0.113.9/',
    ],
    [
      'load-balancer IPv6',
      { tls: { secretName: 's' }, service: { port: 8443 } },
      lb({ ip: '2001:db8::1' }),
      'wss://[2001:db8::1]:8443/',
    ],
    ['load-balancer hostname', {}, lb({ hostname: 'lb.example.net' }), 'ws://lb.example.net/'],
    [
      'publicURL wins',
      {
        publicURL: 'wss://consoles.example.com/proxy',
        tls: { secretName: 's', dnsNames: ['x.example.com'] },
      },
      undefined,
      'wss://consoles.example.com/proxy',
    ],
  ];
  for (const [name, spec, service, url] of cases)
    test(name, () => assert.equal(proxyURL(fixture(spec), service), url));
});
