/**
 * What the rest of wsgate may use of the proxy: the operator (which renders the proxy's
 * configuration and must refuse what the proxy would refuse) and the CLI (`wsgate token`
 * mints the tickets the proxy accepts, `wsgate play` reads its recordings). Everything
 * else in proxy/src is the proxy's own; eslint.config.js enforces that. Code shared
 * without being the proxy's (logging, addresses, durations, the health server) is in lib/.
 *
 * The checks here run the proxy's own parsers, so there is one definition of a valid
 * value: they return null for a valid value, else the message the proxy would fail with.
 */
import { parseSubnet } from './client-ip.js';
import { parseOriginPattern } from './policy/origins.js';
import { parseTargetRule } from './policy/targets.js';

export type { ProxyConfig } from './config/types.js';
export type { Target } from './tokens/types.js';
export { parseTokenTarget } from './tokens/target-claims.js';
export { parseSigningKey, type KeyEntry } from './tokens/keys.js';
export { mintTicket, newJti, type MintOptions } from './tokens/mint.js';
export {
  ARRAY_OPEN,
  HEADER_BYTES,
  TRAILER,
  parseRecording,
  type ParsedRecording,
  type RecordedFrame,
  type RecordingHeader,
} from './recording/format.js';

function problem(parse: (text: string) => unknown, text: string): string | null {
  try {
    parse(text);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** One `--allow-target` rule (`CIDR[:PORT[-PORT]]`): null when valid, else why not. */
export function checkTargetRule(text: string): string | null {
  return problem(parseTargetRule, text);
}

/** One `--allow-origin` entry (`https://a.example`, `https://*.example`, `*`): null when valid, else why not. */
export function checkOriginPattern(text: string): string | null {
  return problem(parseOriginPattern, text);
}

/** One `--trusted-proxy` entry (an address or CIDR): null when valid, else why not. */
export function checkTrustedProxy(text: string): string | null {
  return problem(parseSubnet, text);
}
