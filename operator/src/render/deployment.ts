/**
 * The proxy Deployment. Pods run under the restricted Pod Security Standard (non-root,
 * read-only root filesystem, no capabilities, RuntimeDefault seccomp) with /tmp as an
 * emptyDir. Secrets arrive as directories (see mounts.ts). The config hash annotation
 * rolls pods when the configuration changes; nothing else about Secrets does.
 */
import type {
  V1Container,
  V1Deployment,
  V1DeploymentSpec,
  V1PodSpec,
  V1Volume,
  V1VolumeMount,
  V1Affinity,
  V1Toleration,
} from '@kubernetes/client-node';
import type { WebSocketProxy } from '../api/websocketproxy-types.js';
import type { OwnedObject } from '../api/external-types.js';
import {
  CONFIG_HASH_ANNOTATION,
  METRICS_PORT,
  labels,
  objectMeta,
  objectNames,
  scalesOut,
  selectorLabels,
} from '../objects/names.js';
import { configHash, renderConfigMap } from './configmap.js';
import { CONFIG_FILE, PATHS, secretMounts } from '../objects/mounts.js';

/** A rendered Deployment. */
export type DeploymentObject = V1Deployment & OwnedObject & { spec: V1DeploymentSpec };

/** Options the resource cannot supply. */
export interface DeploymentOptions {
  /** Image used when spec.image is unset: the operator's own (it contains the proxy). */
  operatorImage: string;
}

/** Name of the proxy container. */
export const CONTAINER_NAME = 'proxy';
/**
 * Seconds preStop waits before the proxy gets SIGTERM, so endpoint removal reaches every
 * node before the pod stops accepting upgrades.
 */
export const PRESTOP_SECONDS = 5;
/** Grace beyond preStop and the drain timeout, for the final close frames and exit. */
export const EXIT_MARGIN_SECONDS = 5;
/** Topology keys the pods are spread over, zones first. */
export const SPREAD_KEYS = ['topology.kubernetes.io/zone', 'kubernetes.io/hostname'] as const;
/** Size of the recordings emptyDir when spec.recording names no volume. */
export const RECORDINGS_EMPTYDIR = '1Gi';
/** UID/GID of the proxy: the `node` user of the official Node.js images. */
export const RUN_AS_ID = 1000;

/**
 * The pods' grace period: the preStop sleep, the drain and a margin for the last close
 * frames, so the kubelet never kills a pod that is still draining.
 */
export function terminationGracePeriodSeconds(wsp: WebSocketProxy): number {
  return PRESTOP_SECONDS + wsp.spec.drainTimeoutSeconds + EXIT_MARGIN_SECONDS;
}

function volumes(wsp: WebSocketProxy): { volumes: V1Volume[]; mounts: V1VolumeMount[] } {
  const out: V1Volume[] = [{ name: 'config', configMap: { name: objectNames(wsp).configMap } }];
  const mounts: V1VolumeMount[] = [{ name: 'config', mountPath: PATHS.config, readOnly: true }];
  for (const m of secretMounts(wsp)) {
    if (m.env) continue; // an environment variable, see container()
    out.push({
      name: m.volume,
      secret: {
        secretName: m.secretName,
        items: m.keys.map((key) => ({ key, path: key })),
        // Group-readable only; fsGroup makes the proxy's group own the files.
        defaultMode: 0o440,
      },
    });
    mounts.push({ name: m.volume, mountPath: m.dir, readOnly: true });
  }
  out.push({ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } });
  mounts.push({ name: 'tmp', mountPath: PATHS.tmp });
  const rec = wsp.spec.recording;
  if (rec?.enabled) {
    out.push(
      rec.persistentVolumeClaim
        ? { name: 'recordings', persistentVolumeClaim: { ...rec.persistentVolumeClaim } }
        : {
            name: 'recordings',
            emptyDir: { sizeLimit: String(rec.emptyDir?.sizeLimit ?? RECORDINGS_EMPTYDIR) },
          },
    );
    mounts.push({ name: 'recordings', mountPath: PATHS.recordings });
  }
  return { volumes: out, mounts };
}

