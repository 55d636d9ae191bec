/**
 * The contract every token resolver implements (file, JWT, oVirt ticket, HTTP lookup).
 *
 * Several resolvers may be configured; they are asked in order and the first one that
 * *recognises* the token answers. "Recognises" matters: a JWT resolver must not claim a
 * websockify file token, but once it has recognised a JWT whose signature or expiry is
 * wrong it must refuse, not pass the token on to the next resolver.
 */
import type { Refusal } from '../errors.js';

/** Where a session is relayed to. */
export interface Target {
  host: string;
  port: number;
  /** Speak TLS to the target (oVirt tickets' `ssl_target`, or `--target-tls`). */
  tls?: boolean;
  /**
   * A Unix socket path instead of host and port (then `''` and 0): websockify's
   * `unix_socket:/path` in token files, a JWT's `unix` claim. See tokens/target-claims.ts.
   */
  unix?: string;
}

export type Resolution =
  /** The token is valid and names this target. */
  | {
      kind: 'target';
      target: Target;
      /**
       * When the ticket stops being valid (ms since the epoch): a JWT's `exp`, an oVirt
       * ticket's `validTo`. `--end-at-ticket-expiry` ends the session then.
       */
      expiresAt?: number;
      /**
       * Who the ticket was issued to (a JWT's `sub`), for the audit log, admin API and
       * session recordings.
       */
      subject?: string;
      /** Whether the session is to be recorded (a JWT's `record`, for `--record-when ticket`). */
      record?: boolean;
    }
  /** Not a token this resolver understands; ask the next one. */
  | { kind: 'unknown' }
  /**
   * Recognised but not acceptable (bad signature, expired, replayed, lookup failed).
   * `refusal` names a more precise answer than PROXY_ERR_TOKEN_REFUSED.
   */
  | { kind: 'refused'; reason: string; refusal?: Refusal };

/** What a resolver may know about the connection besides the token. */
export interface ResolveContext {
  /** The client's address (after PROXY protocol and trusted X-Forwarded-For). */
  client: string;
}

export interface TokenResolver {
  /** Label for `wsgate_token_resolutions_total{resolver}`: file, jwt, ovirt, http. */
  readonly name: string;
  resolve(token: string, context?: ResolveContext): Resolution | Promise<Resolution>;
  /** Stop file watchers, timers, caches. */
  close?(): void;
}
