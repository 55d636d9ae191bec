/**
 * The informers of the WebSocketProxy controller: the resource itself and every owned
 * kind, in every namespace or in each watched one. Owned kinds are watched through the
 * managed-by label, so the caches hold only the operator's objects; their events go to
 * the owner's key. The optional kinds (cert-manager Certificates, ServiceMonitors) are
 * watched only while their CRD exists and is Established: a watch of the CRD (by name)
 * starts and stops them, and every resource is re-queued when one comes or goes.
 */
import type { Logger } from 'pino';
import { CERTIFICATE_CRD, SERVICE_MONITOR_CRD, type OwnedObject } from '../api/external-types.js';
import { GROUP, KIND, type WebSocketProxy } from '../api/websocketproxy-types.js';
import { isTrue } from '../status/conditions.js';
import type { KubeClient } from '../kube/client.js';
import { Informer, keyOf, type KubeObject } from '../kube/list-watch-cache.js';
import { Resources, type ResourceType } from '../kube/resources.js';
import { MANAGED_BY } from '../objects/names.js';
import { slimDeployment } from './replicas.js';
import { SecretIndex } from './secret-index.js';

/** Label selector of every object the operator owns. */
const OWNED_SELECTOR = `app.kubernetes.io/managed-by=${MANAGED_BY}`;

/** Kinds always owned and watched. */
const CORE_KINDS: readonly ResourceType[] = [
  Resources.ConfigMap,
  Resources.Service,
  Resources.Deployment,
  Resources.PodDisruptionBudget,
  Resources.NetworkPolicy,
  Resources.HorizontalPodAutoscaler,
];

/** A CRD as far as it matters here: its Established condition. */
interface CrdObject extends KubeObject {
  status?: { conditions?: { type: string; status: string }[] };
}

/** What the reconcile loop reads from the caches. */
export interface ClusterView {
  /**
   * Whether Secrets in `namespace` are watched (a synced informer): a Secret created or
   * changed there queues the resources that name it, so none needs polling.
   */
  secretsWatched(namespace: string): boolean;
  /** The cached resource, as the API server returned it. */
  proxy(namespace: string, name: string): WebSocketProxy | undefined;
  /** A cached owned object of `kind`; undefined when absent or its kind is not watched. */
  owned(kind: string, namespace: string, name: string): OwnedObject | undefined;
  certManagerInstalled(): boolean;
  serviceMonitorInstalled(): boolean;
}

/** CRD names that stand for the optional kinds: the real ones unless tests substitute theirs. */
export interface OptionalCrdNames {
  certificate?: string;
  serviceMonitor?: string;
}

/** Options of {@link ControllerInformers}. */
export interface ControllerInformersOptions {
  client: KubeClient;
  log: Logger;
  /** Namespaces to watch; every namespace when empty or undefined. */
  namespaces?: readonly string[] | undefined;
  /**
   * Namespaces whose Secrets to watch (metadata only; needs list and watch on Secrets
   * there). None by default: the operator then reads Secrets only by name.
   */
  secretsNamespaces?: readonly string[] | undefined;
  /** Queues a resource's key (`namespace/name`). */
  enqueue(key: string): void;
  /** Called when an optional kind becomes available or goes away. */
  onOptionalKinds(): void;
  crdNames?: OptionalCrdNames;
  onRestart?(resource: string, err: unknown): void;
}

/** The key of the WebSocketProxy that controls `object`, if one does. */
function ownerKey(object: KubeObject): string | undefined {
  const meta = object.metadata;
  const ref = meta?.ownerReferences?.find(
    (r) => r.controller === true && r.kind === KIND && r.apiVersion.startsWith(`${GROUP}/`),
  );
  return ref && meta?.namespace ? `${meta.namespace}/${ref.name}` : undefined;
}

/** Owned objects are only compared and deleted; their managedFields are dead weight. */
function slim<T extends KubeObject>(object: T): T {
  if (object.metadata?.managedFields) delete object.metadata.managedFields;
  return object;
}

/** CRD schemas can be megabytes; only the conditions are kept. */
function crdConditions(object: CrdObject): CrdObject {
  const { name, resourceVersion } = object.metadata ?? {};
  return { metadata: { name, resourceVersion }, status: object.status };
}

function established(crd: CrdObject | undefined): boolean {
  return isTrue(crd?.status?.conditions, 'Established');
}

/** One optional kind: its CRD watch and, while installed, its informers. */
class OptionalKind {
  readonly crd: Informer<CrdObject>;
  informers: Map<string, Informer<OwnedObject>> | undefined;
  installed = false;
  private changing: Promise<void> = Promise.resolve();

