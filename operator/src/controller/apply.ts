/**
 * Writes the desired state: server-side apply of every rendered object (field manager
 * wsgate-operator, conflicts forced, so a field someone else changed is taken back), and
 * deletion of owned objects no longer wanted. Applying an unchanged object is a no-op on
 * the server: nothing is written and its resourceVersion stays.
 */
import { createHash } from 'node:crypto';
import { FIELD_MANAGER } from '../api/index.js';
import type { OwnedObject } from '../api/external-types.js';
import { isStatus, KubeError, type KubeClient } from '../kube/client.js';
import { objectPath, resourceFor } from '../kube/resources.js';
import type { ObjectRef } from '../objects/names.js';
import type { ClusterView } from './watches.js';

/** The API server refused a rendered object as invalid (400/422): the spec is at fault. */
export class ApplyRejected extends Error {
  /** `Kind/name` of the refused object. */
  readonly object: string;

  constructor(object: string, cause: KubeError) {
    super(`${object}: ${cause.message.replace(/^PATCH \S+: /, '')}`);
    this.name = 'ApplyRejected';
    this.object = object;
  }
}

/** `Kind/name`, the key of {@link applyAll}'s answer. */
export function objectKey(kind: string, name: string): string {
  return `${kind}/${name}`;
}

async function applyOne(client: KubeClient, object: OwnedObject): Promise<OwnedObject> {
  const { apiVersion, kind, metadata } = object;
  const path = objectPath(resourceFor(apiVersion, kind), metadata.namespace, metadata.name);
  try {
    return await client.apply<OwnedObject>(path, object, FIELD_MANAGER);
  } catch (err) {
    if (err instanceof KubeError && (err.code === 422 || err.code === 400)) {
      throw new ApplyRejected(objectKey(kind, metadata.name), err);
    }
    throw err;
  }
}

/**
 * Whether `live` already holds every field of `desired` with the same value: objects
 * field by field (extra fields in `live`, such as server defaults and status, are
 * fine), arrays element by element at the same length, anything else strictly equal.
 * A value the server normalizes (a quantity "0.5" stored as "500m") does not match, so
 * such an object is simply applied again (harmlessly).
 */
export function covers(live: unknown, desired: unknown): boolean {
  if (Array.isArray(desired)) {
    return (
      Array.isArray(live) &&
      live.length === desired.length &&
      desired.every((d, i) => covers(live[i], d))
    );
  }
  if (desired !== null && typeof desired === 'object') {
    if (live === null || typeof live !== 'object' || Array.isArray(live)) return false;
    const have = live as Record<string, unknown>;
    return Object.entries(desired).every(([k, v]) => v === undefined || covers(have[k], v));
  }
  return live === desired;
}

/**
 * Whether `live` must be deleted before `desired` can be applied, because they differ in
 * a field the API server will not change: a Service's cluster IP. Metrics Services made
 * by earlier versions have one; the rendered one is headless (`clusterIP: None`).
 */
export function mustReplace(live: OwnedObject | undefined, desired: OwnedObject): boolean {
  if (!live || desired.kind !== 'Service' || (live.kind !== undefined && live.kind !== 'Service')) {
    return false;
  }
  const want = (desired as { spec?: { clusterIP?: string } }).spec?.clusterIP;
  const have = (live as { spec?: { clusterIP?: string } }).spec?.clusterIP;
  return want === 'None' && have !== undefined && have !== '' && have !== 'None';
}

/** Deletes `live` (with its uid as precondition); a 404 means it is gone already. */
async function deleteObject(
  client: KubeClient,
  live: OwnedObject,
  apiVersion: string,
): Promise<void> {
  const { kind, metadata } = live;
  const path = objectPath(resourceFor(apiVersion, kind ?? ''), metadata.namespace, metadata.name);
  try {
    await client.request('DELETE', path, {
      body: {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        propagationPolicy: 'Background',
        preconditions: { uid: metadata.uid },
      },
    });
  } catch (err) {
    if (!isStatus(err, 404)) throw err;
  }
}

