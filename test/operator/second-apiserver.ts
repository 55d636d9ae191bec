/**
 * A second kube-apiserver on the shared control plane's etcd, started and killed by the
 * test that owns it (never the shared one): a real server to break watches against.
 * Its watch cache is off, so a watch from a resourceVersion is served by etcd itself and
 * an etcd compaction past that version answers 410 Gone, as it does for any client
 * whose version the server no longer keeps.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from '../../operator/src/kube/client.js';
import { accessFromKubeConfig } from '../../operator/src/kube/config.js';
import { adminConfig, type TestCluster } from '../cluster/harness.js';
import { freePorts } from '../cluster/ports.js';
import { apiserver, type Ports } from '../cluster/processes.js';
import { readState } from '../cluster/state.js';
import { STATE_DIR } from '../cluster/paths.js';
import { until } from './waits.js';

const PKI = join(STATE_DIR, 'pki');

/** One extra API server; {@link start} again after {@link kill} reuses its port. */
export class SecondApiServer {
  readonly port: number;
  private child: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'wsgate-apiserver-'));
  private out = '';
  /** Kills the child if this process exits without close() (a crashed test run). */
  private readonly orphanGuard = () => {
    if (this.child?.pid && this.child.exitCode === null) process.kill(this.child.pid, 'SIGKILL');
  };

  private constructor(port: number) {
    this.port = port;
  }

  static async create(): Promise<SecondApiServer> {
    const [port] = await freePorts(1);
    return new SecondApiServer(port!);
  }

  /** The shared plane's etcd client URL. */
  static etcdUrl(): string {
    const state = readState();
    if (!state) throw new Error('the control plane is not running');
    return `http://127.0.0.1:${state.ports['etcd']}`;
  }

  /** Starts the process and waits (up to 90 s) until it serves the admin. */
  async start(cluster: TestCluster): Promise<void> {
    const state = readState();
    if (!state) throw new Error('the control plane is not running');
    const spec = apiserver({
      assets: state.assets,
      pki: {
        dir: PKI,
        caCert: join(PKI, 'ca.crt'),
        caKey: join(PKI, 'ca.key'),
        apiserverCert: join(PKI, 'apiserver.crt'),
        apiserverKey: join(PKI, 'apiserver.key'),
        adminCert: join(PKI, 'admin.crt'),
        adminKey: join(PKI, 'admin.key'),
        frontProxyCaCert: join(PKI, 'front-proxy-ca.crt'),
        frontProxyClientCert: join(PKI, 'front-proxy-client.crt'),
        frontProxyClientKey: join(PKI, 'front-proxy-client.key'),
        saKey: join(PKI, 'sa.key'),
        saPub: join(PKI, 'sa.pub'),
      },
      ports: { ...(state.ports as unknown as Ports), apiserver: this.port },
      stateDir: this.dir,
      kubeconfig: cluster.kubeconfigPath,
    });
    const args = [
      ...spec.args.filter((a) => !a.startsWith('--service-account-issuer=')),
      // The shared server's issuer, so both accept the same tokens.
      `--service-account-issuer=${state.server}`,
      '--watch-cache=false',
    ];
    const child = spawn(spec.bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (this.out = (this.out + d.toString()).slice(-8000)));
    child.stderr!.on('data', (d: Buffer) => (this.out = (this.out + d.toString()).slice(-8000)));
    this.child = child;
    process.once('exit', this.orphanGuard);
    const client = await this.client(cluster);
    try {
      await until(
        `the second kube-apiserver on :${this.port} to serve`,
        async () => {
          if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${this.out}`);
          return (await client.request('GET', '/api/v1/namespaces/default')) ? true : undefined;
        },
        90_000,
        500,
      );
    } finally {
      client.close();
    }
  }

  /** An admin client of this server (close it). */
  async client(
    cluster: TestCluster,
    options: ConstructorParameters<typeof KubeClient>[1] = {},
  ): Promise<KubeClient> {
    const kc = adminConfig(cluster);
    for (const c of kc.clusters)
      (c as { server: string }).server = `https://127.0.0.1:${this.port}`;
    return new KubeClient(await accessFromKubeConfig(kc), options);
  }

  /** SIGKILLs the process (by its pid) and waits for it to exit. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    process.removeListener('exit', this.orphanGuard);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    process.kill(child.pid!, 'SIGKILL');
    await exited;
  }

  /** Kills the process and removes its directory. */
  async close(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Compacts the shared etcd at its current revision (through etcd's JSON gateway: the
 * cache holds no etcdctl); returns that revision. Clients at current versions do not
 * notice: only watches from an older version get 410 Gone.
 */
export async function compactEtcd(): Promise<number> {
  const etcd = SecondApiServer.etcdUrl();
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${etcd}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`etcd ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as { header?: { revision?: string } };
  };
  const revision = Number((await post('/v3/maintenance/status', {})).header?.revision);
  if (!(revision > 0)) throw new Error('etcd reported no revision');
  await post('/v3/kv/compaction', { revision: String(revision), physical: true });
  return revision;
}
