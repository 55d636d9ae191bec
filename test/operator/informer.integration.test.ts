/**
 * The informer against a real API server whose watches break for real: a second
 * kube-apiserver on the shared etcd (started here, killed by pid, started again), with
 * its watch cache off so that an etcd compaction past the informer's resourceVersion
 * makes the resumed watch fail with 410 Gone. The shared API server is never touched;
 * objects are written through it, in a namespace of this test's own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { V1ConfigMap } from '@kubernetes/client-node';
import {
  createNamespace,
  skipCluster,
  startCluster,
  type TestCluster,
} from '../cluster/harness.js';
import type { KubeClient } from '../../operator/src/kube/client.js';
import { Informer } from '../../operator/src/kube/list-watch-cache.js';
import { Resources } from '../../operator/src/kube/resources.js';
import { adminClient } from './kube.js';
import { until } from './waits.js';
import { SecondApiServer, compactEtcd } from './second-apiserver.js';

const log = pino({ level: 'silent' });

describe('Informer against a real API server', { skip: skipCluster, timeout: 300_000 }, () => {
  let cluster: TestCluster;
  let admin: KubeClient;
  let server: SecondApiServer;
  let ns: string;
  const clients: KubeClient[] = [];
  const informers: Informer<V1ConfigMap>[] = [];

  before(async () => {
    cluster = await startCluster();
    admin = await adminClient(cluster);
    ns = await createNamespace(cluster, undefined, 'wsp-informer');
    server = await SecondApiServer.create();
    await server.start(cluster);
  });

  after(async () => {
    for (const i of informers) await i.stop();
    for (const c of clients) c.close();
    await server?.close();
    await admin?.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
    admin?.close();
  });

  const configMap = (name: string) =>
    admin.request('POST', `/api/v1/namespaces/${ns}/configmaps`, {
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { k: name } },
    });

  /** An informer of this namespace's ConfigMaps through the second server, with its lists and restarts counted. */
  const informer = async () => {
    const client = await server.client(cluster);
    clients.push(client);
    const lists: string[] = [];
    const request = client.request.bind(client);
    // A spy, not a fake: every call goes to the real server.
    client.request = ((method: string, path: string, init?: object) => {
      if (method === 'GET' && path.endsWith('/configmaps')) lists.push(path);
      return request(method, path, init);
    }) as KubeClient['request'];
    const restarts: unknown[] = [];
    const i = new Informer<V1ConfigMap>(client, {
      resource: Resources.ConfigMap,
      namespace: ns,
      log,
      onRestart: (err) => restarts.push(err),
    });
    informers.push(i);
    i.start();
    await i.waitForSync();
    return { informer: i, lists, restarts };
  };

  const sees = (i: Informer<V1ConfigMap>, name: string, timeoutMs = 90_000) =>
    until(`the informer to see ${name}`, async () => i.get(ns, name), timeoutMs, 100);

  it('restarts after its API server dies mid-watch, and sees what was created meanwhile', async () => {
    const { informer: i, lists, restarts } = await informer();
    await configMap('before-kill');
    await sees(i, 'before-kill', 15_000);

    await server.kill();
    await until('the informer to report the broken watch', async () =>
      restarts.length > 0 ? true : undefined,
    );
    await configMap('while-down');
    await server.start(cluster);
    await sees(i, 'while-down');
    assert.ok(i.get(ns, 'before-kill'), 'the cache kept what it had');
    await configMap('after-restart');
    await sees(i, 'after-restart', 15_000);
    assert.equal(lists.length, 1, 'resumed from its version without listing again');
    await i.stop();
  });

  it('410 Gone after a compaction past its version: relists, then follows new objects', async () => {
    const { informer: i, lists, restarts } = await informer();
    const listsAtSync = lists.length;
    await configMap('seen-before');
    await sees(i, 'seen-before', 15_000);

    // Break the watch, write, and compact etcd past every version the informer has seen:
    // the resumed watch asks for a version etcd no longer has.
    await server.kill();
    await until('the informer to report the broken watch', async () =>
      restarts.length > 0 ? true : undefined,
    );
    await admin.request('DELETE', `/api/v1/namespaces/${ns}/configmaps/seen-before`);
    await configMap('missed');
    await compactEtcd();
    await server.start(cluster);

    await until(
      'the informer to list again',
      async () => (lists.length > listsAtSync ? true : undefined),
      90_000,
      100,
    );
    await sees(i, 'missed', 15_000);
    assert.equal(i.get(ns, 'seen-before'), undefined, 'the relist dropped the deleted object');
    await configMap('after-relist');
    await sees(i, 'after-relist', 15_000);
    await i.stop();
  });
});
