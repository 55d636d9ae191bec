/**
 * An informer: list, then watch from the list's resourceVersion, keeping a cache of the
 * objects and telling handlers what was added, changed or deleted. A watch that ends is
 * resumed where it stopped; one that fails is restarted after a back-off (1 s doubling
 * to 30 s); an expired resourceVersion (410) means a fresh list, whose differences to
 * the cache reach the handlers as ordinary events. Bookmarks keep the resourceVersion
 * current on quiet resources, so a resumed watch rarely needs that relist.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { isStatus, KubeError, type KubeClient, type Query, type WatchEvent } from './client.js';
import { collectionPath, type ResourceType } from './resources.js';

/** What every cached object has. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
}

interface List<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

/** Event handlers; each is called synchronously, in order of the server's events. */
export interface InformerHandlers<T> {
  add?(object: T): void;
  update?(previous: T, object: T): void;
  delete?(object: T): void;
}

/** Options of {@link Informer}. */
export interface InformerOptions<T> {
  resource: ResourceType;
  /** Watch one namespace; every namespace when undefined. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * Cache only metadata (PartialObjectMetadata): enough to notice that an object came,
   * changed or went, without holding its contents (used for Secrets).
   */
  metadataOnly?: boolean;
  /** Applied to every object before it is cached, e.g. to drop managedFields. */
  transform?: (object: T) => T;
  log: Logger;
  /** Told about each restart after an error, for metrics. */
  onRestart?: (err: unknown) => void;
}

/** The cache key of an object: `namespace/name`, or `name` when cluster-scoped. */
export function keyOf(meta: V1ObjectMeta | undefined): string {
  const ns = meta?.namespace;
  return ns ? `${ns}/${meta?.name ?? ''}` : (meta?.name ?? '');
}

/** Accept headers of metadata-only lists and watches (meta.k8s.io/v1 PartialObjectMetadata). */
export const METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
export const METADATA_WATCH = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

const MIN_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;
/** Items per list page. */
const PAGE_SIZE = 500;

/** A cached list+watch of one resource. Call {@link start}; stop with {@link stop}. */
export class Informer<T extends KubeObject> {
  readonly resource: ResourceType;
  private readonly client: KubeClient;
  private readonly options: InformerOptions<T>;
  private readonly handlers: InformerHandlers<T>[] = [];
  private store = new Map<string, T>();
  private resourceVersion = '';
  private running: Promise<void> | undefined;
  private readonly controller = new AbortController();
  private synced = false;
  private syncWaiters: (() => void)[] = [];

  constructor(client: KubeClient, options: InformerOptions<T>) {
    this.client = client;
    this.options = options;
    this.resource = options.resource;
  }

  /** Adds handlers; those added before {@link start} also see the first list. */
  on(handlers: InformerHandlers<T>): this {
    this.handlers.push(handlers);
    return this;
  }

  /** Starts listing and watching (once). */
  start(): void {
    this.running ??= this.run();
  }

  /** Stops watching and waits for the loop to end. The cache stays readable. */
  async stop(): Promise<void> {
    this.controller.abort();
    await this.running;
  }

