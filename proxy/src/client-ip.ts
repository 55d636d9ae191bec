/**
 * The real client address. Behind a load balancer the TCP peer is the balancer, so
 * `X-Forwarded-For` is believed, right to left, only while each hop is a configured
 * trusted proxy: anyone can write that header, so an untrusted peer's value is ignored.
 */
import { BlockList, isIP } from 'node:net';

/** A subnet: an address and its prefix length. */
export interface Subnet {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/**
 * Parses one `--trusted-proxy` entry: an IP address (a single host) or CIDR. Throws a
 * RangeError naming what is wrong.
 */
export function parseSubnet(text: string): Subnet {
  const [address, prefixText] = text.split('/');
  const family = isIP(address ?? '');
  if (family === 0) throw new RangeError(`"${text}" is not a CIDR`);
  const max = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max)
    throw new RangeError(`"${text}" has a bad prefix`);
  return { address: address!, prefix, family: family === 4 ? 'ipv4' : 'ipv6' };
}

export function trustedProxies(cidrs: readonly string[]): BlockList | undefined {
  if (cidrs.length === 0) return undefined;
  const list = new BlockList();
  for (const text of cidrs) {
    const { address, prefix, family } = parseSubnet(text);
    list.addSubnet(address, prefix, family);
  }
  return list;
}

function isTrusted(list: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** `peer` is the TCP peer (or the PROXY protocol source). */
export function clientAddress(
  peer: string,
  forwardedFor: string | string[] | undefined,
  trusted?: BlockList,
): string {
  if (!trusted || forwardedFor === undefined || !isTrusted(trusted, peer)) return peer;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (isIP(hop) === 0) break; // garbage: stop believing the header here
    client = hop;
    if (!isTrusted(trusted, hop)) break;
  }
  return client;
}
