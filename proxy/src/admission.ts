/**
 * Admission: everything that decides, before a target is dialled, whether an upgrade
 * request may become a session. In order: draining, the handshake's form, the handshake
 * rate, the Origin, the client certificate's subject, the connection limits, the token
 * and its resolvers, and the per-target limit. The first refusal wins and is returned as
 * a value (never written to a socket here), so every rule is testable without sockets.
 *
 * An admitted request holds a connection slot (released when its session ends, see
 * LiveSessions) and a per-target reservation (released once the session is registered);
 * `abandon` gives both back when the request fails after admission.
 */
import { hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { BlockList } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { REFUSALS, type Refusal } from './errors.js';
import { checkHandshake } from './handshake.js';
import type { ProxyMetrics } from './metrics.js';
import { clientAddress } from './client-ip.js';
import type { Limits } from './policy/limits.js';
import type { OriginPolicy } from './policy/origins.js';
import type { SessionFacts } from './recording/recordings.js';
import type { SessionRegistry, SessionRelay } from './sessions.js';
import { clientSubjectAllowed } from './tls.js';
import { extractToken } from './tokens/extract.js';
import { targetName as nameOf } from './tokens/target-claims.js';
import type { Resolution, Target, TokenResolver } from './tokens/types.js';

export interface AdmissionOptions {
  /** Every session goes here, no token needed (websockify positional mode). */
  fixedTarget?: Target;
  resolvers: readonly TokenResolver[];
  /** Resolvers whose targets are trusted as named (see ProxyServerOptions.targetPolicy). */
  trustedResolvers: ReadonlySet<string>;
  origins: OriginPolicy;
  limits: Limits;
  trustedProxies?: BlockList;
  /** `--tls-client-subject`: allowed client certificate CNs; empty = any (or no) certificate. */
  clientSubjects: readonly string[];
  metrics: Pick<ProxyMetrics, 'tokenResolution'>;
  /** Where the per-target limit is reserved. */
  registry: Pick<SessionRegistry<SessionRelay>, 'reserve'>;
}

/** What a signed ticket says about the session beyond its target (see SessionFacts). */
export type SessionTicket = Pick<SessionFacts, 'subject' | 'record'> & { expiresAt?: number };

/** A refused request: what to answer, and what the log line says. Holds nothing. */
export interface Refused {
  refusal: Refusal;
  detail?: string;
  /** Client address (after `--trusted-proxy`). */
  client: string;
  /** The token's hash (tokenHash), once one was found. */
  token?: string;
}

/** An admitted request: the target to dial, holding a connection slot and a reservation. */
export interface Admitted {
  refusal?: undefined;
  client: string;
  token?: string;
  target: Target;
  /** `host:port`, `[v6]:port` or `unix:/path`: the target as logs and limits name it. */
  targetName: string;
  /** The target came from a trusted resolver (or `fixedTarget`): skip the allow-list. */
  trusted: boolean;
  ticket: SessionTicket;
  /** One console = one token from one client (SPICE opens a WebSocket per channel). */
  consoleKey: string;
  /** Releases the per-target reservation (idempotent); the slot is the session's. */
  releaseTarget: () => void;
}

/** Tokens are secrets: logs get a short hash that still correlates attempts. */
export function tokenHash(token: string): string {
  return 'sha256:' + hash('sha256', token, 'hex').slice(0, 12);
}

/** The admission rules of one proxy, over its limits, policies, resolvers and registry. */
export class Admission {
  constructor(private readonly options: AdmissionOptions) {}

  /**
   * Decides on an upgrade request from `peer` (the TCP or PROXY-header source address).
   * A refusal has given back whatever it had taken (slot, reservation).
   */
  async admit(req: IncomingMessage, peer: string, draining: boolean): Promise<Admitted | Refused> {
    const o = this.options;
    const client = clientAddress(peer, req.headers['x-forwarded-for'], o.trustedProxies);
    if (draining) return { refusal: REFUSALS.draining, client };
    const bad = checkHandshake(req);
    if (bad) return { refusal: bad, client };
    const rate = o.limits.takeHandshake(client);
    if (rate) return { refusal: rate, client };
    const origin = o.origins.check(req.headers.origin, req.headers.host);
    if (!origin.allowed)
      return { refusal: REFUSALS.originForbidden, detail: origin.reason, client };
    if (o.clientSubjects.length) {
      const cn = (req.socket as TLSSocket).getPeerCertificate?.()?.subject?.CN;
      if (!clientSubjectAllowed(o.clientSubjects, typeof cn === 'string' ? cn : undefined)) {
        return {
          refusal: REFUSALS.clientCertificate,
          detail: `subject CN ${JSON.stringify(cn ?? '')}`,
          client,
        };
      }
    }
    const full = o.limits.acquire(client);
    if (full) return { refusal: full, client };

    let token: string | undefined;
    let target: Target;
    let trusted: boolean;
    let ticket: SessionTicket = {};
    if (o.fixedTarget) {
      target = o.fixedTarget;
      trusted = true;
    } else {
      const found = extractToken(req);
      if (!found) return this.#refuseHolding({ refusal: REFUSALS.noToken, client });
      token = tokenHash(found.token);
      // Inline, not an async helper: that would add a promise and a tick to every upgrade.
      let resolved: Resolution | undefined;
      let by = '';
      for (const resolver of o.resolvers) {
        try {
          resolved = await resolver.resolve(found.token, { client });
        } catch (e) {
          // A resolver that throws fails closed: treat as refused, never fall through.
          resolved = {
            kind: 'refused',
            reason: `${resolver.name} resolver failed: ${(e as Error).message}`,
          };
        }
        o.metrics.tokenResolution(resolver.name, resolved.kind);
        by = resolver.name;
        if (resolved.kind !== 'unknown') break;
      }
      if (resolved?.kind !== 'target') {
        return this.#refuseHolding(
          resolved?.kind === 'refused'
            ? {
                refusal: resolved.refusal ?? REFUSALS.tokenRefused,
                detail: resolved.reason,
                client,
                token,
              }
            : { refusal: REFUSALS.unknownToken, client, token },
        );
      }
      target = resolved.target;
      trusted = o.trustedResolvers.has(by);
      ticket = resolved;
    }
    const targetName = nameOf(target);
    const consoleKey = `${token ?? ''}|${client}`;
    const releaseTarget = o.registry.reserve(targetName, consoleKey);
    if (!releaseTarget) {
      return this.#refuseHolding({
        refusal: REFUSALS.targetBusy,
        detail: targetName,
        client,
        token,
      });
    }
    return { client, token, target, targetName, trusted, ticket, consoleKey, releaseTarget };
  }

  /** An admitted request failed before it became a session: gives back slot and reservation. */
  abandon(admitted: Admitted): void {
    this.options.limits.release(admitted.client);
    admitted.releaseTarget();
  }

  /** A refusal after the connection slot was taken: the slot is given back. */
  #refuseHolding(refused: Refused): Refused {
    this.options.limits.release(refused.client);
    return refused;
  }
}
