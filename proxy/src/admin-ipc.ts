/**
 * The admin API under `--workers`: the primary answers for every worker by asking each
 * over the cluster IPC channel and merging the answers. A worker that does not answer
 * within the deadline makes the call fail (503) rather than return a partial picture.
 */
import cluster, { type Worker } from 'node:cluster';
import { ControlUnavailable, type SessionControl } from './admin.js';
import type { SessionRegistry, SessionRelay, SessionView } from './sessions.js';

type Op =
  { op: 'list' } | { op: 'closeById'; id: string } | { op: 'closeByTarget'; target: string };

type Request = { type: 'wsgate:admin'; seq: number } & Op;
interface Reply {
  type: 'wsgate:admin-reply';
  seq: number;
  sessions: SessionView[];
}

/** In a worker: answers the primary's admin requests from this process's sessions. */
export function serveAdminRequests(registry: SessionRegistry<SessionRelay>): void {
  process.on('message', (msg: Request) => {
    if (msg?.type !== 'wsgate:admin') return;
    let sessions: SessionView[];
    if (msg.op === 'list') sessions = registry.list();
    else if (msg.op === 'closeById') {
      const closed = registry.closeById(msg.id);
      sessions = closed ? [closed] : [];
    } else sessions = registry.closeByTarget(msg.target);
    process.send?.({ type: 'wsgate:admin-reply', seq: msg.seq, sessions } satisfies Reply);
  });
}

let seq = 0;

function ask(worker: Worker, op: Op, timeoutMs: number): Promise<SessionView[]> {
  const n = ++seq;
  return new Promise((resolve, reject) => {
    const onMessage = (msg: Reply) => {
      if (msg?.type !== 'wsgate:admin-reply' || msg.seq !== n) return;
      clearTimeout(timer);
      worker.off('message', onMessage);
      resolve(msg.sessions);
    };
    const timer = setTimeout(() => {
      worker.off('message', onMessage);
      reject(new ControlUnavailable(`worker ${worker.id} did not answer`));
    }, timeoutMs);
    worker.on('message', onMessage);
    worker.send({ type: 'wsgate:admin', seq: n, ...op } satisfies Request);
  });
}

/** In the primary: the sessions of all workers. */
export function clusterControl(timeoutMs = 2000): SessionControl {
  const all = async (op: Op) => {
    const workers = Object.values(cluster.workers ?? {}).filter(
      (w): w is Worker => w !== undefined && w.isConnected(),
    );
    const answers = await Promise.all(workers.map((w) => ask(w, op, timeoutMs)));
    return answers.flat().sort((a, b) => a.started.localeCompare(b.started));
  };
  return {
    list: () => all({ op: 'list' }),
    closeById: async (id) => (await all({ op: 'closeById', id }))[0],
    closeByTarget: (target) => all({ op: 'closeByTarget', target }),
  };
}