  constructor(
    readonly resource: ResourceType,
    readonly crdName: string,
    private readonly parent: ControllerInformers,
  ) {
    this.crd = new Informer<CrdObject>(parent.client, {
      resource: Resources.CustomResourceDefinition,
      fieldSelector: `metadata.name=${crdName}`,
      transform: crdConditions,
      log: parent.log,
      onRestart: (err) => parent.onRestart?.(crdName, err),
    });
    const check = () => {
      this.changing = this.changing.then(() => this.update());
    };
    this.crd.on({ add: check, update: check, delete: check });
  }

  /** Starts or stops the kind's informers to match its CRD. */
  private async update(): Promise<void> {
    const want = established(this.crd.get(undefined, this.crdName));
    if (want === this.installed) return;
    if (want) {
      this.informers = this.parent.ownedInformers(this.resource);
      for (const informer of this.informers.values()) informer.start();
      await Promise.all([...this.informers.values()].map((i) => i.waitForSync()));
      this.installed = true;
    } else {
      this.installed = false;
      const informers = this.informers;
      this.informers = undefined;
      await Promise.all([...(informers?.values() ?? [])].map((i) => i.stop()));
    }
    this.parent.log.info(
      { crd: this.crdName, installed: this.installed },
      this.installed ? 'optional kind available' : 'optional kind gone',
    );
    this.parent.onOptionalKinds();
  }

  /** Waits until the CRD is listed and any resulting informer change is done. */
  async synced(): Promise<void> {
    await this.crd.waitForSync();
    await this.changing;
  }

  async stop(): Promise<void> {
    await this.crd.stop();
    await this.changing;
    await Promise.all([...(this.informers?.values() ?? [])].map((i) => i.stop()));
  }
}

/** Every informer of the controller; see the module comment. */
export class ControllerInformers implements ClusterView {
  readonly client: KubeClient;
  readonly log: Logger;
  readonly onRestart: ((resource: string, err: unknown) => void) | undefined;
  private readonly options: ControllerInformersOptions;
  /** Namespace ('' for all) to informer. */
  private readonly proxies: Map<string, Informer<WebSocketProxy>>;
  private readonly core = new Map<string, Map<string, Informer<OwnedObject>>>();
  private readonly certificates: OptionalKind;
  private readonly serviceMonitors: OptionalKind;
  private readonly secretIndex = new SecretIndex();
  /** Namespace to the metadata-only Secret informer there. */
  private readonly secrets = new Map<string, Informer<KubeObject>>();

  constructor(options: ControllerInformersOptions) {
    this.options = options;
    this.client = options.client;
    this.log = options.log;
    this.onRestart = options.onRestart;
    const index = this.secretIndex;
    this.proxies = this.perNamespace(
      Resources.WebSocketProxy,
      undefined,
      (informer) =>
        informer.on({
          add: (o) => {
            index.set(o);
            options.enqueue(keyOf(o.metadata));
          },
          update: (previous, o) => {
            index.set(o);
            // Status writes (ours) change neither generation nor deletion: no reconcile.
            const meta = o.metadata;
            if (
              previous.metadata?.generation !== meta?.generation ||
              previous.metadata?.deletionTimestamp !== meta?.deletionTimestamp
            ) {
              options.enqueue(keyOf(meta));
            }
          },
          delete: (o) => {
            index.remove(keyOf(o.metadata));
            options.enqueue(keyOf(o.metadata));
          },
        }),
      slim,
    );
    for (const namespace of new Set(options.secretsNamespaces ?? [])) {
      this.secrets.set(namespace, this.secretInformer(namespace));
    }
    for (const kind of CORE_KINDS) this.core.set(kind.kind, this.ownedInformers(kind));
    const crds = options.crdNames ?? {};
    this.certificates = new OptionalKind(
      Resources.Certificate,
      crds.certificate ?? CERTIFICATE_CRD,
      this,
    );
    this.serviceMonitors = new OptionalKind(
      Resources.ServiceMonitor,
      crds.serviceMonitor ?? SERVICE_MONITOR_CRD,
      this,
    );
  }

  private perNamespace<T extends KubeObject>(
    resource: ResourceType,
    labelSelector: string | undefined,
    setup: (informer: Informer<T>) => void,
    transform?: (object: T) => T,
  ): Map<string, Informer<T>> {
    const namespaces = this.options.namespaces?.length ? this.options.namespaces : [''];
    const map = new Map<string, Informer<T>>();
    for (const ns of namespaces) {
      const informer = new Informer<T>(this.client, {
        resource,
        namespace: ns || undefined,
        labelSelector,
        transform,
        log: this.log,
        onRestart: (err) => this.onRestart?.(resource.plural, err),
      });
      setup(informer);
      map.set(ns, informer);
    }
    return map;
  }

