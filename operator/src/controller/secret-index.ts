/**
 * Which WebSocketProxies name which Secrets, so an event on a Secret queues exactly the
 * resources that read it. Kept up to date from the resource informer's events; a Secret
 * is named by the resource's namespace and the names in its spec (token file, JWT key,
 * engine certificate, target CA, a brought TLS Secret).
 */
import { toWebSocketProxy } from '../api/defaults.js';
import type { WebSocketProxy } from '../api/websocketproxy-types.js';
import { keyOf } from '../kube/list-watch-cache.js';
import { secretsToCheck } from '../status/secrets.js';

/** Secret key (`namespace/name`) to the keys of the resources that name it. */
export class SecretIndex {
  private readonly owners = new Map<string, Set<string>>();
  /** Resource key to the Secret keys it named when last seen. */
  private readonly named = new Map<string, string[]>();

  /** Records what `wsp` names now (replacing what it named before). */
  set(wsp: WebSocketProxy): void {
    const key = keyOf(wsp.metadata);
    const namespace = wsp.metadata?.namespace ?? '';
    let secrets: string[] = [];
    try {
      secrets = [
        ...new Set(
          secretsToCheck(toWebSocketProxy(wsp)).map((m) => `${namespace}/${m.secretName}`),
        ),
      ];
    } catch {
      // An object without a usable spec names nothing; its reconcile reports why.
    }
    this.remove(key);
    this.named.set(key, secrets);
    for (const secret of secrets) {
      let set = this.owners.get(secret);
      if (!set) this.owners.set(secret, (set = new Set()));
      set.add(key);
    }
  }

  /** Forgets the resource `key`. */
  remove(key: string): void {
    for (const secret of this.named.get(key) ?? []) {
      const set = this.owners.get(secret);
      set?.delete(key);
      if (set?.size === 0) this.owners.delete(secret);
    }
    this.named.delete(key);
  }

  /** Keys of the resources that name the Secret `namespace/name`. */
  ownersOf(namespace: string, name: string): string[] {
    return [...(this.owners.get(`${namespace}/${name}`) ?? [])];
  }
}
