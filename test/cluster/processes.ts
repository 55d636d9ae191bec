import { join } from 'node:path';
import type { Assets } from './assets.js';
import type { Pki } from './pki.js';

/** Ports chosen at `up`, all on 127.0.0.1. */
export interface Ports {
  readonly etcd: number;
  readonly etcdPeer: number;
  readonly apiserver: number;
  readonly controllerManager: number;
  readonly scheduler: number;
  readonly kwok: number;
  readonly certManager: number;
}

/** Where each process finds its inputs. */
export interface Layout {
  readonly assets: Assets;
  readonly pki: Pki;
  readonly ports: Ports;
  /** Per-cluster state directory (etcd data lives under it). */
  readonly stateDir: string;
  /** Kubeconfig with the admin (system:masters) identity, used by every component. */
  readonly kubeconfig: string;
}

/** How to start one process and how to tell it is healthy. */
export interface ProcessSpec {
  readonly name: string;
  readonly bin: string;
  readonly args: readonly string[];
  /** GET this URL until it answers 200; undefined when health is checked through the API. */
  readonly health?: string;
}

const LOCAL = '127.0.0.1';

export function etcd(l: Layout): ProcessSpec {
  const client = `http://${LOCAL}:${l.ports.etcd}`;
  const peer = `http://${LOCAL}:${l.ports.etcdPeer}`;
  return {
    name: 'etcd',
    bin: l.assets.etcd,
    args: [
      '--name=wsgate',
      `--data-dir=${join(l.stateDir, 'etcd')}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      // Without both peer flags the member advertises localhost:2380, where nothing listens.
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=wsgate=${peer}`,
      // Test data need not survive a power cut; fsync dominates etcd's latency on CI disks.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    health: `${client}/health`,
  };
}

export function apiserver(l: Layout): ProcessSpec {
  const p = l.pki;
  return {
    name: 'kube-apiserver',
    bin: l.assets.kubeApiserver,
    args: [
      `--etcd-servers=http://${LOCAL}:${l.ports.etcd}`,
      `--bind-address=${LOCAL}`,
      `--advertise-address=${LOCAL}`,
      `--secure-port=${l.ports.apiserver}`,
      `--cert-dir=${join(l.stateDir, 'apiserver')}`,
      `--tls-cert-file=${p.apiserverCert}`,
      `--tls-private-key-file=${p.apiserverKey}`,
      `--client-ca-file=${p.caCert}`,
      '--authorization-mode=RBAC',
      // Admission plugins stay at the defaults (ServiceAccount included).
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      `--service-account-issuer=https://${LOCAL}:${l.ports.apiserver}`,
      `--service-account-key-file=${p.saPub}`,
      `--service-account-signing-key-file=${p.saKey}`,
      // A loopback address is not a valid Endpoints address: the default
      // reconciler would log an error every 10 s.
      '--endpoint-reconciler-type=none',
      // Without a request-header CA, kcm and the scheduler log a missing CA bundle every 5 s.
      `--requestheader-client-ca-file=${p.frontProxyCaCert}`,
      '--requestheader-allowed-names=front-proxy-client',
      '--requestheader-username-headers=X-Remote-User',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      `--proxy-client-cert-file=${p.frontProxyClientCert}`,
      `--proxy-client-key-file=${p.frontProxyClientKey}`,
    ],
    health: `https://${LOCAL}:${l.ports.apiserver}/readyz`,
  };
}

/**
 * Controllers the tests depend on: garbage collection, Deployments, namespace
 * deletion, node lifecycle (it lifts the not-ready taint the API server puts
 * on every new node), ServiceAccounts and their tokens, the kube-root-ca.crt
 * ConfigMap, and ClusterRole aggregation (without it admin/edit/view are empty).
 */
const CONTROLLERS = [
  'garbage-collector-controller',
  'deployment-controller',
  'replicaset-controller',
  'namespace-controller',
  'node-lifecycle-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'root-ca-certificate-publisher-controller',
  'clusterrole-aggregation-controller',
];

export function controllerManager(l: Layout): ProcessSpec {
  return {
    name: 'kube-controller-manager',
    bin: l.assets.kubeControllerManager,
    args: [
      `--kubeconfig=${l.kubeconfig}`,
      `--authentication-kubeconfig=${l.kubeconfig}`,
      `--authorization-kubeconfig=${l.kubeconfig}`,
      '--leader-elect=false',
      `--controllers=${CONTROLLERS.join(',')}`,
      `--bind-address=${LOCAL}`,
      `--secure-port=${l.ports.controllerManager}`,
      `--cert-dir=${join(l.stateDir, 'kube-controller-manager')}`,
      // The admin identity has every right, so one shared client is enough.
      '--use-service-account-credentials=false',
      `--service-account-private-key-file=${l.pki.saKey}`,
      `--root-ca-file=${l.pki.caCert}`,
      // The defaults (20 requests/s, burst 30) make the control plane, not the code under
      // test, the bottleneck once hundreds of Deployments roll out at once (bench:operator:
      // 500 Deployments took 119 s to become available without any operator). Managed
      // clusters raise these too; the API server here has the whole machine.
      '--kube-api-qps=200',
      '--kube-api-burst=400',
    ],
    health: `https://${LOCAL}:${l.ports.controllerManager}/healthz`,
  };
}

export function scheduler(l: Layout): ProcessSpec {
  return {
    name: 'kube-scheduler',
    bin: l.assets.kubeScheduler,
    args: [
      `--kubeconfig=${l.kubeconfig}`,
      `--authentication-kubeconfig=${l.kubeconfig}`,
      `--authorization-kubeconfig=${l.kubeconfig}`,
      '--leader-elect=false',
      `--bind-address=${LOCAL}`,
      `--secure-port=${l.ports.scheduler}`,
      `--cert-dir=${join(l.stateDir, 'kube-scheduler')}`,
    ],
    health: `https://${LOCAL}:${l.ports.scheduler}/healthz`,
  };
}

/** Annotation that marks a Node as kwok's to manage. */
export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';

export function kwok(l: Layout): ProcessSpec {
  return {
    name: 'kwok',
    bin: l.assets.kwok,
    args: [
      `--kubeconfig=${l.kubeconfig}`,
      `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
      // Without --server-address kwok listens on 0.0.0.0:<node-port>.
      `--server-address=${LOCAL}:${l.ports.kwok}`,
      `--node-port=${l.ports.kwok}`,
      `--node-ip=${LOCAL}`,
      // Renew a Lease per node, as kubelets do (kwokctl's default; the binary's is none).
      // The heartbeat-with-lease stage refreshes node status only every few minutes, so
      // without Leases the node lifecycle controller sees the nodes go stale about once a
      // minute and marks their pods not ready.
      '--node-lease-duration-seconds=40',
      ...l.assets.kwokStages.flatMap((f) => ['-c', f]),
    ],
    health: `http://${LOCAL}:${l.ports.kwok}/healthz`,
  };
}

export function certManager(l: Layout): ProcessSpec {
  return {
    name: 'cert-manager',
    bin: l.assets.certManager,
    args: [
      `--kubeconfig=${l.kubeconfig}`,
      `--healthz-listen-address=${LOCAL}:${l.ports.certManager}`,
    ],
    health: `http://${LOCAL}:${l.ports.certManager}/livez`,
  };
}