function container(wsp: WebSocketProxy, image: string, mounts: V1VolumeMount[]): V1Container {
  const { spec } = wsp;
  const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({
    httpGet: { path, port: 'metrics' },
    periodSeconds,
    timeoutSeconds: 3,
    failureThreshold,
  });
  const c: V1Container = {
    name: CONTAINER_NAME,
    image,
    args: ['proxy', '--config', CONFIG_FILE],
    ports: [
      { name: 'websocket', containerPort: spec.port, protocol: 'TCP' },
      { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
    ],
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    },
    // Startup covers the first config and certificate load; liveness then only restarts a
    // wedged process; readiness drops a draining pod from the Service.
    startupProbe: probe('/healthz', 2, 30),
    livenessProbe: probe('/healthz', 10, 3),
    readinessProbe: probe('/readyz', 5, 2),
    lifecycle: { preStop: { sleep: { seconds: PRESTOP_SECONDS } } },
    volumeMounts: mounts,
  };
  const env = secretMounts(wsp).filter((m) => m.env);
  if (env.length) {
    c.env = env.map((m) => ({
      name: m.env!,
      valueFrom: { secretKeyRef: { name: m.secretName, key: m.keys[0]! } },
    }));
  }
  if (spec.imagePullPolicy) c.imagePullPolicy = spec.imagePullPolicy;
  if (spec.resources) {
    // Quantities may be written as numbers (cpu: 1); the API's type is a string.
    const quantities = (m?: Record<string, number | string>) =>
      m && Object.fromEntries(Object.entries(m).map(([k, v]) => [k, String(v)]));
    c.resources = {};
    if (spec.resources.limits) c.resources.limits = quantities(spec.resources.limits);
    if (spec.resources.requests) c.resources.requests = quantities(spec.resources.requests);
  }
  return c;
}

function podSpec(wsp: WebSocketProxy, options: DeploymentOptions): V1PodSpec {
  const { spec } = wsp;
  const { volumes: vols, mounts } = volumes(wsp);
  const pod: V1PodSpec = {
    containers: [container(wsp, spec.image ?? options.operatorImage, mounts)],
    volumes: vols,
    // The proxy never calls the API, and Service links would put WSGATE_*-looking
    // variables in its environment (which it reads as settings) for a Service named wsgate.
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: RUN_AS_ID,
      runAsGroup: RUN_AS_ID,
      fsGroup: RUN_AS_ID,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    terminationGracePeriodSeconds: terminationGracePeriodSeconds(wsp),
  };
  if (scalesOut(wsp)) {
    // Soft spread over zones and nodes, per revision, so the loss of one zone or node
    // leaves consoles reachable; soft, so a single-zone cluster still schedules them.
    pod.topologySpreadConstraints = SPREAD_KEYS.map((topologyKey) => ({
      maxSkew: 1,
      topologyKey,
      whenUnsatisfiable: 'ScheduleAnyway',
      labelSelector: { matchLabels: selectorLabels(wsp) },
      matchLabelKeys: ['pod-template-hash'],
    }));
  }
  if (spec.imagePullSecrets?.length)
    pod.imagePullSecrets = spec.imagePullSecrets.map(({ name }) => ({ name }));
  if (spec.nodeSelector) pod.nodeSelector = { ...spec.nodeSelector };
  if (spec.tolerations) pod.tolerations = structuredClone(spec.tolerations) as V1Toleration[];
  if (spec.affinity) pod.affinity = structuredClone(spec.affinity) as V1Affinity;
  if (spec.priorityClassName) pod.priorityClassName = spec.priorityClassName;
  return pod;
}

/**
 * The Deployment. Rolling updates add a pod before removing one (maxUnavailable 0), so
 * capacity holds and a rollout that cannot start (a missing Secret, a bad image) leaves
 * the old pods serving. With spec.autoscaling, `replicas` is left out: server-side apply
 * then leaves the field to the autoscaler (see controller/replicas.ts for the handover).
 */
export function renderDeployment(
  wsp: WebSocketProxy,
  options: DeploymentOptions,
): DeploymentObject {
  const { spec } = wsp;
  const hash = configHash(renderConfigMap(wsp).data);
  const deployment: DeploymentObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: objectMeta(wsp, objectNames(wsp).deployment),
    spec: {
      replicas: spec.replicas,
      selector: { matchLabels: selectorLabels(wsp) },
      revisionHistoryLimit: 5,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels: { ...spec.podLabels, ...labels(wsp) },
          annotations: { ...spec.podAnnotations, [CONFIG_HASH_ANNOTATION]: hash },
        },
        spec: podSpec(wsp, options),
      },
    },
  };
  if (spec.autoscaling) delete deployment.spec.replicas;
  return deployment;
}
