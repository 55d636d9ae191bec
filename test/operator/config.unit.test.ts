/** Cluster access from kubeconfig files and the in-cluster service account. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { inClusterAccess, loadAccess } from '../../operator/src/kube/config.js';

const dir = mkdtempSync(join(tmpdir(), 'wsgate-kubeconfig-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const b64 = (s: string) => Buffer.from(s).toString('base64');

function kubeconfig(
  name: string,
  user: Record<string, unknown>,
  cluster: Record<string, unknown> = {},
): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'ctx',
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
      clusters: [
        {
          name: 'c',
          cluster: {
            server: 'https://127.0.0.1:6443',
            'certificate-authority-data': b64('CA'),
            ...cluster,
          },
        },
      ],
      users: [{ name: 'u', user }],
    }),
  );
  return path;
}

describe('loadAccess', () => {
  test('client certificate and impersonation, as the test harness writes them', async () => {
    const access = await loadAccess(
      kubeconfig('cert', {
        'client-certificate-data': b64('CERT'),
        'client-key-data': b64('KEY'),
        as: 'system:serviceaccount:ns:sa',
        'as-groups': ['g1', 'g2'],
      }),
      {},
    );
    assert.equal(access.server, 'https://127.0.0.1:6443');
    assert.equal(access.ca?.toString(), 'CA');
    assert.equal(access.cert?.toString(), 'CERT');
    assert.equal(access.key?.toString(), 'KEY');
    assert.deepEqual(await access.headers(), {
      'Impersonate-User': 'system:serviceaccount:ns:sa',
      'Impersonate-Group': ['g1', 'g2'],
    });
  });

  test('bearer token, token file (relative to the kubeconfig), basic auth', async () => {
    writeFileSync(join(dir, 'token'), 'from-file\n');
    const token = await loadAccess(kubeconfig('bearer.kubeconfig', { token: 'abc' }), {});
    assert.deepEqual(await token.headers(), { Authorization: 'Bearer abc' });
    const file = await loadAccess(kubeconfig('tokenfile', { tokenFile: 'token' }), {});
    assert.deepEqual(await file.headers(), { Authorization: 'Bearer from-file' });
    const basic = await loadAccess(kubeconfig('basic', { username: 'u', password: 'p' }), {});
    assert.deepEqual(await basic.headers(), { Authorization: `Basic ${b64('u:p')}` });
  });

  test('insecure-skip-tls-verify and tls-server-name', async () => {
    const access = await loadAccess(
      kubeconfig(
        'insecure',
        { token: 't' },
        { 'insecure-skip-tls-verify': true, 'tls-server-name': 'api' },
      ),
      {},
    );
    assert.equal(access.rejectUnauthorized, false);
    assert.equal(access.servername, 'api');
  });

  test('$KUBECONFIG is used when no file is given', async () => {
    const path = kubeconfig('env', { token: 'env' });
    const access = await loadAccess(undefined, { KUBECONFIG: path, HOME: dir });
    assert.equal(access.source, path);
  });

  test('exec plugins go to @kubernetes/client-node', async () => {
    const credential = JSON.stringify({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token: 'exec-token' },
    });
    const path = kubeconfig('exec', {
      exec: {
        apiVersion: 'client.authentication.k8s.io/v1',
        command: 'sh',
        args: ['-c', `echo '${credential}'`],
        interactiveMode: 'Never',
      },
    });
    const access = await loadAccess(path, {});
    assert.equal(access.server, 'https://127.0.0.1:6443');
    assert.equal(access.source, path);
    assert.equal((await access.headers())['Authorization'], 'Bearer exec-token');
  });

  test('nothing to load', async () => {
    await assert.rejects(loadAccess(undefined, { HOME: dir }), /not in a cluster/);
  });

  test('in a cluster: the service account token, re-read from its file', async () => {
    const sa = mkdtempSync(join(dir, 'sa-'));
    writeFileSync(join(sa, 'token'), 'sa-token');
    writeFileSync(join(sa, 'ca.crt'), 'CLUSTER-CA');
    const access = inClusterAccess(
      { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' },
      sa,
    );
    assert.equal(access?.server, 'https://[fd00::1]:443');
    assert.equal(access?.ca?.toString(), 'CLUSTER-CA');
    assert.deepEqual(await access?.headers(), { Authorization: 'Bearer sa-token' });
    assert.equal(inClusterAccess({}, sa), undefined);
  });
});