/** sha256 of an object's JSON (renderers build objects in a fixed key order). */
export function objectHash(object: unknown): string {
  return createHash('sha256').update(JSON.stringify(object)).digest('hex');
}

/** What was last applied, per object (objectKey): the live object's uid and the hash sent. */
export type AppliedMemo = Map<string, { uid: string; hash: string }>;

/**
 * Applies `objects`: all but the Deployment at once, then the Deployment, so its pods
 * find their ConfigMap (and Certificate) already there. An object is skipped when this
 * process last applied the same content to the same live object (`memo`) and the cached
 * copy still holds all of it (nobody changed a field the operator owns): a resync of an
 * unchanged resource then sends nothing at all. Returns what the server answered, by
 * {@link objectKey}, for the objects sent. An object that differs from the live one in an
 * immutable field ({@link mustReplace}) is deleted first, then created afresh. Throws
 * {@link ApplyRejected} for an invalid object.
 */
export async function applyAll(
  client: KubeClient,
  objects: readonly OwnedObject[],
  view: ClusterView,
  memo: AppliedMemo,
): Promise<Map<string, OwnedObject>> {
  const result = new Map<string, OwnedObject>();
  const stale = objects
    .map((object) => ({
      object,
      key: objectKey(object.kind, object.metadata.name),
      hash: objectHash(object),
    }))
    .filter(({ object: o, key, hash }) => {
      const last = memo.get(key);
      if (!last || last.hash !== hash) return true;
      const live = view.owned(o.kind, o.metadata.namespace, o.metadata.name);
      return !live || live.metadata.uid !== last.uid || !covers(live, o);
    });
  for (const { object: o, key } of stale) {
    const live = view.owned(o.kind, o.metadata.namespace, o.metadata.name);
    if (live && mustReplace(live, o)) {
      await deleteObject(client, { ...live, kind: o.kind }, o.apiVersion);
      memo.delete(key);
    }
  }
  const waves = [
    stale.filter((s) => s.object.kind !== 'Deployment'),
    stale.filter((s) => s.object.kind === 'Deployment'),
  ];
  for (const wave of waves) {
    const answers = await Promise.all(wave.map((s) => applyOne(client, s.object)));
    wave.forEach(({ key, hash }, i) => {
      const answer = answers[i]!;
      result.set(key, answer);
      if (answer.metadata?.uid) memo.set(key, { uid: answer.metadata.uid, hash });
    });
  }
  return result;
}

/**
 * Deletes those of `refs` that exist (per the caches) and are controlled by the
 * resource with `ownerUid`; an object of the same name made by someone else is left
 * alone. The uid precondition keeps a re-created object safe. Returns `Kind/name` of
 * each object deleted.
 */
export async function deleteUnwanted(
  client: KubeClient,
  view: ClusterView,
  refs: readonly ObjectRef[],
  ownerUid: string,
): Promise<string[]> {
  const deleted: string[] = [];
  await Promise.all(
    refs.map(async (ref) => {
      const cached = view.owned(ref.kind, ref.namespace, ref.name);
      const controlled = cached?.metadata.ownerReferences?.some(
        (r) => r.controller === true && r.uid === ownerUid,
      );
      if (!cached || !controlled) return;
      const path = objectPath(resourceFor(ref.apiVersion, ref.kind), ref.namespace, ref.name);
      try {
        await client.request('DELETE', path, {
          body: {
            apiVersion: 'v1',
            kind: 'DeleteOptions',
            propagationPolicy: 'Background',
            preconditions: { uid: cached.metadata.uid },
          },
        });
        deleted.push(objectKey(ref.kind, ref.name));
      } catch (err) {
        // Gone already, or replaced by another object of that name.
        if (!isStatus(err, 404) && !isStatus(err, 409)) throw err;
      }
    }),
  );
  return deleted;
}