  /** A metadata-only Secret informer whose events queue the resources naming the Secret. */
  private secretInformer(namespace: string): Informer<KubeObject> {
    const enqueueOwners = (secret: KubeObject) => {
      const name = secret.metadata?.name ?? '';
      for (const key of this.secretIndex.ownersOf(namespace, name)) this.options.enqueue(key);
    };
    const informer = new Informer<KubeObject>(this.client, {
      resource: Resources.Secret,
      namespace,
      metadataOnly: true,
      transform: (o) => ({
        metadata: {
          name: o.metadata?.name,
          namespace: o.metadata?.namespace,
          resourceVersion: o.metadata?.resourceVersion,
        },
      }),
      log: this.log,
      onRestart: (err) => this.onRestart?.(Resources.Secret.plural, err),
    });
    return informer.on({
      add: enqueueOwners,
      update: (_, o) => enqueueOwners(o),
      delete: enqueueOwners,
    });
  }

  /** Informers (not started) for an owned kind, whose events queue the owner. */
  ownedInformers(resource: ResourceType): Map<string, Informer<OwnedObject>> {
    const enqueueOwner = (o: OwnedObject) => {
      const key = ownerKey(o);
      if (key) this.options.enqueue(key);
    };
    const map = this.perNamespace<OwnedObject>(
      resource,
      OWNED_SELECTOR,
      (informer) =>
        informer.on({ add: enqueueOwner, update: (_, o) => enqueueOwner(o), delete: enqueueOwner }),
      // Who owns a Deployment's replicas decides the hand-over to an autoscaler.
      resource === Resources.Deployment ? slimDeployment : slim,
    );
    return map;
  }

  private always(): (Informer<WebSocketProxy> | Informer<OwnedObject>)[] {
    return [...this.proxies.values(), ...[...this.core.values()].flatMap((m) => [...m.values()])];
  }

  /** Starts every informer; those of optional kinds follow their CRDs. */
  start(): void {
    for (const informer of this.always()) informer.start();
    // Not waited for: without list/watch on Secrets there, a namespace is polled instead.
    for (const informer of this.secrets.values()) informer.start();
    this.certificates.crd.start();
    this.serviceMonitors.crd.start();
  }

  /** Resolves when every cache holds its first list. */
  async waitForSync(): Promise<void> {
    await Promise.all(this.always().map((i) => i.waitForSync()));
    await Promise.all([this.certificates.synced(), this.serviceMonitors.synced()]);
  }

  /** Whether every cache holds its first list. */
  hasSynced(): boolean {
    return this.always().every((i) => i.hasSynced());
  }

  async stop(): Promise<void> {
    await Promise.all([
      ...this.always().map((i) => i.stop()),
      ...[...this.secrets.values()].map((i) => i.stop()),
      this.certificates.stop(),
      this.serviceMonitors.stop(),
    ]);
  }

  private pick<T extends KubeObject>(
    map: Map<string, Informer<T>> | undefined,
    namespace: string,
  ): Informer<T> | undefined {
    return map?.get('') ?? map?.get(namespace);
  }

  /** Tells the controller that an optional kind came or went. */
  onOptionalKinds(): void {
    this.options.onOptionalKinds();
  }

  /** Keys of every cached resource. */
  proxyKeys(): string[] {
    return [...this.proxies.values()].flatMap((i) => i.list().map((o) => keyOf(o.metadata)));
  }

  secretsWatched(namespace: string): boolean {
    return this.secrets.get(namespace)?.hasSynced() ?? false;
  }

  proxy(namespace: string, name: string): WebSocketProxy | undefined {
    return this.pick(this.proxies, namespace)?.get(namespace, name);
  }

  owned(kind: string, namespace: string, name: string): OwnedObject | undefined {
    const map =
      kind === Resources.Certificate.kind
        ? this.certificates.informers
        : kind === Resources.ServiceMonitor.kind
          ? this.serviceMonitors.informers
          : this.core.get(kind);
    return this.pick(map, namespace)?.get(namespace, name);
  }

  certManagerInstalled(): boolean {
    return this.certificates.installed;
  }

  serviceMonitorInstalled(): boolean {
    return this.serviceMonitors.installed;
  }
}
