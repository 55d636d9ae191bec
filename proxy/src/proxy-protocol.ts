/**
 * PROXY protocol v1 (text) and v2 (binary) headers, as sent by HAProxy, AWS NLB and
 * others ahead of the client's own bytes. `parseProxyHeader` is pure: it says whether
 * more bytes are needed, what the source address is, and how many bytes to consume.
 */
import { isIP } from 'node:net';

export type ProxyHeader =
  | { state: 'incomplete' }
  | { state: 'invalid'; reason: string }
  /** `source` is undefined for LOCAL/UNKNOWN (health checks): use the TCP peer. */
  | { state: 'done'; length: number; source?: { address: string; port: number } };

const V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);
const V1_MAX = 107;
/** v2 allows 64 KiB of TLVs; we take what real balancers send and refuse more. */
const V2_MAX = 16 + 4096;

export function parseProxyHeader(buf: Buffer): ProxyHeader {
  if (buf.length === 0) return { state: 'incomplete' };
  if (buf[0] === 0x0d) return parseV2(buf);
  if (buf[0] === 0x50) return parseV1(buf);
  return { state: 'invalid', reason: 'no PROXY protocol header' };
}

function parseV1(buf: Buffer): ProxyHeader {
  const prefix = 'PROXY ';
  const head = buf.subarray(0, prefix.length).toString('latin1');
  if (!prefix.startsWith(head)) return { state: 'invalid', reason: 'no PROXY protocol header' };
  const end = buf.indexOf('\r\n');
  if (end < 0) {
    return buf.length >= V1_MAX
      ? { state: 'invalid', reason: 'PROXY v1 line too long' }
      : { state: 'incomplete' };
  }
  const parts = buf.subarray(0, end).toString('latin1').split(' ');
  const length = end + 2;
  if (parts[1] === 'UNKNOWN') return { state: 'done', length };
  if (parts.length !== 6 || (parts[1] !== 'TCP4' && parts[1] !== 'TCP6')) {
    return { state: 'invalid', reason: 'malformed PROXY v1 line' };
  }
  const port = Number(parts[4]);
  if (!/^\d{1,5}$/.test(parts[4]!) || port > 65535)
    return { state: 'invalid', reason: 'bad PROXY v1 source port' };
  // The source becomes the client IP in logs and per-IP limits: it must be an address
  // of the family named, not any word the line happens to hold.
  const family = parts[1] === 'TCP4' ? 4 : 6;
  if (isIP(parts[2]!) !== family || isIP(parts[3]!) !== family)
    return { state: 'invalid', reason: 'bad PROXY v1 address' };
  return { state: 'done', length, source: { address: parts[2]!, port } };
}

function parseV2(buf: Buffer): ProxyHeader {
  const have = Math.min(buf.length, V2_SIGNATURE.length);
  if (!buf.subarray(0, have).equals(V2_SIGNATURE.subarray(0, have))) {
    return { state: 'invalid', reason: 'bad PROXY v2 signature' };
  }
  if (buf.length < 16) return { state: 'incomplete' };
  const version = buf[12]! >> 4;
  const command = buf[12]! & 0x0f;
  if (version !== 2 || command > 1)
    return { state: 'invalid', reason: 'unsupported PROXY v2 version or command' };
  const length = 16 + buf.readUInt16BE(14);
  if (length > V2_MAX) return { state: 'invalid', reason: 'PROXY v2 header too long' };
  if (buf.length < length) return { state: 'incomplete' };
  if (command === 0) return { state: 'done', length }; // LOCAL
  const family = buf[13]! >> 4;
  // An address block shorter than its family needs is malformed, not "no address":
  // taking the balancer's own address as the client's would be silently wrong.
  if ((family === 1 && length < 16 + 12) || (family === 2 && length < 16 + 36))
    return { state: 'invalid', reason: 'PROXY v2 address block too short' };
  if (family === 1) {
    const a = buf.subarray(16, 20);
    return { state: 'done', length, source: { address: a.join('.'), port: buf.readUInt16BE(24) } };
  }
  if (family === 2) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(buf.readUInt16BE(16 + i).toString(16));
    return {
      state: 'done',
      length,
      source: { address: compressV6(groups), port: buf.readUInt16BE(48) },
    };
  }
  return { state: 'done', length }; // UNSPEC or UNIX: no usable address
}

function compressV6(groups: string[]): string {
  const full = groups.join(':');
  // Let URL do canonical compression rather than reimplementing RFC 5952.
  return new URL(`http://[${full}]/`).hostname.slice(1, -1);
}