  /** Whether the first list has been cached. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list is cached (or the informer is stopped). */
  waitForSync(): Promise<void> {
    if (this.synced || this.controller.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /** The cached object, if any. */
  get(namespace: string | undefined, name: string): T | undefined {
    return this.store.get(keyOf({ namespace, name }));
  }

  /** Every cached object. */
  list(): T[] {
    return [...this.store.values()];
  }

  private emit(kind: 'add' | 'delete', object: T): void;
  private emit(kind: 'update', object: T, previous: T): void;
  private emit(kind: 'add' | 'update' | 'delete', object: T, previous?: T): void {
    for (const h of this.handlers) {
      try {
        if (kind === 'add') h.add?.(object);
        else if (kind === 'delete') h.delete?.(object);
        else h.update?.(previous!, object);
      } catch (err) {
        this.options.log.error({ err, resource: this.resource.plural }, 'informer handler failed');
      }
    }
  }

  private upsert(raw: T): void {
    const object = this.options.transform ? this.options.transform(raw) : raw;
    const key = keyOf(object.metadata);
    const previous = this.store.get(key);
    this.store.set(key, object);
    if (!previous) this.emit('add', object);
    else if (previous.metadata?.resourceVersion !== object.metadata?.resourceVersion) {
      this.emit('update', object, previous);
    }
  }

  private remove(object: T): void {
    const key = keyOf(object.metadata);
    const previous = this.store.get(key);
    if (!previous) return;
    this.store.delete(key);
    this.emit('delete', previous);
  }

  private selectors(): Query {
    return {
      labelSelector: this.options.labelSelector,
      fieldSelector: this.options.fieldSelector,
    };
  }

  private path(): string {
    return collectionPath(this.resource, this.options.namespace);
  }

  private async relist(): Promise<void> {
    const items: T[] = [];
    let token: string | undefined;
    let version = '';
    do {
      const page = await this.client.request<List<T>>('GET', this.path(), {
        query: { ...this.selectors(), limit: PAGE_SIZE, continue: token },
        accept: this.options.metadataOnly ? METADATA_LIST : undefined,
      });
      items.push(...(page.items ?? []));
      token = page.metadata?.continue || undefined;
      version ||= page.metadata?.resourceVersion ?? '';
    } while (token);
    const seen = new Set<string>();
    for (const item of items) {
      seen.add(keyOf(item.metadata));
      this.upsert(item);
    }
    for (const object of this.list()) {
      if (!seen.has(keyOf(object.metadata))) this.remove(object);
    }
    this.resourceVersion = version;
    if (!this.synced) {
      this.synced = true;
      this.releaseSyncWaiters();
    }
  }

  private releaseSyncWaiters(): void {
    for (const resolve of this.syncWaiters.splice(0)) resolve();
  }

  private onEvent(event: WatchEvent<T>): void {
    if (event.type === 'ERROR') {
      const status = event.object as { code?: number; reason?: string; message?: string };
      throw new KubeError(status.code ?? 500, status.reason ?? '', status.message ?? 'watch error');
    }
    if (event.type === 'ADDED' || event.type === 'MODIFIED') this.upsert(event.object);
    else if (event.type === 'DELETED') this.remove(event.object);
    const version = event.object.metadata?.resourceVersion;
    if (version) this.resourceVersion = version;
  }

  private async run(): Promise<void> {
    const signal = this.controller.signal;
    let backoff = 0;
    while (!signal.aborted) {
      try {
        if (!this.resourceVersion) await this.relist();
        if (signal.aborted) break;
        // A random server-side timeout spreads reconnections of many informers.
        const timeoutSeconds = 300 + Math.floor(Math.random() * 300);
        await this.client.watch<T>(
          this.path(),
          {
            ...this.selectors(),
            resourceVersion: this.resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds,
          },
          (event) => this.onEvent(event),
          signal,
          (timeoutSeconds + 60) * 1000,
          this.options.metadataOnly ? METADATA_WATCH : undefined,
        );
        backoff = 0;
      } catch (err) {
        if (signal.aborted) break;
        if (isStatus(err, 410)) {
          // Our resourceVersion is older than the server keeps: list afresh.
          this.resourceVersion = '';
          continue;
        }
        backoff = Math.min(MAX_BACKOFF_MS, backoff ? backoff * 2 : MIN_BACKOFF_MS);
        this.options.onRestart?.(err);
        this.options.log.warn(
          { err, resource: this.resource.plural, retryInMs: backoff },
          'list/watch failed; restarting',
        );
        await sleep(backoff, undefined, { signal }).catch(() => undefined);
      }
    }
    this.releaseSyncWaiters();
  }
}
