/**
 * The target allow-list (`--allow-target CIDR[:PORT[-PORT]]`). Checked against the
 * address actually dialled, after name resolution, so a token naming a host whose DNS
 * answer changes (rebinding) cannot reach an address outside the list.
 */
import { BlockList, isIP } from 'node:net';

export interface TargetRule {
  text: string;
  network: BlockList;
  portMin: number;
  portMax: number;
}

const V4 = /^(\d{1,3}(?:\.\d{1,3}){3})(?:\/(\d{1,2}))?(?::(\d{1,5})(?:-(\d{1,5}))?)?$/;
const V6_BRACKETED = /^\[([0-9a-fA-F:.]+)(?:\/(\d{1,3}))?\](?::(\d{1,5})(?:-(\d{1,5}))?)?$/;
const V6_BARE = /^([0-9a-fA-F:.]*:[0-9a-fA-F:.]*)(?:\/(\d{1,3}))?$/;

/** Parses one rule; throws a RangeError naming what is wrong. */
export function parseTargetRule(text: string): TargetRule {
  const m = V4.exec(text) ?? V6_BRACKETED.exec(text) ?? V6_BARE.exec(text);
  if (!m)
    throw new RangeError(
      `"${text}" is not CIDR[:PORT[-PORT]] (e.g. 10.0.0.0/8:5900-5999, [fd00::/64]:5900)`,
    );
  const [, address, prefixText, from, to] = m;
  const family = isIP(address!);
  if (family === 0) throw new RangeError(`"${text}": ${address} is not an IP address`);
  const maxPrefix = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? maxPrefix : Number(prefixText);
  if (prefix > maxPrefix)
    throw new RangeError(`"${text}": prefix /${prefix} is longer than ${maxPrefix}`);
  const portMin = from === undefined ? 1 : Number(from);
  const portMax = to === undefined ? (from === undefined ? 65535 : portMin) : Number(to);
  if (portMin < 1 || portMax > 65535 || portMin > portMax) {
    throw new RangeError(`"${text}": ports must be 1-65535, low to high`);
  }
  const network = new BlockList();
  network.addSubnet(address!, prefix, family === 4 ? 'ipv4' : 'ipv6');
  return { text, network, portMin, portMax };
}

export class TargetPolicy {
  readonly rules: readonly TargetRule[];

  constructor(rules: readonly string[]) {
    this.rules = rules.map(parseTargetRule);
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** `address` must be an IP literal: the one about to be dialled. */
  allows(address: string, port: number): boolean {
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    for (const r of this.rules) {
      if (port >= r.portMin && port <= r.portMax && r.network.check(address, type)) return true;
    }
    return false;
  }
}
