/**
 * Kubernetes Events (events.k8s.io/v1) on WebSocketProxies for notable transitions:
 * Ready turning True, any condition turning False for a reason that needs a person
 * (a missing Secret, an invalid spec, cert-manager missing), and the validation
 * warnings of each new generation. Progress on the way to Ready (pods starting, the
 * certificate being issued) makes no Event. Sending never blocks a reconcile; a failure
 * is logged and forgotten.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { API_VERSION, KIND, type Condition, type WebSocketProxy } from '../api/index.js';
import { ConditionType, Reason } from '../status/conditions.js';
import type { KubeClient } from '../kube/client.js';
import { collectionPath, Resources } from '../kube/resources.js';
import { microTime } from '../kube/time.js';

/** reportingController of every Event. */
const REPORTING_CONTROLLER = 'wsgate.dev/operator';
/** Events notes are limited to 1 kB by the API. */
const MAX_NOTE = 1024;

/** One Event to send. */
export interface EventSpec {
  type: 'Normal' | 'Warning';
  reason: string;
  note: string;
  /** What the operator was doing. */
  action: string;
}

/** Reasons on the way to Ready, which clear by themselves: no Event. */
const PROGRESS: ReadonlySet<string> = new Set([
  Reason.DeploymentPending,
  Reason.ReplicasUnavailable,
  Reason.CertificatePending,
]);

/** The Events for conditions that changed (see conditions.ts transitions()). Pure. */
export function transitionEvents(changed: readonly Condition[]): EventSpec[] {
  const events: EventSpec[] = [];
  for (const c of changed) {
    if (c.type === ConditionType.Ready) {
      if (c.status === 'True') {
        events.push({ type: 'Normal', reason: 'Ready', note: c.message, action: 'Reconcile' });
      }
    } else if (c.status === 'False' && !PROGRESS.has(c.reason)) {
      events.push({
        type: 'Warning',
        reason: c.reason,
        note: `${c.type}: ${c.message}`,
        action: 'Reconcile',
      });
    }
  }
  return events;
}

/** The Events for validation warnings (valid settings that are probably a mistake). */
export function warningEvents(warnings: readonly string[]): EventSpec[] {
  return warnings.map((note) => ({
    type: 'Warning',
    reason: 'ConfigWarning',
    note,
    action: 'Validate',
  }));
}

let sequence = 0;

/** `<name>.<hex nanoseconds>`, unique per process even within one millisecond. */
export function eventName(name: string, now: Date): string {
  const nanos = BigInt(now.getTime()) * 1_000_000n + BigInt(sequence++ % 1_000_000);
  return `${name}.${nanos.toString(16)}`;
}

/** Sends Events regarding WebSocketProxies. */
export class EventRecorder {
  private readonly client: KubeClient;
  private readonly log: Logger;
  private readonly instance: string;

  /** @param instance - reportingInstance; default the host name (the pod name in a cluster). */
  constructor(client: KubeClient, log: Logger, instance: string = hostname()) {
    this.client = client;
    this.log = log;
    this.instance = instance.slice(0, 128);
  }

  /** Sends one Event regarding `wsp`, without waiting for the answer. */
  record(wsp: WebSocketProxy, event: EventSpec): void {
    const { name, namespace, uid, resourceVersion } = wsp.metadata ?? {};
    if (!name || !namespace) return;
    const now = new Date();
    const body = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      // client-go's naming: the object's name and the time in hex (generateName would
      // need a prefix that is itself a valid name, which "name." is not).
      metadata: { name: eventName(name, now), namespace },
      eventTime: microTime(now),
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: this.instance,
      action: event.action,
      reason: event.reason,
      type: event.type,
      note: event.note.length > MAX_NOTE ? `${event.note.slice(0, MAX_NOTE - 1)}…` : event.note,
      regarding: { apiVersion: API_VERSION, kind: KIND, name, namespace, uid, resourceVersion },
    };
    this.log.info(
      { wsp: `${namespace}/${name}`, type: event.type, reason: event.reason, note: body.note },
      'event',
    );
    this.client
      .request('POST', collectionPath(Resources.Event, namespace), { body })
      .catch((err: unknown) =>
        this.log.warn({ err, wsp: `${namespace}/${name}` }, 'could not record an event'),
      );
  }
}
