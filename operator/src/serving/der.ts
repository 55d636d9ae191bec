/**
 * The few DER encodings (ITU-T X.690) needed to write an X.509 certificate by hand:
 * node:crypto signs but cannot build certificates. Used by the operator's self-signed
 * metrics certificate and by the tests' PKI.
 */

/** A DER TLV: `tag`, the definite length, then `parts`. */
export function der(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  let len: Buffer;
  if (body.length < 0x80) len = Buffer.from([body.length]);
  else {
    const hex = body.length.toString(16);
    const bytes = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
    len = Buffer.concat([Buffer.from([0x80 | bytes.length]), bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), len, body]);
}

/** A SEQUENCE of `parts`. */
export const seq = (...parts: Buffer[]) => der(0x30, ...parts);

/** An OBJECT IDENTIFIER from its dotted form. */
export function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const out = [40 * a + b];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = n >>> 7; v > 0; v >>>= 7) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return der(0x06, Buffer.from(out));
}

/** UTCTime (YYMMDDHHMMSSZ), whole seconds; valid until 2049. */
export function utcTime(d: Date): Buffer {
  const s = d.toISOString();
  const text = s.slice(2, 4) + s.slice(5, 7) + s.slice(8, 10) + s.slice(11, 13);
  return der(0x17, Buffer.from(`${text}${s.slice(14, 16)}${s.slice(17, 19)}Z`, 'ascii'));
}
