/** Opens the TCP connection to a target, mapping failures to the refusal catalogue. */
import { connect, type Socket } from 'node:net';
import { REFUSALS, type Refusal } from './errors.js';
import type { Target } from './tokens/types.js';

export class UpstreamError extends Error {
  constructor(
    readonly refusal: Refusal,
    readonly detail: string,
  ) {
    super(`${refusal.message}: ${detail}`);
  }
}

/**
 * Resolves with a connected socket that is not yet flowing: VNC servers speak first,
 * and their greeting must wait in the socket's buffer until the relay is attached.
 */
export function connectTarget(target: Target, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.host, port: target.port, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new UpstreamError(REFUSALS.targetTimeout, `no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const onError = (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const refusal =
        err.code === 'ECONNREFUSED' ? REFUSALS.targetRefused : REFUSALS.targetUnreachable;
      reject(new UpstreamError(refusal, err.code ?? err.message));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      // Until the relay attaches its own handler, an error must not crash the process.
      socket.on('error', () => {});
      resolve(socket);
    });
  });
}
